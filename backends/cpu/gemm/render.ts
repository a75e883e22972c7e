/**
 * Kernel source for a recognised contraction: a few lines that start the GEMM driver once per
 * thread (its source and the micro-kernel binary are embedded) and hand it the job. The source
 * has the same `(bufs, start, end)` contract as the JavaScript renderer's, over units of output
 * blocks instead of outer-loop iterations, so the worker pool runs it unchanged.
 *
 * The path is on by default; {@link setCpuGemm}`(false)` or `SYMGRAD_CPU_GEMM=0` (read once,
 * where env access is granted) keeps every kernel on the JavaScript renderer.
 *
 * @module
 */

import type { Kernel, ScheduleBuffer } from "../../../core/schedule.ts";
import { microKernelBytes, MR, NR } from "./micro_kernel.ts";
import { recogniseGemm } from "./recognise.ts";
import { type GemmJob, gemmRuntime } from "./runtime.ts";

/** The environment variable that turns the GEMM path off (`0`). */
export const GEMM_ENV = "SYMGRAD_CPU_GEMM";

/** K block: a packed A micro-panel of `KC × MR` and B micro-panel stay in L1. */
const KC = 256;
/** Largest row and column blocks per unit; smaller when that leaves too few units to share. */
const MC = 64, NC = 256;
/** Units wanted per job, so that threads can balance. */
const MIN_UNITS = 8;

let chosen: boolean | undefined;
let envValue: boolean | undefined;

/**
 * Turns the WebAssembly GEMM path of the CPU backend on or off for backends compiled from now on
 * (`undefined`: back to the default, on unless `SYMGRAD_CPU_GEMM=0`).
 *
 * @example Run contractions with the JavaScript loops
 * ```ts
 * import { setCpuGemm } from "./render.ts";
 * setCpuGemm(false);
 * setCpuGemm(undefined);
 * ```
 */
export function setCpuGemm(on: boolean | undefined): void {
  chosen = on;
}

/** Whether the GEMM path is on now. */
export function cpuGemm(): boolean {
  if (chosen !== undefined) return chosen;
  if (envValue === undefined) {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    const granted = deno?.permissions.querySync({ name: "env", variable: GEMM_ENV }).state ===
      "granted";
    envValue = !(granted && deno!.env.get(GEMM_ENV) === "0");
  }
  return envValue;
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

let prelude: string | undefined;

/** The `(bufs, start, end)` body for `k` and its unit count, or undefined if not a contraction. */
export function renderGemmKernel(
  k: Kernel,
  buffers: readonly ScheduleBuffer[],
): { source: string; extent: number } | undefined {
  if (!cpuGemm()) return undefined;
  const plan = recogniseGemm(k, buffers);
  if (plan === undefined) return undefined;
  const size = (e: readonly number[]) => e.reduce((p, x) => p * x, 1);
  const nB = size(plan.batch), nM = size(plan.m), nN = size(plan.n);
  let mc = Math.min(MC, roundUp(Math.max(nM, 1), MR));
  let nc = Math.min(NC, roundUp(Math.max(nN, 1), NR));
  const units = () => nB * Math.ceil(nM / mc) * Math.ceil(nN / nc);
  while (units() < MIN_UNITS && nc > 4 * NR) nc = roundUp(nc / 2, NR);
  while (units() < MIN_UNITS && mc > 4 * MR) mc = roundUp(mc / 2, MR);
  const job: GemmJob = { ...plan, mc, nc, kc: KC, mr: MR, nr: NR };
  prelude ??= `const R = globalThis[Symbol.for("symgrad.cpu.gemm.v1")] ??= (${gemmRuntime})(` +
    `new Uint8Array([${microKernelBytes().join(",")}]));`;
  const shape = `batch [${plan.batch}] m [${plan.m}] n [${plan.n}] k [${plan.k}]`;
  const source = [
    `"use strict";`,
    `// kernel ${k.id}: gemm ${shape}, f32 (wasm simd)`,
    prelude,
    `R.run(${JSON.stringify(JSON.stringify(job))}, bufs, start, end);`,
  ].join("\n");
  return { source, extent: units() };
}
