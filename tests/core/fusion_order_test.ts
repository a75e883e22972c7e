/**
 * Multi-output reduction fusion keeps the kernels in dependency order. A fused group runs at one
 * member's position; a group formed later must see where earlier groups actually run, not where
 * their members were listed. The fixture is the program of a label-smoothed cross-entropy with
 * its gradient (float32) as lowered after the float64 one in the same process, whose schedule
 * once ran a fused kernel before the kernel that wrote one of its inputs.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Program } from "../../core/program.ts";
import { type Schedule, schedule } from "../../core/schedule.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fusion_order_program.json", import.meta.url)),
) as Omit<Program, "key">;

/** Every buffer a kernel reads is a program input or written by an earlier kernel. */
function assertDependencyOrder(s: Schedule): void {
  const written = new Set<number>();
  s.buffers.forEach((b, i) => {
    if (b.role.kind === "input") written.add(i);
  });
  s.kernels.forEach((k, i) => {
    for (const b of k.reads) {
      assert.ok(
        written.has(b),
        `kernel ${i} of ${s.kernels.length} reads buffer ${b} before any kernel writes it`,
      );
    }
    written.add(k.out.buffer);
    for (const e of k.extra) written.add(e.buffer);
  });
}

Deno.test("fused reductions run after the kernels that write their inputs", () => {
  const s = schedule({ ...fixture, key: "fusion-order" });
  assertDependencyOrder(s);
  // The fixture fuses: fewer kernels than reductions, so the order check is not vacuous.
  const reductions = fixture.nodes.filter((n) => n.op === "reduce_sum" || n.op === "reduce_max");
  assert.ok(s.kernels.length < reductions.length + 1, `${s.kernels.length} kernels`);
  assert.ok(s.kernels.some((k) => k.extra.length > 0), "expected a multi-output kernel");
});
