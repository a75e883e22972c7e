/**
 * A CPU worker that dies fails the run that needed it at once, with an error naming the worker
 * and the kernel, and the next run starts new workers (it used to block the process for up to
 * 10 minutes in Atomics.wait).
 */

import assert from "node:assert/strict";
import { CpuBackend, registerBackend, Tensor } from "../../mod.ts";
import { type ThreadPool, threadPoolTestHooks } from "../../backends/cpu/thread_pool.ts";

const threaded = new CpuBackend({ threads: 3, minParallelWork: 0 });
const single = new CpuBackend({ threads: 1 });
registerBackend("cpu-death-3", () => threaded);
registerBackend("cpu-death-1", () => single);

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** A matmul whose slices take milliseconds, so that a worker killed mid-job cannot finish. */
function product(backend: string): Tensor {
  const a = Tensor.from(seeded(256 * 256, 1), { shape: [256, 256], backend });
  const b = Tensor.from(seeded(256 * 256, 2), { shape: [256, 256], backend });
  return a.matmul(b).tanh();
}

/** The pool that runs the next threaded job (seen through the test hook). */
async function poolOfNextRun(): Promise<ThreadPool> {
  let seen: ThreadPool | undefined;
  threadPoolTestHooks.afterPublish = (pool) => (seen = pool);
  try {
    await product("cpu-death-3").data();
  } finally {
    threadPoolTestHooks.afterPublish = undefined;
  }
  assert.ok(seen !== undefined, "the product ran on the worker pool");
  return seen;
}

Deno.test("a worker killed during a job fails the run at once; the next run works", async () => {
  const want = await product("cpu-death-1").data();
  const before = await poolOfNextRun();
  threadPoolTestHooks.afterPublish = (pool) => {
    threadPoolTestHooks.afterPublish = undefined;
    pool.killWorkerForTesting(1);
  };
  const t0 = performance.now();
  await assert.rejects(
    product("cpu-death-3").data(),
    /cpu backend: kernel \d+ cannot run: worker 1 exited with code \d+ while running kernel \d+ \(the worker pool is stopped; the next run starts new workers\)/,
  );
  // A generous bound: the failure used to surface only after a 10-minute timeout.
  assert.ok(performance.now() - t0 < 10_000, "the run failed without waiting for a timeout");
  assert.match(before.broken ?? "", /worker 1 exited/);
  assert.deepEqual(await product("cpu-death-3").data(), want);
  const after = await poolOfNextRun();
  assert.notEqual(after, before, "a new pool runs later jobs");
  assert.equal(after.broken, undefined);
  threaded.dispose();
});

Deno.test("a worker killed between jobs is replaced before the next run", async () => {
  const want = await product("cpu-death-1").data();
  const before = await poolOfNextRun();
  before.killWorkerForTesting(0);
  assert.match(before.broken ?? "", /worker 0 exited with code \d+ while between jobs/);
  assert.deepEqual(await product("cpu-death-3").data(), want);
  assert.notEqual(await poolOfNextRun(), before);
  threaded.dispose();
});

Deno.test("runs in flight together take turns on the pool", async () => {
  // Jobs that outlast the caller's synchronous wait continue asynchronously; a second run that
  // starts meanwhile must wait for them instead of overwriting the control block.
  const scaled = (backend: string, k: number) => product(backend).mul(k);
  const want = await Promise.all([1, 2, 3].map((k) => scaled("cpu-death-1", k).data()));
  const got = await Promise.all([1, 2, 3].map((k) => scaled("cpu-death-3", k).data()));
  assert.deepEqual(got, want);
  threaded.dispose();
});
