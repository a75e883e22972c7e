/**
 * Kernel source for an elementwise kernel the SIMD renderer takes (see plan.ts): a few lines
 * that start the SIMD driver once per thread (its source is embedded) and hand it the job with
 * the kernel's WebAssembly module. Same `(bufs, start, end)` contract as the JavaScript
 * renderer's, over iterations of the outermost merged loop, so the worker pool runs it unchanged.
 *
 * The path is on by default; {@link setCpuSimd}`(false)` or `SYMGRAD_CPU_SIMD=0` (read once,
 * where env access is granted) keeps every elementwise kernel on the JavaScript renderer.
 *
 * @module
 */

import type { Kernel, ScheduleBuffer } from "../../../core/schedule.ts";
import { simdModuleBytes } from "./emit.ts";
import { planSimd } from "./plan.ts";
import { type SimdJob, simdRuntime } from "./runtime.ts";

/** The environment variable that turns the SIMD path off (`0`). */
export const SIMD_ENV = "SYMGRAD_CPU_SIMD";

/** Elements staged per chunk (about 64 KiB per operand: the chunk stays in L2). */
const CHUNK_ELEMENTS = 16384;

/** Largest module a browser's main thread may compile synchronously. */
const SYNC_COMPILE_LIMIT = 4096;

let chosen: boolean | undefined;
let envValue: boolean | undefined;

/**
 * Turns the WebAssembly SIMD path for elementwise kernels of the CPU backend on or off for
 * backends compiled from now on (`undefined`: back to the default, on unless
 * `SYMGRAD_CPU_SIMD=0`).
 *
 * @example Run elementwise kernels with the JavaScript loops
 * ```ts
 * import { setCpuSimd } from "@symgrad/symgrad";
 * setCpuSimd(false);
 * setCpuSimd(undefined);
 * ```
 */
export function setCpuSimd(on: boolean | undefined): void {
  chosen = on;
}

/** Whether the SIMD path is on now. */
export function cpuSimd(): boolean {
  if (chosen !== undefined) return chosen;
  if (envValue === undefined) {
    const deno = (globalThis as { Deno?: typeof Deno }).Deno;
    const granted = deno?.permissions.querySync({ name: "env", variable: SIMD_ENV }).state ===
      "granted";
    envValue = !(granted && deno!.env.get(SIMD_ENV) === "0");
  }
  return envValue;
}

let prelude: string | undefined;

/** The `(bufs, start, end)` body for `k` and its outer extent, or undefined if not taken. */
export function renderSimdKernel(
  k: Kernel,
  buffers: readonly ScheduleBuffer[],
): { source: string; extent: number } | undefined {
  if (!cpuSimd() || typeof WebAssembly !== "object") return undefined;
  const plan = planSimd(k, buffers);
  if (plan === undefined) return undefined;
  const perOuter = plan.extents.slice(1).reduce((p, e) => p * e, 1);
  const outBuffers = plan.outs.map((o) => o.buffer);
  const bytes = simdModuleBytes(k, plan);
  // Browsers refuse to compile a module over 4 KiB synchronously on a page's main thread.
  if (bytes.length > SYNC_COMPILE_LIMIT && "document" in globalThis) return undefined;
  const job: SimdJob = {
    bytes: [...bytes],
    extents: plan.extents,
    chunk: Math.max(1, Math.floor(CHUNK_ELEMENTS / perOuter)),
    loads: [...plan.loads.values()],
    outPerOuter: plan.outPerOuter,
    outs: plan.outs.map(({ buffer, c, coefs }) => ({ buffer, c, coefs })),
  };
  prelude ??= `const R = globalThis[Symbol.for("symgrad.cpu.simd.v1")] ??= (${simdRuntime})();`;
  const read = new Set([...plan.loads.values()].map((l) => l.buffer));
  const dtypes = [...read, ...outBuffers].map((b) => `b${b}:${buffers[b].dtype}`).join(" ");
  const what = k.reduceOp === undefined
    ? "elementwise"
    : plan.rowMode
    ? "reduce by rows"
    : "reduce by lanes";
  return {
    source: [
      `"use strict";`,
      `// kernel ${k.id}: simd ${what} loops [${plan.extents}] ${dtypes} (wasm simd)`,
      prelude,
      `R.run(${JSON.stringify(JSON.stringify(job))}, bufs, start, end);`,
    ].join("\n"),
    extent: plan.extents[0],
  };
}
