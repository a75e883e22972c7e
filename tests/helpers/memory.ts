/**
 * Memory fixtures shared by the backends' memory tests: the same workloads run on any backend,
 * each test asserts on the live counters they return.
 *
 * @module
 */

import { backendStats, grad, Tensor } from "../../mod.ts";

/** Live buffers and bytes of a backend at one moment. */
export interface LiveMemory {
  /** Buffers allocated and not yet freed. */
  liveBuffers: number;
  /** Bytes held by live buffers. */
  liveBytes: number;
}

async function liveMemory(backend: string): Promise<LiveMemory> {
  const s = await backendStats(backend);
  return { liveBuffers: s.liveBuffers, liveBytes: s.liveBytes };
}

/**
 * Runs `steps` (at least 10) gradient-descent steps of a small tanh regression on `backend`,
 * disposing each old weight, and returns the live memory after step 10 and at the end.
 */
export async function liveMemoryOverTraining(
  backend: string,
  steps: number,
): Promise<{ baseline: LiveMemory; end: LiveMemory }> {
  const opts = { backend, dtype: "float32" } as const;
  const x = Tensor.randn([16, 8], { ...opts, seed: 1 });
  const y = Tensor.randn([16, 1], { ...opts, seed: 2 });
  const loss = (w: Tensor) => x.matmul(w).tanh().sub(y).square().mean();
  let w = Tensor.randn([8, 1], { ...opts, seed: 3 });
  await w.realize();
  let baseline: LiveMemory = { liveBuffers: -1, liveBytes: -1 };
  for (let i = 0; i < steps; i++) {
    const next = w.sub(grad(loss)(w).mul(0.05));
    await next.realize();
    w.dispose();
    w = next;
    if (i === 9) baseline = await liveMemory(backend);
  }
  return { baseline, end: await liveMemory(backend) };
}

/**
 * Realizes a chain with two reductions (which materialize temporaries) from a realized 32×32
 * float32 input on `backend`, and returns how much live memory grew while its one scalar
 * output was still alive.
 */
export async function liveMemoryGrowthOfReductions(backend: string): Promise<LiveMemory> {
  const x = Tensor.rand([32, 32], { backend, dtype: "float32", seed: 4 });
  await x.realize();
  const before = await liveMemory(backend);
  using out = x.sub(x.mean(0, { keepdims: true })).square().sum(1).sqrt().max();
  await out.realize();
  const after = await liveMemory(backend);
  return {
    liveBuffers: after.liveBuffers - before.liveBuffers,
    liveBytes: after.liveBytes - before.liveBytes,
  };
}
