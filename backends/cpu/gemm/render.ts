/**
 * Kernel source for a recognised contraction: a few lines that start the GEMM driver once per
 * thread (its source and the micro-kernel binary are embedded) and hand it the job. The source
 * has the same `(bufs, start, end)` contract as the JavaScript renderer's, over units of output
 * blocks instead of outer-loop iterations, so the worker pool runs it unchanged.
 *
 * The path is on by default; {@link setCpuGemm}`(false)` or `SYMGRAD_CPU_GEMM=0` (read once,
 * where env access is granted) keeps every kernel on the JavaScript renderer. Fused
 * multiply-adds are opt-in ({@link setCpuFma}`(true)` or `SYMGRAD_CPU_FMA=1`): faster, but the
 * sums are no longer the interpreter's bit for bit.
 *
 * @module
 */

import type { Cond, Kernel, ScheduleBuffer } from "../../../core/schedule.ts";
import { fmtIndex, loopsOf } from "../../../core/symbolic.ts";
import { aluSource, literal } from "../render.ts";
import { chooseMr, microKernelBytes, NR, relaxedSimd } from "./micro_kernel.ts";
import { type GemmOperand, recogniseGemm } from "./recognise.ts";
import { type GemmJob, gemmRuntime } from "./runtime.ts";

/** The environment variable that turns the GEMM path off (`0`). */
export const GEMM_ENV = "SYMGRAD_CPU_GEMM";
/** The environment variable that turns fused multiply-adds on (`1`). */
export const FMA_ENV = "SYMGRAD_CPU_FMA";

/** K block: a packed A micro-panel of `KC × mr` and B micro-panel stay in L1. */
const KC = 256;
/**
 * Largest row blocks (by tile height) and column blocks per unit; smaller when that leaves too
 * few units to share.
 */
const MC: Record<number, number> = { 4: 64, 6: 72 }, NC = 256;
/** Outputs per batch point below which a contraction stays on the JavaScript loops. */
const MIN_OUTPUTS = 4;
/** Units wanted per job, so that threads can balance. */
const MIN_UNITS = 8;

let chosen: boolean | undefined;
let envValue: boolean | undefined;
let fmaChosen: boolean | undefined;
let fmaEnv: boolean | undefined;

/** The value of `name` where env access is already granted, else undefined. */
function envVar(name: string): string | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  const granted = deno?.permissions.querySync({ name: "env", variable: name }).state ===
    "granted";
  return granted ? deno!.env.get(name) : undefined;
}

/**
 * Turns the WebAssembly GEMM path of the CPU backend on or off for backends compiled from now on
 * (`undefined`: back to the default, on unless `SYMGRAD_CPU_GEMM=0`).
 *
 * @example Run contractions with the JavaScript loops
 * ```ts
 * import { setCpuGemm } from "@symgrad/symgrad";
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
  envValue ??= envVar(GEMM_ENV) !== "0";
  return envValue;
}

/**
 * Makes the CPU backend's float32 contractions add each product with a fused multiply-add
 * (WebAssembly relaxed SIMD, where the engine has it) in kernels compiled from now on, or not
 * (`undefined`: back to the default, off unless `SYMGRAD_CPU_FMA=1`). Fused, a product is not
 * rounded before it is added: the GEMM micro-kernel runs about a quarter faster, and each
 * output differs from the interpreter's by at most `2·γ_K·Σ_k |a_k·b_k|` (`γ_K = K·u / (1 −
 * K·u)`, `u = 2⁻²⁴`, `K` the reduction's length): the standard bound for two float32 sums in
 * the same order, each within `γ_K·Σ|a_k·b_k|` of the exact one. Off, results are the
 * interpreter's bit for bit.
 *
 * @example Fused multiply-adds for a training run
 * ```ts
 * import { setCpuFma } from "@symgrad/symgrad";
 * setCpuFma(true);
 * setCpuFma(undefined);
 * ```
 */
export function setCpuFma(on: boolean | undefined): void {
  fmaChosen = on;
}

/** Whether contractions compiled now use fused multiply-adds (asked for, and supported). */
export function cpuFma(): boolean {
  fmaEnv ??= envVar(FMA_ENV) === "1";
  return (fmaChosen ?? fmaEnv) && relaxedSimd();
}

/**
 * A block of whole tiles of `t` for `n` rows, at most `max` rows unless that leaves fewer than
 * `parts` blocks, and no less than four tiles; blocks as equal as tiles allow (512 rows in
 * tiles of 6 and blocks of at most 72 make blocks of 66, not seven of 72 and one of 8), so that
 * threads sharing them finish together.
 */
function blockSize(n: number, t: number, max: number, parts: number): number {
  const tiles = Math.ceil(Math.max(n, 1) / t);
  const blocks = Math.max(
    1,
    Math.min(Math.ceil(tiles / 4), Math.max(parts, Math.ceil(tiles * t / max))),
  );
  return Math.ceil(tiles / blocks) * t;
}

const preludes = new Map<boolean, string>();

/**
 * A packing function for an operand computed by elementwise ops: it evaluates the operand's
 * values per packed element with the JavaScript renderer's arithmetic (float32 results rounded
 * where they are computed, as the interpreter stores them), reading each load through its
 * split index tables `T[value]` (see runtime.ts).
 */
function exprPacker(
  k: Kernel,
  o: GemmOperand,
  groups: { batch: readonly number[]; rows: readonly number[]; k: readonly number[] },
): string | undefined {
  const e = o.expr;
  if (e === undefined) return undefined;
  const head: string[] = [];
  const body: string[] = [];
  // Loop variables used by indices evaluated per element (not affine).
  const loopVars = new Set<number>();
  const general = (x: Parameters<typeof fmtIndex>[0]) => {
    for (const l of loopsOf(x)) loopVars.add(l);
    return fmtIndex(x, (l) => `i${l}`);
  };
  const conds = (i: number, cs: readonly Cond[]) =>
    cs.map((c, q) => {
      if (e.reads[i].conds[q] === undefined) {
        const x = general(c.index);
        return `${c.lo} <= (${x}) && (${x}) < ${c.hi}`;
      }
      const n = `C${i}_${q}`;
      head.push(
        `const ${n} = T[${i}].conds[${q}], ${n}t = ${n}.t, ${n}r = ${n}t.rows, ` +
          `${n}k = ${n}t.inner, ${n}b = ${n}t.c + ${n}t.batch[bi];`,
      );
      body.push(`const x${i}_${q} = ${n}b + ${n}r[r] + ${n}k[k];`);
      return `${n}.lo <= x${i}_${q} && x${i}_${q} < ${n}.hi`;
    }).join(" && ");
  const arg = (i: number) => {
    const v = k.values[i];
    return v.op === "const" ? literal(v.value) : `v${i}`;
  };
  const bufs = new Set<number>();
  for (const i of e.values) {
    const v = k.values[i];
    if (v.op === "const") continue;
    if (v.op === "load") {
      bufs.add(v.buffer);
      const n = `R${i}`;
      let read: string;
      if (e.reads[i].index === undefined) {
        read = `b${v.buffer}[${general(v.index)}]`;
      } else {
        head.push(
          `const ${n} = T[${i}].index, ${n}r = ${n}.rows, ${n}k = ${n}.inner, ` +
            `${n}b = ${n}.c + ${n}.batch[bi];`,
        );
        read = `b${v.buffer}[${n}b + ${n}r[r] + ${n}k[k]]`;
      }
      body.push(`const v${i} = ${v.valid.length ? `(${conds(i, v.valid)}) ? ${read} : 0` : read};`);
    } else if (v.op === "guard") {
      body.push(`const v${i} = (${conds(i, v.valid)}) ? ${arg(v.args[0])} : 0;`);
    } else if (v.op === "alu") {
      body.push(`const v${i} = ${aluSource(v, arg, (j) => k.values[j].dtype)};`);
    } else {
      return undefined;
    }
  }
  const at = (l: number) => {
    for (
      const [g, ls, v] of [["batch", groups.batch, "bi"], ["rows", groups.rows, "r"], [
        "k",
        groups.k,
        "k",
      ]] as const
    ) {
      const p = ls.indexOf(l);
      if (p >= 0) return `LV.${g}[${p}][${v}]`;
    }
    return "0"; // a loop the operand does not depend on
  };
  const batchVars = [...loopVars].filter((l) => groups.batch.includes(l));
  const elemVars = [...loopVars].filter((l) => !groups.batch.includes(l));
  body.unshift(...elemVars.map((l) => `const i${l} = ${at(l)};`));
  head.push(...batchVars.map((l) => `const i${l} = ${at(l)};`));
  return [
    `(function (h, bufs, T, LV, bi, r0, tiles, nR, w, k0, kcl, dst) {`,
    ...[...bufs].map((b) => `const b${b} = bufs[${b}];`),
    ...head,
    `for (let t = 0; t < tiles; t++) {`,
    `const rb = r0 + t * w, rEnd = Math.min(w, nR - rb);`,
    `for (let kk = 0; kk < kcl; kk++) {`,
    `const k = k0 + kk, d = dst + (t * kcl + kk) * w;`,
    `let j = 0;`,
    `for (; j < rEnd; j++) {`,
    `const r = rb + j;`,
    ...body,
    `h[d + j] = ${arg(e.root)};`,
    `}`,
    `for (; j < w; j++) h[d + j] = 0;`,
    `}`,
    `}`,
    `})`,
  ].join("\n");
}

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
  // Dot products (one output per batch point, as in normalization statistics) fill one lane of
  // a tile: the JavaScript loop's scalar accumulator does them as fast without packing.
  if (nM * nN < MIN_OUTPUTS) return undefined;
  const mr = chooseMr(nM);
  let mc = blockSize(nM, mr, MC[mr], 1), nc = blockSize(nN, NR, NC, 1);
  const units = () => nB * Math.ceil(nM / mc) * Math.ceil(nN / nc);
  // Too few units for the threads to share: more column blocks, then more row blocks.
  const want = (other: number) => Math.ceil(MIN_UNITS / (nB * other));
  if (units() < MIN_UNITS) nc = blockSize(nN, NR, NC, want(Math.ceil(nM / mc)));
  if (units() < MIN_UNITS) mc = blockSize(nM, mr, MC[mr], want(Math.ceil(nN / nc)));
  const job: GemmJob = { ...plan, mc, nc, kc: KC, mr, nr: NR };
  const fma = cpuFma();
  let prelude = preludes.get(fma);
  if (prelude === undefined) {
    const key = `symgrad.cpu.gemm.v2${fma ? ".fma" : ""}`;
    prelude = `const R = globalThis[Symbol.for("${key}")] ??= (${gemmRuntime})(` +
      `new Uint8Array([${microKernelBytes(fma).join(",")}]));`;
    preludes.set(fma, prelude);
  }
  const shape = `batch [${plan.batch}] m [${plan.m}] n [${plan.n}] k [${plan.k}]`;
  const source = [
    `"use strict";`,
    `// kernel ${k.id}: gemm ${shape}, f32 (wasm simd${fma ? ", fma" : ""})`,
    prelude,
    `R.run(${JSON.stringify(JSON.stringify(job))}, bufs, start, end, ` +
    `${exprPacker(k, plan.a, { ...plan.loops, rows: plan.loops.m }) ?? "undefined"}, ` +
    `${exprPacker(k, plan.b, { ...plan.loops, rows: plan.loops.n }) ?? "undefined"});`,
  ].join("\n");
  return { source, extent: units() };
}
