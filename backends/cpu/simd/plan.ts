/**
 * Which kernels the WebAssembly SIMD renderer takes, and their loop nest after merging.
 *
 * Taken: float32 outputs, elementwise or reduced (sum, max; several fused ones too), each stored
 * contiguously (row-major over the output loops), whose values are float32 or bool and whose
 * loads read float32 buffers through affine indices with no padding condition, each either
 * contiguous (coefficient 1) or broadcast (coefficient 0) along the innermost loop (for a
 * reduction, the last reduction loop). Everything else stays on the JavaScript renderer, which
 * is also the oracle the differential tests compare against.
 *
 * Adjacent loops merge when every access walks them as one (`coef(outer) = extent(inner) ·
 * coef(inner)`), so a plain elementwise kernel becomes one flat loop and a broadcast of a
 * per-channel vector keeps only the loops that the broadcast breaks.
 *
 * @module
 */

import type { Kernel, KernelValue, ScheduleBuffer } from "../../../core/schedule.ts";
import { kernelOutputs, usedValues } from "../../../core/schedule.ts";
import type { Index } from "../../../core/symbolic.ts";

/** An affine access over the merged loops: element `c + Σ coefs[j] · i_j`. */
export interface SimdAccess {
  /** Constant part. */
  readonly c: number;
  /** Coefficient per merged loop (outermost first). */
  readonly coefs: readonly number[];
}

/** One output of a kernel the SIMD renderer takes. */
export interface SimdOutput extends SimdAccess {
  /** Destination buffer. */
  readonly buffer: number;
  /** The value stored (or reduced). */
  readonly result: number;
  /** How it combines over the reduction loops (undefined: elementwise). */
  readonly reduceOp: "sum" | "max" | undefined;
}

/**
 * How a load is staged: loops `[0, copyLoops)` are walked by the driver, which copies one block
 * of `block` elements (the span of the inner loops) per point of those loops that the load
 * depends on; the module then addresses the copy with `staged` coefficients. With `copyLoops` 0
 * the driver copies the whole span a chunk reads, and the module uses the load's own index.
 */
export interface SimdStaging {
  /** Loops walked by the driver. */
  readonly copyLoops: number;
  /** Elements per block (copyLoops > 0). */
  readonly block: number;
  /** Smallest value of the inner loops' part of the index (the start of a block). */
  readonly blockMin: number;
  /** Coefficients the module uses over the staged copy (copyLoops > 0). */
  readonly staged: readonly number[];
}

/** A load: its access and how it is staged. */
export interface SimdLoad extends SimdAccess, SimdStaging {
  /** The buffer read. */
  readonly buffer: number;
}

/** A kernel the SIMD renderer takes. */
export interface SimdPlan {
  /** Extents of the merged loops, outermost first: output loops, then reduction loops. */
  readonly extents: readonly number[];
  /** How many of the merged loops are output loops (at least one). */
  readonly nOut: number;
  /** Each used load value, by value index, in the order the wasm function takes their bases. */
  readonly loads: ReadonlyMap<number, SimdLoad>;
  /** The stores. */
  readonly outs: readonly SimdOutput[];
  /** Used values in dependency order. */
  readonly used: readonly number[];
}

/** Smallest block worth a copy of its own. */
const MIN_BLOCK = 8;

/**
 * Picks the staging of an access: the fewest driver loops such that the copy is at most about
 * twice what the loads read (a permuted or strided view is copied block by block).
 */
function staging(extents: readonly number[], coefs: readonly number[]): SimdStaging | undefined {
  const n = extents.length;
  for (let p = 0; p < n; p++) {
    let lo = 0, hi = 0, visited = 1;
    for (let j = p === 0 ? 1 : p; j < n; j++) {
      const span = coefs[j] * (extents[j] - 1);
      if (span < 0) lo += span;
      else hi += span;
      if (coefs[j] !== 0) visited *= extents[j];
    }
    if (p === 0) {
      if (hi - lo + 1 <= 2 * visited + 16) {
        return { copyLoops: 0, block: 0, blockMin: 0, staged: [] };
      }
      continue;
    }
    const block = hi - lo + 1;
    if (block > 2 * visited + 16) continue;
    if (block < MIN_BLOCK) return undefined;
    const staged = [...coefs];
    let stride = block;
    for (let j = p - 1; j >= 0; j--) {
      staged[j] = coefs[j] === 0 ? 0 : stride;
      if (coefs[j] !== 0) stride *= extents[j];
    }
    return { copyLoops: p, block, blockMin: lo, staged };
  }
  return undefined;
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

/**
 * Merges adjacent loops of `loops` (kernel loop numbers) that every access walks as one; loops
 * of extent 1 index nothing and vanish (an empty group becomes one loop of extent 1).
 */
function mergeLoops(
  k: Kernel,
  loops: readonly number[],
  accesses: readonly { coefs: readonly number[] }[],
): { extents: number[]; coefs: number[][] } {
  const extents: number[] = [];
  const coefs: number[][] = accesses.map(() => []);
  for (const j of loops) {
    const e = k.loops[j].extent;
    if (e === 1) continue;
    const last = extents.length - 1;
    const merges = last >= 0 && accesses.every((a, q) => coefs[q][last] === e * a.coefs[j]);
    if (merges) {
      extents[last] *= e;
      accesses.forEach((a, q) => (coefs[q][last] = a.coefs[j]));
    } else {
      extents.push(e);
      accesses.forEach((a, q) => coefs[q].push(a.coefs[j]));
    }
  }
  if (extents.length === 0) {
    extents.push(1);
    coefs.forEach((c) => c.push(0));
  }
  return { extents, coefs };
}

/** The plan for `k`, or undefined when the SIMD renderer does not take it. */
export function planSimd(k: Kernel, buffers: readonly ScheduleBuffer[]): SimdPlan | undefined {
  if (k.loops.some((l) => l.extent === 0)) return undefined;
  const outputs = kernelOutputs(k);
  for (const o of outputs) {
    if (o.dtype !== "float32" || buffers[o.buffer].dtype !== "float32") return undefined;
    if (buffers[o.buffer].size > MAX_ELEMENTS) return undefined;
  }
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
  const outAffine = outputs.map((o) => affine(o.index, n));
  if (outAffine.some((a) => a === undefined)) return undefined;
  const accesses = [...outAffine as { c: number; coefs: number[] }[], ...raw.values()];
  // Output loops and reduction loops merge separately: a sum adds in row-major order over the
  // reduction loops (the interpreter's order), which merging keeps.
  const outLoops = k.loops.flatMap((l, j) => (l.reduce ? [] : [j]));
  const redLoops = k.loops.flatMap((l, j) => (l.reduce ? [j] : []));
  const o = mergeLoops(k, outLoops, accesses);
  const r = k.reduceOp === undefined ? undefined : mergeLoops(k, redLoops, accesses);
  const extents = [...o.extents, ...(r?.extents ?? [])];
  const coefs = accesses.map((_, q) => [...o.coefs[q], ...(r?.coefs[q] ?? [])]);
  const nOut = o.extents.length;
  // Every store must be row-major over the merged output loops (dense, so slices copy back
  // whole ranges).
  for (let q = 0; q < outputs.length; q++) {
    let stride = 1;
    for (let j = extents.length - 1; j >= 0; j--) {
      if (j >= nOut) {
        if (coefs[q][j] !== 0) return undefined;
        continue;
      }
      if (extents[j] > 1 && coefs[q][j] !== stride) return undefined;
      stride *= extents[j];
    }
  }
  const inner = extents.length - 1;
  if (!coefs.every((c) => c[inner] === 0 || c[inner] === 1)) return undefined;
  const loads = new Map<number, SimdLoad>();
  for (const [q, i] of [...raw.keys()].entries()) {
    const c = coefs[outputs.length + q];
    const st = staging(extents, c);
    if (st === undefined) return undefined;
    loads.set(i, {
      buffer: (k.values[i] as { buffer: number }).buffer,
      c: raw.get(i)!.c,
      coefs: c,
      ...st,
    });
  }
  return {
    extents,
    nOut,
    loads,
    outs: outputs.map((x, q) => ({
      buffer: x.buffer,
      result: x.result,
      reduceOp: x.reduceOp,
      c: outAffine[q]!.c,
      coefs: coefs[q],
    })),
    used,
  };
}
