/**
 * The timing loop every symgrad benchmark case shares: warm-up, then repeated steps, reporting
 * the median, minimum and maximum wall time of one step and the kernels it runs.
 *
 * @module
 */

import { backendStats, type Tensor } from "../mod.ts";

/** Times of one benchmark case. */
export interface StepTimes {
  /** Median wall time of one step in milliseconds. */
  median_ms: number;
  /** Fastest step in milliseconds. */
  min_ms: number;
  /** Slowest step in milliseconds. */
  max_ms: number;
  /** Kernels run per step. */
  kernels: number;
}

/**
 * Waits until a step queued on a device has finished: reading one element of its smallest output
 * waits for every earlier submission, since a device queue runs in order.
 */
async function waitForDevice(outs: readonly Tensor[]): Promise<void> {
  const smallest = outs.reduce((a, b) => (b.size < a.size ? b : a));
  using first = smallest.reshape([smallest.size]).slice([[0, 1]]);
  await first.data();
}

/**
 * Times `step` on `backend`: warm-up until V8 has optimized the kernels (at least 5 steps and
 * 1 s), then at least 5 steps and `minMs` (at most 50 steps). Outputs are disposed after each
 * step. On a backend that submits work to a device queue, each timed step includes waiting for
 * that work to finish (on synchronous backends the work is done when the step returns).
 */
export async function timeStep(
  backend: string,
  step: () => Promise<Tensor[]> | Tensor[],
  minMs = 1500,
): Promise<StepTimes> {
  const first = await backendStats(backend);
  const outs0 = await step();
  const queued = (await backendStats(backend)).submissions > first.submissions;
  if (queued) await waitForDevice(outs0);
  for (const t of outs0) t.dispose();
  const once = async () => {
    const t0 = performance.now();
    const outs = await step();
    if (queued) await waitForDevice(outs);
    const dt = performance.now() - t0;
    for (const t of outs) t.dispose();
    return dt;
  };
  const warm = performance.now();
  for (let i = 0; i < 5 || performance.now() - warm < 1000; i++) await once();
  const before = await backendStats(backend);
  const outs = await step();
  const kernels = (await backendStats(backend)).kernelsRun - before.kernelsRun;
  if (queued) await waitForDevice(outs);
  for (const t of outs) t.dispose();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start < minMs && times.length < 50)) {
    times.push(await once());
  }
  times.sort((a, b) => a - b);
  return {
    median_ms: times[times.length >> 1],
    min_ms: times[0],
    max_ms: times[times.length - 1],
    kernels,
  };
}
