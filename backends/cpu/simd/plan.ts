/**
 * Which kernels the WebAssembly SIMD renderer takes, and their loop nest after merging.
 *
 * Taken: one elementwise output (no reduction loops) of float32, stored contiguously (row-major
 * over the output loops), whose values are float32 or bool and whose loads read float32 buffers
 * through affine indices with no padding condition, each either contiguous (coefficient 1) or
 * broadcast (coefficient 0) along the innermost loop. Everything else stays on the JavaScript
 * renderer, which is also the oracle the differential tests compare against.
 *
 * Adjacent loops merge when every access walks them as one (`coef(outer) = extent(inner) ·
 * coef(inner)`), so a plain elementwise kernel becomes one flat loop and a broadcast of a
 * per-channel vector keeps only the loops that the broadcast breaks.
 *
 * @module
 */

import type { Kernel, KernelValue, ScheduleBuffer } from "../../../core/schedule.ts";
import { usedValues } from "../../../core/schedule.ts";
import type { Index } from "../../../core/symbolic.ts";

/** An affine access over the merged loops: element `c + Σ coefs[j] · i_j`. */
export interface SimdAccess {
  /** Constant part. */
  readonly c: number;
  /** Coefficient per merged loop (outermost first). */
  readonly coefs: readonly number[];
}

/** A kernel the SIMD renderer takes. */
export interface SimdPlan {
  /** Extents of the merged loops, outermost first (at least one). */
  readonly extents: readonly number[];
  /** The access of each used load value, by value index. */
  readonly loads: ReadonlyMap<number, SimdAccess>;
  /** The store. */
  readonly out: SimdAccess;
  /** Used values in dependency order. */
  readonly used: readonly number[];
  /** Buffers staged for reading, in the order the wasm function takes their bases. */
  readonly buffers: readonly number[];
}

/** ALU ops the emitter implements (others keep the kernel on the JavaScript renderer). */
const ALU = new Set([
  "neg",
  "exp",
  "log",
  "sqrt",
  "recip",
  "sin",
  "sigmoid",
  "tanh",
  "add",
  "mul",
  "max",
  "cmplt",
  "cmpeq",
  "pow",
  "where",
  "cast",
]);

/** Largest buffer (in elements) whose byte offsets fit the i32 address arithmetic. */
const MAX_ELEMENTS = 2 ** 28;

function supported(k: Kernel, v: KernelValue): boolean {
  if (v.dtype !== "float32" && v.dtype !== "bool") return false;
  switch (v.op) {
    case "const":
      // The JavaScript renderer computes with the double constant: only float32 values agree.
      return v.dtype === "bool" || Number.isNaN(v.value) ||
        Object.is(Math.fround(v.value), v.value);
    case "load":
      return v.dtype === "float32" && v.valid.length === 0;
    case "guard":
      return false;
    case "alu": {
      if (!ALU.has(v.alu)) return false;
      const argTypes = v.args.map((a) => k.values[a].dtype);
      if (v.alu === "where") return argTypes[0] === "bool" && argTypes[1] === argTypes[2];
      if (v.alu === "cmplt" || v.alu === "cmpeq") return argTypes[0] === argTypes[1];
      if (v.alu === "cast") return true; // between float32 and bool (both checked above)
      return v.dtype === "float32" && argTypes.every((t) => t === "float32");
    }
  }
}

/** Coefficients of `x` per kernel loop, or undefined when it is not affine in loop variables. */
function affine(x: Index, nLoops: number): { c: number; coefs: number[] } | undefined {
  const coefs = new Array<number>(nLoops).fill(0);
  for (const t of x.terms) {
    if (t.atom.kind !== "loop") return undefined;
    coefs[t.atom.loop] = t.coef;
  }
  return { c: x.c, coefs };
}

/** The plan for `k`, or undefined when the SIMD renderer does not take it. */
export function planSimd(k: Kernel, buffers: readonly ScheduleBuffer[]): SimdPlan | undefined {
  if (k.reduceOp !== undefined || k.extra.length > 0) return undefined;
  if (k.loops.some((l) => l.reduce || l.extent === 0)) return undefined;
  if (k.out.dtype !== "float32" || buffers[k.out.buffer].dtype !== "float32") return undefined;
  const usedSet = usedValues(k);
  const used = [...usedSet].sort((a, b) => a - b);
  if (!used.every((i) => supported(k, k.values[i]))) return undefined;
  const n = k.loops.length;
  const raw = new Map<number, { c: number; coefs: number[] }>();
  for (const i of used) {
    const v = k.values[i];
    if (v.op !== "load") continue;
    if (buffers[v.buffer].size > MAX_ELEMENTS) return undefined;
    const a = affine(v.index, n);
    if (a === undefined) return undefined;
    raw.set(i, a);
  }
  const out = affine(k.out.index, n);
  if (out === undefined || buffers[k.out.buffer].size > MAX_ELEMENTS) return undefined;
  const accesses = [out, ...raw.values()];
  // Merge adjacent loops (extent-1 loops index nothing and vanish).
  const extents: number[] = [];
  const coefs: number[][] = accesses.map(() => []);
  k.loops.forEach((l, j) => {
    if (l.extent === 1) return;
    const last = extents.length - 1;
    const merges = last >= 0 &&
      accesses.every((a, q) => coefs[q][last] === l.extent * a.coefs[j]);
    if (merges) {
      extents[last] *= l.extent;
      accesses.forEach((a, q) => (coefs[q][last] = a.coefs[j]));
    } else {
      extents.push(l.extent);
      accesses.forEach((a, q) => coefs[q].push(a.coefs[j]));
    }
  });
  if (extents.length === 0) {
    extents.push(1);
    coefs.forEach((c) => c.push(0));
  }
  // The store must be row-major over the merged loops (dense, so slices copy back whole ranges).
  let stride = 1;
  for (let j = extents.length - 1; j >= 0; j--) {
    if (extents[j] > 1 && coefs[0][j] !== stride) return undefined;
    stride *= extents[j];
  }
  const inner = extents.length - 1;
  if (!coefs.every((c) => c[inner] === 0 || c[inner] === 1)) return undefined;
  // A load that one outer iteration reads far more of than it writes (a permuted view) would be
  // staged whole by every slice: the JavaScript loops read it in place instead.
  const perOuter = extents.slice(1).reduce((p, e) => p * e, 1);
  for (const c of coefs.slice(1)) {
    const span = c.slice(1).reduce((s, x, j) => s + Math.abs(x) * (extents[j + 1] - 1), 1);
    if (span > 2 * perOuter + 16) return undefined;
  }
  const loads = new Map<number, SimdAccess>();
  [...raw.keys()].forEach((i, q) => loads.set(i, { c: raw.get(i)!.c, coefs: coefs[q + 1] }));
  const staged = [
    ...new Set([...loads.keys()].map((i) => (k.values[i] as { buffer: number }).buffer)),
  ];
  return {
    extents,
    loads,
    out: { c: out.c, coefs: coefs[0] },
    used,
    buffers: staged.sort((a, b) => a - b),
  };
}
