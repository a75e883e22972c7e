/**
 * Times RBN forward and forward+backward (float32, training mode) on a symgrad backend.
 *
 * Usage: `deno task bench [--backend cpu] [--shape N,C,H,W] [--mode fwd|fwdbwd] [--json]`.
 * Without `--shape`/`--mode` it runs all three shapes and both modes and prints a table; with
 * `--json` the last line is `{backend, shape, mode, median_ms, kernels}`.
 *
 * The bandwidth floor is the time to stream 3 (forward) or 8 (forward+backward) input-sized
 * float32 tensors at the measured streaming bandwidth; "floor" reports floor / median.
 *
 * @module
 */

import { backendStats, jit, type Tensor } from "../mod.ts";
import { rbnForward, rbnForwardBackward, rbnInputs, streamingBandwidth } from "./rbn_model.ts";

/** One measurement. */
export interface RbnResult {
  /** Backend name. */
  backend: string;
  /** [N, C, H, W]. */
  shape: number[];
  /** `fwd` or `fwdbwd`. */
  mode: "fwd" | "fwdbwd";
  /** Median wall time of one step in milliseconds. */
  median_ms: number;
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
 * Times `mode` at `shape` on `backend`: warm-up, then the median of repeated steps. On a backend
 * that submits work to a device queue, each timed step includes waiting for that work to finish
 * (on synchronous backends the work is done when the step returns, and nothing is added).
 */
export async function timeRbn(
  backend: string,
  shape: number[],
  mode: "fwd" | "fwdbwd",
  minMs = 1500,
): Promise<RbnResult> {
  const inputs = await rbnInputs(shape, backend);
  const step = jit(() => (mode === "fwd" ? [rbnForward(inputs)] : rbnForwardBackward(inputs)));
  const first = await backendStats(backend);
  const outs0: Tensor[] = await step();
  const queued = (await backendStats(backend)).submissions > first.submissions;
  if (queued) await waitForDevice(outs0);
  for (const t of outs0) t.dispose();
  const once = async () => {
    const t0 = performance.now();
    const outs: Tensor[] = await step();
    if (queued) await waitForDevice(outs);
    const dt = performance.now() - t0;
    for (const t of outs) t.dispose();
    return dt;
  };
  // Warm up until V8 has optimized the kernels (at least 5 steps and 1 s).
  const warm = performance.now();
  for (let i = 0; i < 5 || performance.now() - warm < 1000; i++) await once();
  const before = await backendStats(backend);
  const outs: Tensor[] = await step();
  const kernels = (await backendStats(backend)).kernelsRun - before.kernelsRun;
  if (queued) await waitForDevice(outs);
  for (const t of outs) t.dispose();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start < minMs && times.length < 50)) {
    times.push(await once());
  }
  times.sort((a, b) => a - b);
  for (const t of Object.values(inputs)) t.dispose();
  return { backend, shape, mode, median_ms: times[times.length >> 1], kernels };
}

/** The three benchmark shapes. */
export const SHAPES: number[][] = [[8, 16, 32, 32], [32, 64, 32, 32], [64, 64, 56, 56]];

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const backend = arg("backend") ?? "cpu";
  const shapeArg = arg("shape");
  const modeArg = arg("mode") as "fwd" | "fwdbwd" | undefined;
  const json = Deno.args.includes("--json");
  const shapes = shapeArg ? [shapeArg.split(",").map(Number)] : SHAPES;
  const modes: ("fwd" | "fwdbwd")[] = modeArg ? [modeArg] : ["fwd", "fwdbwd"];
  const bw = streamingBandwidth();
  if (!json) console.log(`streaming bandwidth: ${(bw / 1e9).toFixed(1)} GB/s (JS, one thread)`);
  let last: RbnResult | undefined;
  for (const shape of shapes) {
    for (const mode of modes) {
      last = await timeRbn(backend, shape, mode);
      const bytes = shape.reduce((p, d) => p * d, 4) * (mode === "fwd" ? 3 : 8);
      const floorMs = (bytes / bw) * 1000;
      if (!json) {
        console.log(
          `${backend} ${shape.join("·")} ${mode.padEnd(6)} median ${
            last.median_ms.toFixed(2).padStart(8)
          } ms  kernels ${last.kernels}  floor ${floorMs.toFixed(2)} ms (${
            (100 * floorMs / last.median_ms).toFixed(0)
          }% of floor speed)`,
        );
      }
    }
  }
  if (json && last) console.log(JSON.stringify(last));
}
