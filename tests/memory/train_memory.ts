/**
 * Memory of a training loop without a collector: live buffers stay constant after the first
 * step and resident memory stays flat (no gc() anywhere).
 *
 * @module
 */

import assert from "node:assert/strict";
import { trainMemory } from "../helpers/train_memory.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();

/** Asserts every step after the first left the same live buffers and bytes as the first. */
function assertFlat(name: string, m: { liveBuffers: number[]; liveBytes: number[] }): void {
  const steps = m.liveBuffers.length;
  const grew = m.liveBuffers.findIndex((n, i) =>
    n !== m.liveBuffers[0] || m.liveBytes[i] !== m.liveBytes[0]
  );
  assert.equal(
    grew,
    -1,
    `${name}: live memory after step 1 was ${m.liveBuffers[0]} buffers / ${m.liveBytes[0]} ` +
      `bytes, after step ${grew + 1} of ${steps} ${m.liveBuffers[grew]} / ${m.liveBytes[grew]}`,
  );
}

Deno.test({
  name: "cpu: 5,000 trainStep steps keep live buffers constant and RSS flat",
  // The op sanitizer keeps a record per async op; RSS is measured of the library alone.
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const m = await trainMemory("cpu", 5000, [500, 5000]);
  assertFlat("cpu", m);
  assert.ok(Number.isFinite(m.lossAtEnd));
  // Without a forced collection V8's old generation fills with promoted garbage of finished
  // steps until a full collection; under `deno test` (about 80 MB of heap before any test) the
  // limit settles near 400 MB after the first collections, RSS about 40 % above step 500. A
  // graph kept per step grew RSS by about 1 GB (300 %) over these steps.
  const ratio = m.rss.get(5000)! / m.rss.get(500)!;
  assert.ok(ratio < 1.75, `RSS grew ${((ratio - 1) * 100).toFixed(1)} % from step 500 to 5,000`);
});

Deno.test({
  name: "webgpu: 500 trainStep steps keep live buffers constant and RSS flat",
  ignore: !gpu,
  fn: async () => {
    const m = await trainMemory("webgpu", 500, [100, 500]);
    assertFlat("webgpu", m);
    assert.ok(Number.isFinite(m.lossAtEnd));
    const ratio = m.rss.get(500)! / m.rss.get(100)!;
    assert.ok(ratio < 1.2, `RSS grew ${((ratio - 1) * 100).toFixed(1)} % from step 100 to 500`);
  },
});
