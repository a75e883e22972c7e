/**
 * Times RBN forward and forward+backward (float32, training mode) on a symgrad backend.
 *
 * Usage: `deno task bench [--backend cpu] [--shape N,C,H,W] [--mode fwd|fwdbwd] [--json]`.
 * Without `--shape`/`--mode` it runs all three RBN shapes and both modes, then the cases of
 * bench/cases.ts (matmul, conv2d, an MNIST training step), and prints a table of median, min
 * and max ms per step, GFLOP/s for contractions and the fraction of the bandwidth floor for RBN.
 * With `--json` it prints one JSON object per line instead: `{case, median_ms, min_ms, max_ms,
 * kernels, backend, ...}` (RBN rows add shape, mode, floor_ms and floor_fraction; contractions
 * add gflops).
 *
 * The bandwidth floor is the time to stream 3 (forward) or 8 (forward+backward) input-sized
 * float32 tensors at the measured streaming bandwidth; "floor" reports floor / median.
 *
 * @module
 */

import { cpuThreads, jit } from "../mod.ts";
import { CASES, rbnCaseId } from "./cases.ts";
import { rbnForward, rbnForwardBackward, rbnInputs, streamingBandwidth } from "./rbn_model.ts";
import { type StepTimes, timeStep } from "./timing.ts";

/** One measurement. */
export interface RbnResult extends StepTimes {
  /** Backend name. */
  backend: string;
  /** [N, C, H, W]. */
  shape: number[];
  /** `fwd` or `fwdbwd`. */
  mode: "fwd" | "fwdbwd";
}

/**
 * Times `mode` at `shape` on `backend` (see {@link timeStep}: on a backend that submits work to
 * a device queue, each timed step includes waiting for that work to finish).
 */
export async function timeRbn(
  backend: string,
  shape: number[],
  mode: "fwd" | "fwdbwd",
  minMs = 1500,
): Promise<RbnResult> {
  const inputs = await rbnInputs(shape, backend);
  const step = jit(() => (mode === "fwd" ? [rbnForward(inputs)] : rbnForwardBackward(inputs)));
  const times = await timeStep(backend, step, minMs);
  for (const t of Object.values(inputs)) t.dispose();
  return { backend, shape, mode, ...times };
}

/** The three benchmark shapes. */
export const SHAPES: number[][] = [[8, 16, 32, 32], [32, 64, 32, 32], [64, 64, 56, 56]];

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

/** One `--json` line: the case id, the times and the derived rates. */
function jsonLine(id: string, r: StepTimes, extra: Record<string, unknown>): string {
  return JSON.stringify({ case: id, ...r, ...extra });
}

if (import.meta.main) {
  const backend = arg("backend") ?? "cpu";
  const shapeArg = arg("shape");
  const modeArg = arg("mode") as "fwd" | "fwdbwd" | undefined;
  const json = Deno.args.includes("--json");
  // Asking for one RBN shape or mode runs only the RBN rows, as before the other cases existed.
  const rbnOnly = shapeArg !== undefined || modeArg !== undefined;
  const shapes = shapeArg ? [shapeArg.split(",").map(Number)] : SHAPES;
  const modes: ("fwd" | "fwdbwd")[] = modeArg ? [modeArg] : ["fwd", "fwdbwd"];
  const bw = streamingBandwidth();
  if (!json) {
    console.log(
      `streaming bandwidth: ${(bw / 1e9).toFixed(1)} GB/s (JS, one thread); ${cpuThreads()} ` +
        `CPU threads; times are median (min-max) ms of one step`,
    );
  }
  const range = (r: StepTimes) =>
    `median ${r.median_ms.toFixed(2).padStart(8)} ms (${r.min_ms.toFixed(2)}-${
      r.max_ms.toFixed(2)
    })`;
  for (const shape of shapes) {
    for (const mode of modes) {
      const r = await timeRbn(backend, shape, mode);
      const bytes = shape.reduce((p, d) => p * d, 4) * (mode === "fwd" ? 3 : 8);
      const floorMs = (bytes / bw) * 1000;
      if (json) {
        const { backend: _b, shape: _s, mode: _m, ...times } = r;
        console.log(jsonLine(rbnCaseId(shape, mode), times, {
          backend,
          shape,
          mode,
          floor_ms: floorMs,
          floor_fraction: floorMs / r.median_ms,
        }));
      } else {
        console.log(
          `${backend} ${shape.join("·")} ${mode.padEnd(6)} ${range(r)}  kernels ${r.kernels}  ` +
            `floor ${floorMs.toFixed(2)} ms (${(100 * floorMs / r.median_ms).toFixed(0)}% of ` +
            `floor speed)`,
        );
      }
    }
  }
  if (!rbnOnly) {
    for (const c of CASES) {
      const { step, dispose } = await c.setup(backend);
      const r = await timeStep(backend, step);
      dispose();
      const gflops = c.flops === undefined ? undefined : c.flops / (r.median_ms * 1e6);
      if (json) console.log(jsonLine(c.id, r, { backend, gflops }));
      else {
        const rate = gflops === undefined ? "" : `  ${gflops.toFixed(2)} GFLOP/s`;
        console.log(`${backend} ${c.label.padEnd(38)} ${range(r)}  kernels ${r.kernels}${rate}`);
      }
    }
  }
}
