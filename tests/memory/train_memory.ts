/**
 * Memory of a training loop without a collector: live buffers stay constant after the first
 * step, later steps take no new memory, and resident memory stays flat (no collection is
 * forced anywhere).
 *
 * Run alone (`deno task test:memory`), not in the parallel suite: RSS is the whole process's.
 * Each loop runs in a worker of its own, whose heap behaves as an application's; the test
 * runner's own isolate starts with about 80 MB of heap, and a loop there reaches its steady
 * heap (V8 sizes its collection limits from the live heap) only after thousands of steps.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TrainMemory } from "../helpers/train_memory.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();

/** `trainMemory` (tests/helpers/train_memory.ts) in a worker of its own. */
function trainMemoryInWorker(
  backend: string,
  steps: number,
  rssAt: number[],
): Promise<TrainMemory> {
  const worker = new Worker(new URL("../helpers/train_memory_worker.ts", import.meta.url), {
    type: "module",
  });
  return new Promise<TrainMemory>((resolve, reject) => {
    worker.onmessage = (e) => {
      worker.terminate();
      if (e.data.error !== undefined) reject(new Error(e.data.error));
      else resolve({ ...e.data, rss: new Map(e.data.rss) });
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new Error(`train memory worker: ${e.message}`));
    };
    worker.postMessage({ backend, steps, rssAt });
  });
}

/** Asserts no step after step `from` took new memory (every allocation came from a pool). */
function assertNoFreshMemory(name: string, m: TrainMemory, from: number): void {
  const grew = m.freshBytes.findIndex((b, i) => i >= from && b !== m.freshBytes[from - 1]);
  assert.equal(
    grew,
    -1,
    `${name}: step ${grew + 1} took ${m.freshBytes[grew] - m.freshBytes[grew - 1]} bytes of ` +
      `new memory; expected every buffer from the reuse pool after step ${from}`,
  );
}

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
  name: "cpu: 5,000 trainStep steps keep live buffers constant, take no new memory, RSS flat",
  sanitizeOps: false,
  sanitizeResources: false,
}, async () => {
  const m = await trainMemoryInWorker("cpu", 5000, [500, 5000]);
  assertFlat("cpu", m);
  // Step 1 fills the pools; from step 3 each step's state, temporaries and uploads reuse the
  // buffers an earlier step released. (Step 2 may still take a few bytes: a per-step scalar
  // leaf whose predecessor feeds step 2 too is released only when step 2 ends.)
  assertNoFreshMemory("cpu", m, 3);
  assert.ok(Number.isFinite(m.lossAtEnd));
  // V8's heap saws between full collections (the collector is never forced); alone, RSS ends
  // 5-16 % above step 500. A graph kept per step grew it by about 1 GB (300 %), and weak
  // references on every node (full collections only) by about 40-75 %.
  const ratio = m.rss.get(5000)! / m.rss.get(500)!;
  assert.ok(ratio < 1.2, `RSS grew ${((ratio - 1) * 100).toFixed(1)} % from step 500 to 5,000`);
});

Deno.test({
  name: "webgpu: 1,000 trainStep steps keep live buffers constant, take no new memory, RSS flat",
  ignore: !gpu,
  fn: async () => {
    const m = await trainMemoryInWorker("webgpu", 1000, [500, 1000]);
    assertFlat("webgpu", m);
    assertNoFreshMemory("webgpu", m, 3);
    assert.ok(Number.isFinite(m.lossAtEnd));
    // Alone, RSS settles by step 300 (V8's heap and lavapipe's driver heaps) and ends 0-5 %
    // above step 500.
    const ratio = m.rss.get(1000)! / m.rss.get(500)!;
    assert.ok(ratio < 1.2, `RSS grew ${((ratio - 1) * 100).toFixed(1)} % from step 500 to 1,000`);
  },
});
