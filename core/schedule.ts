/**
 * The fusion scheduler: turns a {@link Program} into a list of backend-neutral kernels.
 *
 * A kernel is one loop nest that computes one materialized node. Program outputs, inputs and
 * reductions are materialized (they own buffers); every other node — elementwise ops, casts,
 * `detach` and movement ops — is inlined into each kernel that reads it. Movement ops never copy:
 * they compose into index expressions ({@link Index}), and `pad` adds validity conditions
 * (the value is 0 outside). One exception keeps matmul-like reductions honest: a non-trivial
 * elementwise value that a reduction reads through an `expand` over an output loop while varying
 * along a reduction loop would be recomputed once per output element, so it is materialized.
 *
 * Independent reductions over the same loops that read a common buffer (a mean and a mean of
 * squares, a sum and a max, the per-channel sums of a norm's backward) are fused into one kernel
 * with several outputs: one pass over the loops, each output with its own accumulator, updated in
 * the same order as alone (so fusion changes no value).
 *
 * Renderers (JavaScript today, WGSL next) consume {@link Kernel}s: loop extents with output
 * loops first (row-major over the output) and reduction loops after them, an SSA list of values
 * (loads with index expressions and validity conditions, constants, ALU ops), the set of loops
 * each value depends on (to hoist invariants), the reduce op and the store.
 *
 * @example Print the schedule of a small program
 * ```ts
 * import { Tensor } from "./tensor.ts";
 * import { lower } from "./program.ts";
 * import { formatSchedule, schedule } from "./schedule.ts";
 * const x = Tensor.rand([4, 8]);
 * const y = x.exp().mul(2).sum(1).add(1);
 * const { program } = lower([y.node], (n) => n.op === "buffer");
 * console.log(formatSchedule(schedule(program))); // two kernels: the sum, then the +1
 * ```
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import {
  BINARY_OPS,
  type BinaryOp,
  MOVEMENT_OPS,
  type OpAttrs,
  UNARY_OPS,
  type UnaryOp,
} from "./ir.ts";
import type { Program, ProgramNode } from "./program.ts";
import { contiguousStrides, numel } from "./shape.ts";
import {
  add,
  constIndex,
  div,
  fmtIndex,
  type Index,
  linearCoef,
  loopsOf,
  loopVar,
  mod,
  offset,
  scale,
  simplifyUnder,
  substitute,
} from "./symbolic.ts";

/** An ALU operation of a kernel value: the IR's elementwise ops, `where` and `cast`. */
export type AluOp = UnaryOp | BinaryOp | "where" | "cast";

/** `lo <= index < hi`: the condition under which a padded view reads real data. */
export interface Cond {
  /** The index expression (over the kernel's loop variables). */
  readonly index: Index;
  /** Inclusive lower bound. */
  readonly lo: number;
  /** Exclusive upper bound. */
  readonly hi: number;
}

/** One SSA value of a kernel; `args` refer to earlier values of the same kernel. */
export type KernelValue =
  & {
    /** Element type of the value. */
    readonly dtype: DType;
    /** Loop variables (kernel loop numbers, sorted) this value depends on. */
    readonly deps: readonly number[];
  }
  & (
    | {
      /** Reads `buffer[index]`, or 0 when some condition of `valid` fails. */
      readonly op: "load";
      readonly buffer: number;
      readonly index: Index;
      readonly valid: readonly Cond[];
    }
    | { readonly op: "const"; readonly value: number }
    | {
      /** An elementwise operation (`cast` converts `args[0]` to `dtype`). */
      readonly op: "alu";
      readonly alu: AluOp;
      readonly args: readonly number[];
    }
    | {
      /** `args[0]` when every condition holds, else 0 (the outside of a `pad`). */
      readonly op: "guard";
      readonly valid: readonly Cond[];
      readonly args: readonly number[];
    }
  );

/** One loop of a kernel. */
export interface KernelLoop {
  /** Number of iterations. */
  readonly extent: number;
  /** Whether the loop is reduced over (reduction loops come after all output loops). */
  readonly reduce: boolean;
}

/** A further output of a multi-output kernel (see {@link Kernel.extra}). */
export interface KernelOutput {
  /** The value that is reduced and stored. */
  readonly result: number;
  /** Destination buffer. */
  readonly buffer: number;
  /** Store index over the output loops. */
  readonly index: Index;
  /** Element type of the stored value. */
  readonly dtype: DType;
  /** How this output combines over the reduction loops; undefined without reduction loops. */
  readonly reduceOp: "sum" | "max" | undefined;
}

/**
 * One loop nest: for every point of the output loops, combine `values[result]` over the
 * reduction loops with `reduceOp` (when there are any) and store it at `out.index`; the same
 * for every output of `extra` (fused reductions over the same loops).
 */
export interface Kernel {
  /** Position in the schedule. */
  readonly id: number;
  /** Loops: output loops first (row-major over the output), then reduction loops. */
  readonly loops: readonly KernelLoop[];
  /** How values combine over the reduction loops; undefined without reduction loops. */
  readonly reduceOp: "sum" | "max" | undefined;
  /** SSA values in dependency order. */
  readonly values: readonly KernelValue[];
  /** The value that is reduced and stored. */
  readonly result: number;
  /** Where the result goes: a buffer and an index over the output loops. */
  readonly out: { readonly buffer: number; readonly index: Index; readonly dtype: DType };
  /** Further outputs computed in the same loop nest (empty for most kernels). */
  readonly extra: readonly KernelOutput[];
  /** Buffers this kernel loads from (sorted, without the output). */
  readonly reads: readonly number[];
  /** Program nodes fused into this kernel (the materialized one last). */
  readonly nodes: readonly number[];
}

/** Every output of `k`: the first (`result`, `out`, `reduceOp`), then `extra`. */
export function kernelOutputs(k: Kernel): KernelOutput[] {
  return [{ result: k.result, ...k.out, reduceOp: k.reduceOp }, ...k.extra];
}

/**
 * The single-output kernel computing output `o` of `k` (for renderers without multi-output
 * support); values other outputs need are left dead (see {@link usedValues}).
 */
export function singleOutput(k: Kernel, o: KernelOutput): Kernel {
  const { result, reduceOp, buffer, index, dtype } = o;
  return { ...k, result, reduceOp, out: { buffer, index, dtype }, extra: [] };
}

/**
 * Indices of the values the results of `k` depend on, themselves included. Values left dead (by pads folded
 * into guards) are not in it, so renderers neither compute them nor bind what they load.
 */
export function usedValues(k: Kernel): Set<number> {
  const used = new Set<number>();
  const mark = (i: number) => {
    if (used.has(i)) return;
    used.add(i);
    const v = k.values[i];
    if (v.op === "alu" || v.op === "guard") v.args.forEach(mark);
  };
  mark(k.result);
  for (const o of k.extra) mark(o.result);
  return used;
}

/**
 * Whether `k` stores to every element of its output buffer of `size` elements: its store index
 * is a mixed-radix numbering of its output loops onto `[0, size)` (so a backend may hand it a
 * buffer with stale contents).
 */
export function coversOutput(
  k: Kernel,
  size: number,
  out: { readonly index: Index } = k.out,
): boolean {
  const index = out.index;
  if (index.c !== 0) return false;
  const terms: { coef: number; extent: number }[] = [];
  for (const t of index.terms) {
    if (t.atom.kind !== "loop" || k.loops[t.atom.loop].reduce) return false;
    terms.push({ coef: t.coef, extent: t.atom.extent });
  }
  const outputLoops = k.loops.filter((l) => !l.reduce && l.extent > 1).length;
  if (terms.length !== outputLoops) return false;
  terms.sort((a, b) => a.coef - b.coef);
  let stride = 1;
  for (const t of terms) {
    if (t.coef !== stride) return false;
    stride *= t.extent;
  }
  return stride === size;
}

/** A buffer of a schedule. */
export interface ScheduleBuffer {
  /** Where it comes from: a program input slot, a program output position, or a temporary. */
  readonly role:
    | { readonly kind: "input"; readonly slot: number }
    | { readonly kind: "output"; readonly position: number }
    | { readonly kind: "temp" };
  /** The program node it holds. */
  readonly node: number;
  /** Element type. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Index of the last kernel that reads it (-1 if none); temporaries die after it. */
  readonly lastUse: number;
}

/** Kernels in execution order and the buffers they use. */
export interface Schedule {
  /** All buffers; kernels refer to them by index. */
  readonly buffers: readonly ScheduleBuffer[];
  /** Kernels in execution order. */
  readonly kernels: readonly Kernel[];
}

const MOVEMENT = new Set<string>(MOVEMENT_OPS);
const ELEMENTWISE = new Set<string>([...UNARY_OPS, ...BINARY_OPS, "where", "cast"]);

function isReduce(n: ProgramNode): boolean {
  return n.op === "reduce_sum" || n.op === "reduce_max";
}

function condKey(c: Cond): string {
  return `${c.lo}<=${c.index.key}<${c.hi}`;
}

/** Drops always-true conditions; returns undefined when one is always false. */
function simplifyConds(conds: readonly Cond[]): Cond[] | undefined {
  const out = new Map<string, Cond>();
  for (const c of conds) {
    if (c.index.max < c.lo || c.index.min >= c.hi) return undefined;
    if (c.index.min >= c.lo && c.index.max < c.hi) continue;
    out.set(condKey(c), c);
  }
  return [...out.values()].sort((a, b) => (condKey(a) < condKey(b) ? -1 : 1));
}

function condsDeps(conds: readonly Cond[]): number[] {
  return conds.flatMap((c) => loopsOf(c.index));
}

function mergeDeps(lists: readonly (readonly number[])[]): number[] {
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}

/** Builds the values of one kernel by inlining the graph below its root. */
class KernelBuilder {
  readonly values: KernelValue[] = [];
  readonly nodes = new Set<number>();
  readonly requests = new Set<number>();
  #byKey = new Map<string, number>();
  #memo = new Map<string, number>();

  constructor(
    readonly program: Program,
    readonly bufferOf: ReadonlyMap<number, number>,
    readonly loops: readonly KernelLoop[],
    readonly materialized: ReadonlySet<number>,
  ) {}

  #push(key: string, v: KernelValue): number {
    const hit = this.#byKey.get(key);
    if (hit !== undefined) return hit;
    this.values.push(v);
    this.#byKey.set(key, this.values.length - 1);
    return this.values.length - 1;
  }

  constant(value: number, dtype: DType): number {
    return this.#push(`c|${dtype}|${Object.is(value, -0) ? "-0" : value}`, {
      op: "const",
      value,
      dtype,
      deps: [],
    });
  }

  alu(alu: AluOp, args: number[], dtype: DType): number {
    const deps = mergeDeps(args.map((a) => this.values[a].deps));
    return this.#push(`a|${alu}|${dtype}|${args.join(",")}`, { op: "alu", alu, args, dtype, deps });
  }

  load(buffer: number, index: Index, valid: Cond[], dtype: DType): number {
    const deps = mergeDeps([loopsOf(index), condsDeps(valid)]);
    const key = `l|${buffer}|${index.key}|${valid.map(condKey).join("&")}`;
    return this.#push(key, { op: "load", buffer, index, valid, dtype, deps });
  }

  guard(valid: Cond[], arg: number, dtype: DType): number {
    const inner = this.values[arg];
    if (valid.length === 0) return arg;
    if (inner.op === "const" && inner.value === 0) return arg;
    if (inner.op === "load" || inner.op === "guard") {
      const have = new Set(inner.valid.map(condKey));
      if (valid.every((c) => have.has(condKey(c)))) return arg;
    }
    const deps = mergeDeps([inner.deps, condsDeps(valid)]);
    const key = `g|${arg}|${valid.map(condKey).join("&")}`;
    return this.#push(key, { op: "guard", valid, args: [arg], dtype, deps });
  }

  /** The value of program node `id` at multi-index `idx`, reading loads under `valid`. */
  emit(id: number, idx: readonly Index[], valid: readonly Cond[], root = false): number {
    const memoKey = `${id}|${idx.map((i) => i.key).join(";")}|${valid.map(condKey).join("&")}`;
    const hit = this.#memo.get(memoKey);
    if (hit !== undefined) return hit;
    const v = this.#emit(id, idx, valid, root);
    this.#memo.set(memoKey, v);
    return v;
  }

  #emit(id: number, idx: readonly Index[], valid: readonly Cond[], root: boolean): number {
    const n = this.program.nodes[id];
    if (!root && this.materialized.has(id)) {
      const strides = contiguousStrides(n.shape);
      let flat = constIndex(0);
      idx.forEach((i, d) => (flat = add(flat, scale(i, n.shape[d] === 1 ? 0 : strides[d]))));
      // The read happens only where `valid` holds: its div/mod may cancel there.
      return this.load(this.bufferOf.get(id)!, simplifyUnder(flat, valid), [...valid], n.dtype);
    }
    this.nodes.add(id);
    const input = (k: number, at: readonly Index[] = idx, v: readonly Cond[] = valid) =>
      this.emit(n.inputs[k], at, v);
    switch (n.op) {
      case "const":
        return this.constant((n.attrs as OpAttrs["const"]).value, n.dtype);
      case "input":
        throw new Error(`schedule: input node ${id} has no buffer`);
      case "detach":
        return input(0);
      case "reduce_sum":
      case "reduce_max":
        throw new Error(`schedule: reduction node ${id} must be materialized`);
      case "reshape":
        return input(0, reshapeIndex(idx, n.shape, this.#shapeOf(n.inputs[0])));
      case "permute": {
        const perm = (n.attrs as OpAttrs["permute"]).perm;
        const at = new Array<Index>(idx.length);
        perm.forEach((p, i) => (at[p] = idx[i]));
        return input(0, at);
      }
      case "expand": {
        const inShape = this.#shapeOf(n.inputs[0]);
        const at = idx.map((i, d) => (inShape[d] === 1 ? constIndex(0) : i));
        this.#checkExpandedRecompute(n, idx, at);
        return input(0, at);
      }
      case "slice": {
        const { starts, steps } = n.attrs as OpAttrs["slice"];
        return input(0, idx.map((i, d) => offset(scale(i, steps[d]), starts[d])));
      }
      case "pad": {
        const pads = (n.attrs as OpAttrs["pad"]).pads;
        const inShape = this.#shapeOf(n.inputs[0]);
        const at = idx.map((i, d) => offset(i, -pads[d][0]));
        const conds = simplifyConds(
          at.flatMap((i, d) =>
            pads[d][0] === 0 && pads[d][1] === 0 ? [] : [{ index: i, lo: 0, hi: inShape[d] }]
          ),
        );
        if (conds === undefined) return this.constant(0, n.dtype);
        const inner = input(0, at, simplifyConds([...valid, ...conds])!);
        return this.guard(conds, inner, n.dtype);
      }
      default: {
        if (!ELEMENTWISE.has(n.op)) throw new Error(`schedule: unsupported op ${n.op}`);
        const args = n.inputs.map((_, k) => input(k));
        return this.alu(n.op as AluOp, args, n.dtype);
      }
    }
  }

  #shapeOf(id: number): readonly number[] {
    return this.program.nodes[id].shape;
  }

  /**
   * Inside a reduction, an elementwise value broadcast along an output loop but varying along a
   * reduction loop is recomputed for every output element (exp(A) in a matmul): ask for it to be
   * materialized instead.
   */
  #checkExpandedRecompute(n: ProgramNode, idx: readonly Index[], at: readonly Index[]): void {
    const reduceLoops = new Set(this.loops.flatMap((l, i) => (l.reduce ? [i] : [])));
    if (reduceLoops.size === 0) return;
    const inShape = this.#shapeOf(n.inputs[0]);
    const dropsOutputLoop = idx.some((i, d) =>
      inShape[d] === 1 && n.shape[d] > 1 && loopsOf(i).some((l) => !reduceLoops.has(l))
    );
    const variesOnReduce = at.some((i) => loopsOf(i).some((l) => reduceLoops.has(l)));
    if (!dropsOutputLoop || !variesOnReduce) return;
    let y = n.inputs[0];
    while (MOVEMENT.has(this.program.nodes[y].op) && !this.materialized.has(y)) {
      y = this.program.nodes[y].inputs[0];
    }
    const op = this.program.nodes[y].op;
    if (!this.materialized.has(y) && ELEMENTWISE.has(op) && op !== "cast") this.requests.add(y);
  }
}

/** The input multi-index of a reshape from `inShape` to `outShape`, given the output one. */
function reshapeIndex(
  idx: readonly Index[],
  outShape: readonly number[],
  inShape: readonly number[],
): Index[] {
  const outStrides = contiguousStrides(outShape);
  let flat = constIndex(0);
  idx.forEach((i, d) => (flat = add(flat, scale(i, outShape[d] === 1 ? 0 : outStrides[d]))));
  const inStrides = contiguousStrides(inShape);
  return inShape.map((dim, d) => {
    if (dim === 1) return constIndex(0);
    const q = div(flat, inStrides[d]);
    return d === 0 ? q : mod(q, dim);
  });
}

/** The loops of the kernel computing `n`, and the multi-index of its (reduction) input. */
function kernelShape(
  program: Program,
  n: ProgramNode,
): { loops: KernelLoop[]; inIdx: Index[]; outIdx: Index } {
  const loops: KernelLoop[] = [];
  if (isReduce(n)) {
    const inShape = program.nodes[n.inputs[0]].shape;
    const axes = new Set((n.attrs as OpAttrs["reduce_sum"]).axes);
    const loopOf = new Array<number>(inShape.length).fill(-1);
    const emptyReduce = axes.size > 0 && [...axes].some((a) => inShape[a] === 0);
    for (const pass of [false, true]) {
      inShape.forEach((d, a) => {
        if (axes.has(a) !== pass || d === 1 || (pass && emptyReduce)) return;
        loopOf[a] = loops.length;
        loops.push({ extent: d, reduce: pass });
      });
    }
    const inIdx = inShape.map((d, a) => (loopOf[a] < 0 ? constIndex(0) : loopVar(loopOf[a], d)));
    const strides = contiguousStrides(n.shape);
    let outIdx = constIndex(0);
    inIdx.forEach((i, a) => (outIdx = add(outIdx, scale(i, axes.has(a) ? 0 : strides[a]))));
    return { loops, inIdx, outIdx };
  }
  const strides = contiguousStrides(n.shape);
  const inIdx = n.shape.map((d) => {
    if (d === 1) return constIndex(0);
    loops.push({ extent: d, reduce: false });
    return loopVar(loops.length - 1, d);
  });
  let outIdx = constIndex(0);
  inIdx.forEach((i, a) => (outIdx = add(outIdx, scale(i, strides[a]))));
  return { loops, inIdx, outIdx };
}

/**
 * Merges adjacent loops of the same kind wherever every index expression uses them as one
 * contiguous range (`coef(l) = coef(l+1) · extent(l+1)`), so elementwise kernels over
 * contiguous data become a single flat loop.
 */
function mergeLoops(k: Kernel): Kernel {
  let kernel = k;
  for (let l = 0; l + 1 < kernel.loops.length;) {
    const a = kernel.loops[l], b = kernel.loops[l + 1];
    const exprs = kernelIndexes(kernel);
    const ok = a.reduce === b.reduce && exprs.every((e) => {
      const ca = linearCoef(e, l), cb = linearCoef(e, l + 1);
      return ca !== undefined && cb !== undefined && ca === cb * b.extent;
    });
    if (ok) kernel = renumber(kernel, l, a.extent * b.extent);
    else l++;
  }
  return kernel;
}

function kernelIndexes(k: Kernel): Index[] {
  const out: Index[] = [k.out.index, ...k.extra.map((o) => o.index)];
  for (const v of k.values) {
    if (v.op === "load") out.push(v.index);
    if (v.op === "load" || v.op === "guard") out.push(...v.valid.map((c) => c.index));
  }
  return out;
}

/** Replaces loops `l` and `l+1` by one loop of extent `extent` (numbered `l`). */
function renumber(k: Kernel, l: number, extent: number): Kernel {
  // Mergeable loops appear only as plain terms with coef(l) = coef(l+1)·extent(l+1), so
  // L_l -> 0, L_{l+1} -> merged loop and later loops shift down by one.
  const rewrite = (x: Index): Index =>
    substitute(x, (m) => {
      if (m < l) return undefined;
      if (m === l) return constIndex(0);
      if (m === l + 1) return loopVar(l, extent);
      return loopVar(m - 1, k.loops[m].extent);
    });
  const rewriteConds = (cs: readonly Cond[]) => cs.map((c) => ({ ...c, index: rewrite(c.index) }));
  const deps = (ds: readonly number[]) => [...new Set(ds.map((d) => (d > l ? d - 1 : d)))];
  const values = k.values.map((v): KernelValue => {
    if (v.op === "load") {
      return {
        ...v,
        deps: deps(v.deps),
        index: rewrite(v.index),
        valid: rewriteConds(v.valid),
      };
    }
    if (v.op === "guard") return { ...v, deps: deps(v.deps), valid: rewriteConds(v.valid) };
    return { ...v, deps: deps(v.deps) } as KernelValue;
  });
  const loops = [...k.loops.slice(0, l), { ...k.loops[l], extent }, ...k.loops.slice(l + 2)];
  const out = { ...k.out, index: rewrite(k.out.index) };
  const extra = k.extra.map((o) => ({ ...o, index: rewrite(o.index) }));
  return { ...k, loops, values, out, extra };
}

/**
 * Outputs that are only a reshape (or `detach`) of another materialized node share its buffer:
 * row-major order is unchanged, so the inner node's kernel stores straight into the output.
 * Returns inner node -> output node.
 */
function outputAliases(program: Program, materialized: ReadonlySet<number>): Map<number, number> {
  const outputs = new Set(program.outputs);
  const aliases = new Map<number, number>();
  for (const o of program.outputs) {
    let inner = o;
    while (["reshape", "detach"].includes(program.nodes[inner].op)) {
      inner = program.nodes[inner].inputs[0];
    }
    const n = program.nodes[inner];
    if (
      inner !== o && materialized.has(inner) && !outputs.has(inner) && !aliases.has(inner) &&
      n.op !== "input" && n.dtype === program.nodes[o].dtype
    ) aliases.set(inner, o);
  }
  return aliases;
}

/** Schedules `program` into kernels. */
export function schedule(program: Program): Schedule {
  const materialized = new Set<number>([...program.inputs, ...program.outputs]);
  program.nodes.forEach((n, i) => isReduce(n) && materialized.add(i));
  for (;;) {
    const { result, requests } = build(program, materialized);
    const fresh = [...requests].filter((r) => !materialized.has(r));
    if (fresh.length === 0) return result;
    for (const r of fresh) materialized.add(r);
  }
}

function build(
  program: Program,
  materialized: ReadonlySet<number>,
): { result: Schedule; requests: Set<number> } {
  const outputPos = new Map(program.outputs.map((o, p) => [o, p]));
  const aliases = outputAliases(program, materialized);
  const order = [...materialized].filter((id) => !aliases.has(id)).sort((a, b) => a - b);
  const bufferOf = new Map<number, number>();
  order.forEach((id, b) => bufferOf.set(id, b));
  for (const [inner, out] of aliases) bufferOf.set(inner, bufferOf.get(out)!);
  const computedBy = new Map([...aliases].map(([inner, out]) => [out, inner]));
  const requests = new Set<number>();
  const emitKernel = (ids: readonly number[]): Kernel => {
    const first = program.nodes[ids[0]];
    const { loops, inIdx } = kernelShape(program, first);
    const builder = new KernelBuilder(program, bufferOf, loops, materialized);
    const hasReduceLoops = loops.some((l) => l.reduce);
    const outs = ids.map((id): KernelOutput => {
      const n = program.nodes[id];
      const reduce = isReduce(n);
      let result = builder.emit(reduce ? n.inputs[0] : id, inIdx, [], !reduce);
      if (reduce && !hasReduceLoops) result = builder.constant(0, n.dtype); // empty sum
      builder.nodes.add(id);
      builder.nodes.add(computes.get(id)!);
      const { outIdx } = kernelShape(program, n);
      const reduceOp = hasReduceLoops ? (n.op === "reduce_max" ? "max" : "sum") : undefined;
      return { result, buffer: bufferOf.get(id)!, index: outIdx, dtype: n.dtype, reduceOp };
    });
    for (const r of builder.requests) requests.add(r);
    const reads = [
      ...new Set(builder.values.flatMap((v) => (v.op === "load" ? [v.buffer] : []))),
    ].sort((a, b) => a - b);
    const [{ result, buffer, index, dtype, reduceOp }, ...extra] = outs;
    return mergeLoops({
      id: kernels.length,
      loops,
      reduceOp,
      values: builder.values,
      result,
      out: { buffer, index, dtype },
      extra,
      reads,
      nodes: [...builder.nodes].sort((a, b) => a - b),
    });
  };
  // Computed node -> the target (output) node whose buffer it fills.
  const computes = new Map<number, number>();
  let kernels: Kernel[] = [];
  const computedIds: number[] = [];
  for (const target of order) {
    const id = computedBy.get(target) ?? target;
    const n = program.nodes[id];
    if (n.op === "input" || numel(n.shape) === 0) continue;
    computes.set(id, target);
    kernels.push(emitKernel([id]));
    computedIds.push(id);
  }
  // Drop kernels whose temporaries nobody reads (their readers folded them away).
  const isOutput = (b: number) => outputPos.has(order[b]);
  for (let changed = true; changed;) {
    changed = false;
    const read = new Set(kernels.flatMap((k) => k.reads));
    const keep = kernels.map((k) => isOutput(k.out.buffer) || read.has(k.out.buffer));
    if (keep.includes(false)) {
      kernels = kernels.filter((_, i) => keep[i]);
      computedIds.splice(0, computedIds.length, ...computedIds.filter((_, i) => keep[i]));
      changed = true;
    }
  }
  kernels = fuseReductions(program, kernels, computedIds, emitKernel);
  kernels = kernels.map((k, i) => ({ ...k, id: i }));
  const lastUse = new Map<number, number>();
  kernels.forEach((k, i) => k.reads.forEach((b) => lastUse.set(b, i)));
  const buffers = order.map((id, b): ScheduleBuffer => {
    const n = program.nodes[id];
    const role: ScheduleBuffer["role"] = n.op === "input"
      ? { kind: "input", slot: (n.attrs as { slot: number }).slot }
      : outputPos.has(id)
      ? { kind: "output", position: outputPos.get(id)! }
      : { kind: "temp" };
    return { role, node: id, dtype: n.dtype, size: numel(n.shape), lastUse: lastUse.get(b) ?? -1 };
  });
  return { result: { buffers, kernels }, requests };
}

/** Loops of the kernel of reduction `n`, as a key: its input shape and reduced axes. */
function reductionKey(program: Program, n: ProgramNode): string | undefined {
  if (!isReduce(n)) return undefined;
  const inShape = program.nodes[n.inputs[0]].shape;
  const axes = (n.attrs as OpAttrs["reduce_sum"]).axes;
  // Without reduction loops (size-1 or empty reduced axes) there is nothing to share.
  if (!axes.some((a) => inShape[a] > 1) || axes.some((a) => inShape[a] === 0)) return undefined;
  return `${inShape.join(",")}|${[...axes].sort((a, b) => a - b).join(",")}`;
}

/**
 * Whether `k` sums a product whose two factors vary over different output loops (a matmul or a
 * convolution, not a per-channel dot product): backends run those as blocked matrix products,
 * which a multi-output kernel would hide.
 */
function isContraction(k: Kernel): boolean {
  const r = k.values[k.result];
  if (k.reduceOp !== "sum" || r.op !== "alu" || r.alu !== "mul") return false;
  const [a, b] = r.args.map((i) => k.values[i].deps);
  const reduced = (d: readonly number[]) => d.some((l) => k.loops[l].reduce);
  const outer = (d: readonly number[]) => d.filter((l) => !k.loops[l].reduce).join(",");
  return reduced(a) && reduced(b) && outer(a) !== outer(b);
}

/**
 * Fuses reductions with the same loops that read a common buffer into multi-output kernels.
 * A group runs at the position of one of its members (its first or its last), where every
 * buffer its members read is already written and every kernel reading their outputs comes
 * later; members never read each other. `computed[i]` is the node kernel `i` computes.
 */
function fuseReductions(
  program: Program,
  kernels: readonly Kernel[],
  computed: readonly number[],
  emit: (ids: readonly number[]) => Kernel,
): Kernel[] {
  const writer = new Map<number, number>();
  const readers = new Map<number, number[]>();
  kernels.forEach((k, i) => {
    writer.set(k.out.buffer, i);
    for (const b of k.reads) readers.set(b, [...(readers.get(b) ?? []), i]);
  });
  const groups: { key: string; members: number[]; at: number; reads: Set<number> }[] = [];
  const groupOf = new Map<number, (typeof groups)[number]>();
  // Where kernel `i` runs: at its group's position once it has joined one (a group may run at
  // its last member's position, after kernels that come later in the list).
  const position = (i: number) => groupOf.get(i)?.at ?? i;
  const valid = (members: readonly number[], at: number): boolean => {
    const set = new Set(members);
    return members.every((m) => {
      const k = kernels[m];
      const inputsReady = k.reads.every((b) => {
        const w = writer.get(b);
        return w === undefined || w === m || (!set.has(w) && position(w) < at);
      });
      const readersLater = (readers.get(k.out.buffer) ?? []).every((q) =>
        !set.has(q) && position(q) > at
      );
      return inputsReady && readersLater;
    });
  };
  kernels.forEach((k, j) => {
    const key = reductionKey(program, program.nodes[computed[j]]);
    if (key === undefined || isContraction(k)) return;
    for (let g = groups.length - 1; g >= 0; g--) {
      const group = groups[g];
      if (group.key !== key || !k.reads.some((b) => group.reads.has(b))) continue;
      const members = [...group.members, j];
      const at = [group.at, j].find((p) => valid(members, p));
      if (at === undefined) continue;
      group.members.push(j);
      group.at = at;
      k.reads.forEach((b) => group.reads.add(b));
      groupOf.set(j, group);
      return;
    }
    const group = { key, members: [j], at: j, reads: new Set(k.reads) };
    groups.push(group);
    groupOf.set(j, group);
  });
  return kernels.flatMap((k, i) => {
    const group = groupOf.get(i);
    if (group === undefined || group.members.length === 1) return [k];
    return group.at === i ? [emit(group.members.map((m) => computed[m]))] : [];
  });
}

function fmtValue(v: KernelValue, i: number): string {
  const conds = (cs: readonly Cond[]) =>
    cs.length ? ` if ${cs.map((c) => `${c.lo}<=${fmtIndex(c.index)}<${c.hi}`).join(" && ")}` : "";
  switch (v.op) {
    case "load":
      return `v${i} = buf${v.buffer}[${fmtIndex(v.index)}]${conds(v.valid)}`;
    case "const":
      return `v${i} = ${v.value}`;
    case "alu":
      return `v${i} = ${v.alu}(${v.args.map((a) => `v${a}`).join(", ")})`;
    case "guard":
      return `v${i} = v${v.args[0]}${conds(v.valid)} else 0`;
  }
}

/**
 * A readable listing of a schedule: per kernel, its loops, the program nodes fused into it, the
 * buffers it reads and writes, and (with `verbose`) its values.
 */
export function formatSchedule(s: Schedule, verbose = false): string {
  const bufName = (b: number) => {
    const r = s.buffers[b].role;
    return r.kind === "input" ? `in${r.slot}` : r.kind === "output" ? `out${r.position}` : `t${b}`;
  };
  const lines: string[] = [];
  for (const k of s.kernels) {
    const loops = k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`).join("×") || "1";
    const reads = k.reads.map(bufName).join(", ");
    const red = k.reduceOp ? ` ${k.reduceOp}` : "";
    const outs = kernelOutputs(k);
    const extraOps = k.extra.some((o) => o.reduceOp !== k.reduceOp)
      ? `,${k.extra.map((o) => o.reduceOp).join(",")}`
      : "";
    lines.push(
      `k${k.id}${red}${extraOps} [${loops}] nodes ${k.nodes.join(",")} : ${reads || "-"} -> ${
        outs.map((o) => bufName(o.buffer)).join(", ")
      }`,
    );
    if (verbose) {
      k.values.forEach((v, i) => lines.push(`    ${fmtValue(v, i)}`));
      for (const o of outs) {
        lines.push(`    ${bufName(o.buffer)}[${fmtIndex(o.index)}] = v${o.result}`);
      }
    }
  }
  return lines.join("\n");
}
