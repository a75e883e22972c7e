/**
 * Which kernels the WebAssembly SIMD renderer takes, and their loop nest after merging.
 *
 * Taken: float32 outputs, elementwise or reduced (sum, max; several fused ones too), each stored
 * contiguously (row-major over the output loops), whose values are float32 or bool (ops:
 * arithmetic, comparisons, `where`, casts between them, and the transcendental ops) and whose
 * loads read float32 buffers through indices with non-negative divisions and moduli, under
 * padding conditions that do not depend on the innermost loop. Everything else (int32, float64,
 * bool buffers, ops the emitter does not know, indices with negative divisions) stays on the
 * JavaScript renderer, which is also the oracle the differential tests compare against.
 *
 * Adjacent loops merge when every access walks them as one (`coef(outer) = extent(inner) ·
 * coef(inner)`), so a plain elementwise kernel becomes one flat loop and a broadcast of a
 * per-channel vector keeps only the loops that the broadcast breaks. Output loops and reduction
 * loops merge separately, and loops used in divisions, moduli or conditions keep their own
 * variable. A reduction runs with its last reduction loop innermost, unless that loop is short
 * or strided while the last output loop is not (then in row mode: that output loop innermost).
 *
 * @module
 */

import type { Kernel, KernelValue, ScheduleBuffer } from "../../../core/schedule.ts";
import { kernelOutputs, usedValues } from "../../../core/schedule.ts";
import { type Index, loopsOf } from "../../../core/symbolic.ts";

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
  /**
   * Whether it is read lane by lane (its index divides or takes a modulus of the innermost
   * loop, or walks it with a stride other than 0 and 1).
   */
  readonly gather: boolean;
  /** Range of its division and modulus terms (`[0, 0]` without any). */
  readonly atoms: readonly [number, number];
}

/** A kernel the SIMD renderer takes. */
export interface SimdPlan {
  /** Extents of the merged loops, outermost first: output loops, then reduction loops. */
  readonly extents: readonly number[];
  /**
   * How many merged loops are output loops outside every reduction loop (at least one; the
   * outermost is the one that slices cut).
   */
  readonly nOuter: number;
  /** Whether the innermost loop is an output loop inside the reduction loops. */
  readonly rowMode: boolean;
  /** Output elements per iteration of the outermost loop. */
  readonly outPerOuter: number;
  /** Each used load value, by value index, in the order the wasm function takes their bases. */
  readonly loads: ReadonlyMap<number, SimdLoad>;
  /** The stores. */
  readonly outs: readonly SimdOutput[];
  /** Used values in dependency order. */
  readonly used: readonly number[];
  /** The merged loop of each kernel loop of extent > 1 (loops in divisions are not merged). */
  readonly merged: ReadonlyMap<number, number>;
}

/**
 * Picks the staging of a load: the fewest driver loops such that the copy is at most about
 * twice what the load reads (or than the work it feeds), and blocks long enough to be worth a
 * copy each (a permuted or strided view is copied block by block). `atoms` is the range of its
 * division and modulus terms and `atomLoops` the merged loops they use (never copy loops).
 */
function staging(
  extents: readonly number[],
  coefs: readonly number[],
  atoms: readonly [number, number],
  atomLoops: ReadonlySet<number>,
): SimdStaging | undefined {
  const n = extents.length;
  const perOuter = extents.slice(1).reduce((p, e) => p * e, 1);
  const firstAtom = Math.min(n, ...atomLoops);
  for (let p = 0; p <= Math.min(n - 1, firstAtom); p++) {
    let lo = atoms[0], hi = atoms[1], visited = 1, blocks = 1;
    for (let j = 1; j < n; j++) {
      const used = coefs[j] !== 0 || atomLoops.has(j);
      if (j < p) {
        if (used) blocks *= extents[j];
        continue;
      }
      const span = coefs[j] * (extents[j] - 1);
      if (span < 0) lo += span;
      else hi += span;
      if (used) visited *= extents[j];
    }
    const block = hi - lo + 1;
    if (block > Math.max(2 * visited, p === 0 ? perOuter : 0) + 16) continue;
    if (p === 0) return { copyLoops: 0, block: 0, blockMin: 0, staged: [] };
    if (blocks * 16 > perOuter) return undefined;
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

/** Shortest innermost reduction loop run with one accumulator per output. */
const MIN_ROW = 8;

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
      return v.dtype === "float32";
    case "guard":
      return true;
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

/** The loop variables `x` uses inside floor divisions and moduli. */
function atomLoops(x: Index): number[] {
  return x.terms.flatMap((t) => (t.atom.kind === "loop" ? [] : loopsOf(t.atom.x)));
}

/** Whether every division and modulus in `x` is of a non-negative expression (i32 `div_u`). */
function unsignedAtoms(x: Index): boolean {
  return x.terms.every((t) =>
    t.atom.kind === "loop" || (t.atom.x.min >= 0 && unsignedAtoms(t.atom.x))
  );
}

/** Smallest and largest value of the division and modulus terms of `x`. */
function atomRange(x: Index): [number, number] {
  let lo = 0, hi = 0;
  for (const t of x.terms) {
    const a = t.atom;
    if (a.kind === "loop") continue;
    const [mn, mx] = a.kind === "div"
      ? [Math.floor(a.x.min / a.d), Math.floor(a.x.max / a.d)]
      : [0, Math.min(a.d - 1, a.x.max)];
    lo += t.coef > 0 ? t.coef * mn : t.coef * mx;
    hi += t.coef > 0 ? t.coef * mx : t.coef * mn;
  }
  return [lo, hi];
}

/** Coefficients of the loop-variable terms of `x` per kernel loop. */
function affine(x: Index, nLoops: number): { c: number; coefs: number[] } {
  const coefs = new Array<number>(nLoops).fill(0);
  for (const t of x.terms) if (t.atom.kind === "loop") coefs[t.atom.loop] = t.coef;
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
  fixed: ReadonlySet<number>,
): { extents: number[]; coefs: number[][]; merged: Map<number, number> } {
  const extents: number[] = [];
  const coefs: number[][] = accesses.map(() => []);
  const merged = new Map<number, number>();
  let prevFixed = false;
  for (const j of loops) {
    const e = k.loops[j].extent;
    if (e === 1) continue;
    const last = extents.length - 1;
    const merges = last >= 0 && !prevFixed && !fixed.has(j) &&
      accesses.every((a, q) => coefs[q][last] === e * a.coefs[j]);
    prevFixed = fixed.has(j);
    merged.set(j, merges ? last : last + 1);
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
  return { extents, coefs, merged };
}

/** The plan for `k`, or undefined when the SIMD renderer does not take it. */
export function planSimd(k: Kernel, buffers: readonly ScheduleBuffer[]): SimdPlan | undefined {
  if (k.loops.some((l) => l.extent === 0)) return undefined;
  const outputs = kernelOutputs(k);
  for (const o of outputs) {
    if (o.dtype !== "float32" || buffers[o.buffer].dtype !== "float32") return undefined;
    if (buffers[o.buffer].size > MAX_ELEMENTS) return undefined;
    if (o.index.terms.some((t) => t.atom.kind !== "loop")) return undefined;
  }
  const usedSet = usedValues(k);
  const used = [...usedSet].sort((a, b) => a - b);
  if (!used.every((i) => supported(k, k.values[i]))) return undefined;
  const n = k.loops.length;
  const raw = new Map<number, { c: number; coefs: number[] }>();
  // Loops used inside divisions, moduli and padding conditions keep their own loop variable.
  const fixed = new Set<number>();
  for (const i of used) {
    const v = k.values[i];
    if (v.op === "load" || v.op === "guard") {
      for (const c of v.valid) {
        if (!unsignedAtoms(c.index)) return undefined;
        for (const l of loopsOf(c.index)) fixed.add(l);
      }
    }
    if (v.op !== "load") continue;
    if (buffers[v.buffer].size > MAX_ELEMENTS || !unsignedAtoms(v.index)) return undefined;
    raw.set(i, affine(v.index, n));
    for (const l of atomLoops(v.index)) fixed.add(l);
  }
  const outAffine = outputs.map((o) => affine(o.index, n));
  const accesses = [...outAffine, ...raw.values()];
  // Output loops and reduction loops merge separately: a sum adds in row-major order over the
  // reduction loops (the interpreter's order), which merging keeps.
  const outLoops = k.loops.flatMap((l, j) => (l.reduce ? [] : [j]));
  const redLoops = k.loops.flatMap((l, j) => (l.reduce ? [j] : []));
  const o = mergeLoops(k, outLoops, accesses, fixed);
  const r = k.reduceOp === undefined ? undefined : mergeLoops(k, redLoops, accesses, fixed);
  // A reduction whose last loop is short runs with its last output loop innermost instead: each
  // lane accumulates one output (a row of accumulators, as the JavaScript renderer's).
  // So does one whose last loop some load walks with a stride (a column sum).
  const strided = (g: { coefs: number[][] }) =>
    g.coefs.slice(outputs.length).some((c) => Math.abs(c[c.length - 1]) > 1);
  const rowMode = r !== undefined && o.extents[o.extents.length - 1] >= 4 &&
    (r.extents[r.extents.length - 1] < MIN_ROW || (strided(r) && !strided(o)));
  // Positions of the merged loops: output loops, reduction loops (row mode: the last output loop
  // last, behind an outer output loop of extent 1 when it is the only one).
  const outPos = o.extents.map((_, j) => j);
  let lead = 0;
  if (rowMode && o.extents.length === 1) lead = 1;
  const nOuter = rowMode ? o.extents.length - 1 + lead : o.extents.length;
  const order: [group: "o" | "r" | "lead", j: number][] = [];
  if (lead) order.push(["lead", 0]);
  for (const j of outPos) if (!rowMode || j < o.extents.length - 1) order.push(["o", j]);
  for (const j of r?.extents.keys() ?? []) order.push(["r", j]);
  if (rowMode) order.push(["o", o.extents.length - 1]);
  const extents = order.map((
    [g, j],
  ) => (g === "lead" ? 1 : g === "o" ? o.extents[j] : r!.extents[j]));
  const coefs = accesses.map((_, q) =>
    order.map(([g, j]) => (g === "lead" ? 0 : g === "o" ? o.coefs[q][j] : r!.coefs[q][j]))
  );
  const posOf = (g: "o" | "r", j: number) => order.findIndex(([h, x]) => h === g && x === j);
  const merged = new Map<number, number>();
  for (const [l, m] of o.merged) merged.set(l, posOf("o", m));
  for (const [l, m] of r?.merged ?? []) merged.set(l, posOf("r", m));
  // Every store must be row-major over the merged output loops (dense, so slices copy back
  // whole ranges).
  for (let q = 0; q < outputs.length; q++) {
    let stride = 1;
    for (let j = extents.length - 1; j >= 0; j--) {
      if (order[j][0] !== "o") {
        if (coefs[q][j] !== 0) return undefined;
        continue;
      }
      if (extents[j] > 1 && coefs[q][j] !== stride) return undefined;
      stride *= extents[j];
    }
  }
  const inner = extents.length - 1;
  // Four lanes of a row this short would mostly be idle: the JavaScript loops do as well.
  if (extents.length > 1 && extents[inner] < (k.reduceOp === undefined || rowMode ? 4 : MIN_ROW)) {
    return undefined;
  }
  // Padding conditions are evaluated once per row, outside the vector loop.
  for (const i of used) {
    const v = k.values[i];
    if (
      (v.op === "load" || v.op === "guard") &&
      v.valid.some((c) => loopsOf(c.index).some((l) => merged.get(l) === inner))
    ) return undefined;
  }
  const loads = new Map<number, SimdLoad>();
  for (const [q, i] of [...raw.keys()].entries()) {
    const v = k.values[i] as KernelValue & { op: "load" };
    const c = coefs[outputs.length + q];
    const inAtoms = new Set(atomLoops(v.index).map((l) => merged.get(l)!));
    const atoms = atomRange(v.index);
    const st = staging(extents, c, atoms, inAtoms);
    if (st === undefined || (v.valid.length > 0 && st.copyLoops > 0)) return undefined;
    const gather = inAtoms.has(inner) || (c[inner] !== 0 && c[inner] !== 1);
    loads.set(i, { buffer: v.buffer, c: raw.get(i)!.c, coefs: c, gather, atoms, ...st });
  }
  return {
    extents,
    nOuter,
    rowMode,
    outPerOuter: order.reduce((p, [g], j) => (j > 0 && g === "o" ? p * extents[j] : p), 1),
    loads,
    outs: outputs.map((x, q) => ({
      buffer: x.buffer,
      result: x.result,
      reduceOp: x.reduceOp,
      c: outAffine[q].c,
      coefs: coefs[q],
    })),
    used,
    merged,
  };
}
