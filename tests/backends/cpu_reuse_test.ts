/**
 * Reused CPU buffers are not zeroed when a kernel overwrites every element, and read as zeros
 * everywhere else.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { registerBackend, Tensor } from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/backend.ts";
import { lower } from "../../core/program.ts";
import { coversOutput, type Kernel, schedule } from "../../core/schedule.ts";
import { constIndex, loopVar } from "../../core/symbolic.ts";

const cpu = new CpuBackend({ threads: 1 });
registerBackend("cpu-reuse", () => cpu);
const on = { backend: "cpu-reuse" } as const;

/** Leaves `n` arrays of `size` float32 NaNs in the backend's reuse pool. */
function poison(size: number, n = 4): void {
  const bufs = Array.from({ length: n }, () => cpu.alloc("float32", size));
  for (const b of bufs) cpu.write(b, new Float32Array(size).fill(NaN));
  for (const b of bufs) cpu.free(b);
}

Deno.test("reused arrays: stale contents never show", async (t) => {
  await t.step("a fresh alloc reads as zeros", async () => {
    poison(6);
    const buf = cpu.alloc("float32", 6);
    deepStrictEqual(await cpu.read(buf), new Float32Array(6));
    cpu.free(buf);
  });
  await t.step("a partial write leaves zeros behind it", async () => {
    poison(6);
    const buf = cpu.alloc("float32", 6);
    cpu.write(buf, Float32Array.of(1, 2));
    deepStrictEqual(await cpu.read(buf), Float32Array.of(1, 2, 0, 0, 0, 0));
    cpu.free(buf);
  });
  await t.step("program outputs and temporaries over poisoned arrays", async () => {
    const x = Tensor.from([[1, 2, 3], [4, 5, 6]], on);
    for (const size of [6, 3, 2, 1]) poison(size);
    // A reduction, a permuted copy, an elementwise chain and a temporary read by a later kernel.
    const s = x.sum(1);
    const outs = [s, x.permute(1, 0), x.exp().log(), s.mul(2).add(x.max(1))];
    const data = await Promise.all(outs.map((o) => o.data()));
    deepStrictEqual(data[0], Float32Array.of(6, 15));
    deepStrictEqual(data[1], Float32Array.of(1, 4, 2, 5, 3, 6));
    deepStrictEqual(Array.from(data[2]).map(Math.round), [1, 2, 3, 4, 5, 6]);
    deepStrictEqual(data[3], Float32Array.of(15, 36));
  });
});

Deno.test("coversOutput: kernels store to every output element", () => {
  const x = Tensor.rand([3, 4, 5]);
  const ys = [x.exp(), x.sum(1), x.permute(2, 0, 1).mul(2), x.max([0, 2]), x.reshape([60]).sin()];
  for (const y of ys) {
    const { program } = lower([y.node], (n) => n.op === "buffer");
    const sched = schedule(program);
    for (const k of sched.kernels) {
      strictEqual(coversOutput(k, sched.buffers[k.out.buffer].size), true);
    }
  }
  // Hand-made stores that miss elements or hit one twice.
  const base: Kernel = {
    id: 0,
    loops: [{ extent: 4, reduce: false }],
    reduceOp: undefined,
    values: [{ op: "const", value: 1, dtype: "float32", deps: [] }],
    result: 0,
    out: { buffer: 0, index: loopVar(0, 4), dtype: "float32" },
    extra: [],
    reads: [],
    nodes: [0],
  };
  strictEqual(coversOutput(base, 4), true);
  strictEqual(coversOutput(base, 5), false); // one element never stored
  strictEqual(coversOutput({ ...base, out: { ...base.out, index: constIndex(0) } }, 4), false);
  const strided = { ...base, out: { ...base.out, index: loopVar(0, 4) } };
  strictEqual(coversOutput({ ...strided, loops: [{ extent: 4, reduce: true }] }, 4), false);
});
