/**
 * Recognises contractions among the CPU backend's kernels: a float32 sum over reduction loops of
 * the product of two loads with affine indices — `C[b, m, n] = Σ_k A[b, m, k] · B[b, n, k]` up
 * to strides — which covers matmul, batched matmul and conv2d with its two gradients.
 *
 * Each operand may reach its load through `pad` guards (the value is 0 where a condition fails)
 * and one cast to float32; its index and conditions must be affine in the loop variables. Output
 * loops that only A reads become the M axes, ones only B reads the N axes (vector lanes), the
 * others batch axes; the reduction loops in kernel order are the K axis, so flattening them
 * row-major keeps the interpreter's summation order. Any other kernel (or one with fields this
 * module does not know, such as extra outputs) is declined with `undefined`.
 *
 * @module
 */

import type { Cond, Kernel, KernelValue, ScheduleBuffer } from "../../../core/schedule.ts";
import { type Index, loopsOf } from "../../../core/symbolic.ts";

/** An affine expression split by axis group: `c + Σ coef·loop` over batch, row/column and K loops. */
export interface AffineParts {
  /** Constant part. */
  readonly c: number;
  /** Coefficient of each batch loop (in {@link GemmPlan.batch} order). */
  readonly batch: readonly number[];
  /** Coefficient of each M loop (for A and the output) or N loop (for B). */
  readonly rows: readonly number[];
  /** Coefficient of each K loop (operands) or N loop (the output). */
  readonly inner: readonly number[];
}

/** One operand of a contraction: a buffer read at an affine index under affine conditions. */
export interface GemmOperand {
  /** Schedule buffer read. */
  readonly buffer: number;
  /** Element index. */
  readonly index: AffineParts;
  /** Conditions `lo <= index < hi` under which the value is read (else it is 0). */
  readonly conds: readonly {
    readonly index: AffineParts;
    readonly lo: number;
    readonly hi: number;
  }[];
  /**
   * Set when the operand is computed by elementwise ops (then `buffer` is -1): the kernel values
   * it depends on, its root, and the index split of each load and guard among them.
   */
  readonly expr?: {
    readonly root: number;
    readonly values: readonly number[];
    readonly reads: Readonly<Record<string, ExprRead>>;
  };
}

/** A load's index (undefined for a guard) and the conditions of a load or guard. */
export interface ExprRead {
  /** The element index (loads only; undefined when it is not affine: evaluated per element). */
  readonly index: AffineParts | undefined;
  /** Conditions under which the value is read (else it is 0); non-affine ones undefined. */
  readonly conds: readonly (
    | { readonly index: AffineParts; readonly lo: number; readonly hi: number }
    | undefined
  )[];
}

/** A recognised contraction; loops are listed by extent, each group row-major. */
export interface GemmPlan {
  /** Extents of the batch loops. */
  readonly batch: readonly number[];
  /** Extents of the M loops (A's output loops). */
  readonly m: readonly number[];
  /** Extents of the N loops (B's output loops). */
  readonly n: readonly number[];
  /** Extents of the reduction loops, in the kernel's (the interpreter's summation) order. */
  readonly k: readonly number[];
  /** The operand broadcast along rows (indexed by batch, M and K loops). */
  readonly a: GemmOperand;
  /** The operand spread over vector lanes (indexed by batch, N and K loops). */
  readonly b: GemmOperand;
  /** The output: buffer and index (`rows` over M loops, `inner` over N loops). */
  readonly out: { readonly buffer: number; readonly index: AffineParts };
  /** Kernel loop numbers of each group (for code that evaluates indices per element). */
  readonly loops: {
    readonly batch: readonly number[];
    readonly m: readonly number[];
    readonly n: readonly number[];
    readonly k: readonly number[];
  };
}

const KERNEL_FIELDS = new Set([
  "id",
  "loops",
  "reduceOp",
  "values",
  "result",
  "out",
  "reads",
  "nodes",
  "extra",
]);

interface Traced {
  readonly buffer: number;
  readonly index: Index;
  readonly conds: readonly Cond[];
  /** For an operand computed by elementwise ops: its values (sorted) and root. */
  readonly expr?: { readonly root: number; readonly values: readonly number[] };
}

/**
 * An operand computed from loads by elementwise ops (a prologue, such as a normalization fused
 * into a convolution's input): every value it depends on, or undefined when one is not an
 * elementwise op, a guard, a constant or a load.
 */
function traceExpr(k: Kernel, root: number): Traced | undefined {
  const seen = new Set<number>();
  const visit = (i: number): boolean => {
    if (seen.has(i)) return true;
    seen.add(i);
    const v = k.values[i];
    if (v.op === "load" || v.op === "const") return true;
    if (v.op === "guard" || v.op === "alu") return v.args.every(visit);
    return false;
  };
  if (!visit(root)) return undefined;
  const values = [...seen].sort((a, b) => a - b);
  return {
    buffer: -1,
    index: { c: 0, terms: [], min: 0, max: 0, key: "0" },
    conds: [],
    expr: { root, values },
  };
}

/** The index expressions an operand reads through (its load, conditions, or all of its expr's). */
function indicesOf(k: Kernel, t: Traced): Index[] {
  if (t.expr === undefined) return [t.index, ...t.conds.map((c) => c.index)];
  return t.expr.values.flatMap((i) => {
    const v = k.values[i];
    if (v.op === "load") return [v.index, ...v.valid.map((c) => c.index)];
    if (v.op === "guard") return v.valid.map((c) => c.index);
    return [];
  });
}

/** Follows guards and at most one cast to float32 down to a load, collecting conditions. */
function trace(k: Kernel, buffers: readonly ScheduleBuffer[], i: number): Traced | undefined {
  const conds: Cond[] = [];
  let cast = false;
  let dtype = "float32";
  for (;;) {
    const v: KernelValue = k.values[i];
    if (v.dtype !== dtype) return undefined;
    if (v.op === "guard") {
      conds.push(...v.valid);
      i = v.args[0];
    } else if (v.op === "alu" && v.alu === "cast" && !cast && v.dtype === "float32") {
      cast = true;
      i = v.args[0];
      dtype = k.values[i].dtype;
      // Casts from bool/int values stored as 0/1 or from float64 round like a float32 store.
      if (dtype !== "float64" && dtype !== "float32" && dtype !== "bool") return undefined;
    } else if (v.op === "load") {
      if (buffers[v.buffer].dtype !== dtype) return undefined;
      return { buffer: v.buffer, index: v.index, conds: [...conds, ...v.valid] };
    } else {
      return undefined;
    }
  }
}

/** Loop → coefficient of an affine index, or undefined if it has div/mod atoms. */
function coefs(x: Index): Map<number, number> | undefined {
  const m = new Map<number, number>();
  for (const t of x.terms) {
    if (t.atom.kind !== "loop") return undefined;
    m.set(t.atom.loop, t.coef);
  }
  return m;
}

/** The contraction kernel `k` computes, or undefined when it is not one this path runs. */
export function recogniseGemm(
  k: Kernel,
  buffers: readonly ScheduleBuffer[],
): GemmPlan | undefined {
  if (Object.keys(k).some((f) => !KERNEL_FIELDS.has(f))) return undefined;
  // A fused multi-output reduction is not one contraction.
  if (k.extra.length > 0) return undefined;
  if (k.reduceOp !== "sum" || k.out.dtype !== "float32") return undefined;
  if (buffers[k.out.buffer].dtype !== "float32") return undefined;
  const r = k.values[k.result];
  if (r.op !== "alu" || r.alu !== "mul" || r.dtype !== "float32") return undefined;
  // A plain load with a non-affine index (div/mod left by pads of reshaped views) is packed
  // like a computed operand, evaluating its index per element.
  const affine = (t: Traced | undefined) =>
    t !== undefined && [t.index, ...t.conds.map((c) => c.index)].every((x) => coefs(x));
  const traced = (i: number) => {
    const t = trace(k, buffers, i);
    return affine(t) ? t : traceExpr(k, i);
  };
  const ta = traced(r.args[0]), tb = traced(r.args[1]);
  if (ta === undefined || tb === undefined) return undefined;
  if (k.reads.includes(k.out.buffer)) return undefined;
  const outC = coefs(k.out.index);
  if (outC === undefined || [...outC.keys()].some((l) => k.loops[l].reduce)) return undefined;
  const side = (t: Traced) => {
    const all = [t.index, ...t.conds.map((c) => c.index)].map(coefs);
    if (all.some((m) => m === undefined)) return undefined;
    const loops = new Set<number>();
    for (const x of indicesOf(k, t)) for (const l of loopsOf(x)) loops.add(l);
    return { loops, index: all[0]!, conds: all.slice(1) as Map<number, number>[] };
  };
  let sa = side(ta), sb = side(tb);
  if (sa === undefined || sb === undefined) return undefined;
  const outs = k.loops.flatMap((l, i) => (l.reduce ? [] : [i]));
  const reds = k.loops.flatMap((l, i) => (l.reduce ? [i] : []));
  let mLoops = outs.filter((l) => sa!.loops.has(l) && !sb!.loops.has(l));
  let nLoops = outs.filter((l) => sb!.loops.has(l) && !sa!.loops.has(l));
  const bLoops = outs.filter((l) => !mLoops.includes(l) && !nLoops.includes(l));
  const size = (ls: number[]) => ls.reduce((p, l) => p * k.loops[l].extent, 1);
  let [a, b] = [ta, tb];
  // The side with the output's unit-stride loop goes across vector lanes (tiles store rows of
  // consecutive outputs) when it fills them; else the longer side does.
  const unit = (ls: number[]) => ls.some((l) => Math.abs(outC.get(l) ?? 0) === 1);
  const lanes = (ls: number[]) => unit(ls) && size(ls) >= 32;
  const swap = lanes(mLoops) !== lanes(nLoops) ? lanes(mLoops) : size(mLoops) > size(nLoops);
  if (swap) {
    [a, b, sa, sb, mLoops, nLoops] = [b, a, sb, sa, nLoops, mLoops];
  }
  const parts = (c: number, m: Map<number, number>, rows: number[], inner: number[]) => ({
    c,
    batch: bLoops.map((l) => m.get(l) ?? 0),
    rows: rows.map((l) => m.get(l) ?? 0),
    inner: inner.map((l) => m.get(l) ?? 0),
  });
  const split = (x: Index, rows: number[]) => {
    const m = coefs(x);
    return m === undefined ? undefined : parts(x.c, m, rows, reds);
  };
  const operand = (t: Traced, s: NonNullable<typeof sa>, rows: number[]): GemmOperand => ({
    buffer: t.buffer,
    index: parts(t.index.c, s.index, rows, reds),
    conds: t.conds.map((c, i) => ({
      index: parts(c.index.c, s.conds[i], rows, reds),
      lo: c.lo,
      hi: c.hi,
    })),
    expr: t.expr === undefined ? undefined : {
      root: t.expr.root,
      values: t.expr.values,
      reads: Object.fromEntries(t.expr.values.flatMap((i) => {
        const v = k.values[i];
        if (v.op !== "load" && v.op !== "guard") return [];
        return [[i, {
          index: v.op === "load" ? split(v.index, rows) : undefined,
          conds: v.valid.map((c) => {
            const x = split(c.index, rows);
            return x && { index: x, lo: c.lo, hi: c.hi };
          }),
        }]];
      })),
    },
  });
  const extents = (ls: number[]) => ls.map((l) => k.loops[l].extent);
  return {
    batch: extents(bLoops),
    m: extents(mLoops),
    n: extents(nLoops),
    k: extents(reds),
    a: operand(a, sa, mLoops),
    b: operand(b, sb, nLoops),
    out: { buffer: k.out.buffer, index: parts(k.out.index.c, outC, mLoops, nLoops) },
    loops: { batch: bLoops, m: mLoops, n: nLoops, k: reds },
  };
}
