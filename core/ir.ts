/**
 * The graph IR: immutable, hash-consed nodes over a small set of primitive ops.
 *
 * Every node is built through the checked constructors below, which infer the result shape and
 * dtype and throw at once, naming the op, the shapes or dtypes and what was expected. Building a
 * structurally equal node twice returns the same object, so common subexpressions are shared.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import { castScalar, checkDtype, isFloat } from "./dtype.ts";
import { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp } from "./elementwise_ops.ts";
import { binaryScalar, unaryScalar } from "./scalar_ops.ts";
import { checkShape, fmtShape, numel, type Shape, shapesEqual } from "./shape.ts";

export { BINARY_OPS, type BinaryOp, UNARY_OPS, type UnaryOp };

/** Reductions over a set of axes; the reduced axes keep extent 1. */
export const REDUCE_OPS = ["reduce_sum", "reduce_max"] as const;
/** A reduction op. */
export type ReduceOp = typeof REDUCE_OPS[number];

/** Movement ops: they change how elements are indexed, never their values. */
export const MOVEMENT_OPS = [
  "reshape",
  "permute",
  "expand",
  "pad",
  "slice",
] as const;
/** A movement op. */
export type MovementOp = typeof MOVEMENT_OPS[number];

/** A realized buffer a leaf node refers to; storage management lives in `realize.ts`. */
export interface BufferRef {
  /** Unique, never reused identifier. */
  readonly id: number;
}

/** Attributes that no op of this kind carries. */
export type NoAttrs = Record<never, never>;

/** The attributes of every op, by op name. Adding an op here requires a VJP rule and an evaluator. */
export interface OpAttrs {
  /** A leaf holding realized data. */
  buffer: { readonly ref: BufferRef };
  /** A leaf whose every element is `value`. */
  const: { readonly value: number };
  /** `-x`. */
  neg: NoAttrs;
  /** `e^x`. */
  exp: NoAttrs;
  /** Natural logarithm. */
  log: NoAttrs;
  /** Square root. */
  sqrt: NoAttrs;
  /** `1 / x`. */
  recip: NoAttrs;
  /** Sine. */
  sin: NoAttrs;
  /** `1 / (1 + e^-x)`. */
  sigmoid: NoAttrs;
  /** Hyperbolic tangent. */
  tanh: NoAttrs;
  /** The largest integer `<= x` (floats only). */
  floor: NoAttrs;
  /** The nearest integer, ties to even (floats only). */
  round: NoAttrs;
  /** `a + b`. */
  add: NoAttrs;
  /** `a · b`. */
  mul: NoAttrs;
  /** Elementwise maximum. */
  max: NoAttrs;
  /** `a < b` (bool result). */
  cmplt: NoAttrs;
  /** `a == b` (bool result). */
  cmpeq: NoAttrs;
  /** `a` raised to `b`, with C's (and PyTorch's) special cases: `x^0 = 1^y = 1`. */
  pow: NoAttrs;
  /**
   * `floor(a / b)` as PyTorch's `floor_divide`: for floats from the exact `fmod` (IEEE results
   * for `b = 0`); for int32 exact integer floor division, 0 where `b = 0`, wrapping for
   * `-2^31 / -1`.
   */
  floor_div: NoAttrs;
  /** C's `fmod`: the remainder of truncated division, sign of `a` (int32: 0 where `b = 0`). */
  fmod: NoAttrs;
  /** `where(cond, a, b)`: `a` where `cond` is true, else `b`. */
  where: NoAttrs;
  /** Converts to the node's dtype. */
  cast: NoAttrs;
  /** The identity on values whose gradient is zero (`stop_gradient`). */
  detach: NoAttrs;
  /** Sum over `axes` (kept with extent 1). */
  reduce_sum: { readonly axes: readonly number[] };
  /** Maximum over `axes` (kept with extent 1). */
  reduce_max: { readonly axes: readonly number[] };
  /** Reinterprets the row-major element order under the node's shape. */
  reshape: NoAttrs;
  /** Output axis `i` is input axis `perm[i]`. */
  permute: { readonly perm: readonly number[] };
  /** Repeats extent-1 axes up to the node's shape. */
  expand: NoAttrs;
  /** Adds `pads[i] = [before, after]` zeros around axis `i`. */
  pad: { readonly pads: readonly (readonly [number, number])[] };
  /** Takes `starts[i], starts[i] + steps[i], …` below `stops[i]` along axis `i`. */
  slice: {
    readonly starts: readonly number[];
    readonly stops: readonly number[];
    readonly steps: readonly number[];
  };
}

/** The name of a primitive op. */
export type Op = keyof OpAttrs;

let nextId = 1;
// The hash-consing table is held by the nodes themselves, so it never keeps a graph alive and
// needs no collector callback: a node is listed in the uses of its newest operand (a slot of
// that node; a node keeps its operands alive, so the entry lives as long as it can be found), a
// buffer leaf in those of its storage, and only constants in a table of weak references. Weak
// references and finalizers on every node would keep each step's graph alive until a full
// collection (V8's minor collections keep their targets) and until the running job ends; a
// weak map keyed by every node costs ephemeron work in each collection's marking.
const interned = new Map<string, WeakRef<Node>>();
const leafUses = new WeakMap<BufferRef, Map<string, Node>>();
// Small integer ids of node heads (op, dtype, shape, attributes; a buffer's without its ref).
const heads = new Map<string, number>();
const forget = new FinalizationRegistry<string>((key) => {
  const ref = interned.get(key);
  if (ref !== undefined && ref.deref() === undefined) interned.delete(key);
});

/**
 * Forgets the leaves over `ref` once its data is freed. The table links a storage to its leaves
 * and so to every graph over them, and a realized node to its storage: kept, these links would
 * chain each training step's graph to the next.
 */
export function forgetLeaves(ref: BufferRef): void {
  leafUses.delete(ref);
}

/** The newest operand, whose `uses` list the node; `undefined` for a leaf. */
function owningOperand(inputs: readonly Node[]): Node | undefined {
  let owner: Node | undefined;
  for (const n of inputs) if (owner === undefined || n.id > owner.id) owner = n;
  return owner;
}

/**
 * A key of op attributes (numbers, arrays of them, nested once for `pad`) that keeps -0, NaN and
 * ±Infinity apart, which JSON does not. Attribute names are fixed per op, so values suffice.
 */
function attrsKey(attrs: object): string {
  let key = "";
  for (const name in attrs) key += `${valueKey((attrs as Record<string, unknown>)[name])};`;
  return key;
}

function valueKey(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : `${v}`;
  if (Array.isArray(v)) {
    let key = "[";
    for (const e of v) key += `${valueKey(e)},`;
    return `${key}]`;
  }
  return JSON.stringify(v);
}

/** An immutable graph node. Build nodes with the constructors of this module, never `new`. */
export class Node<K extends Op = Op> {
  /** Creation-ordered unique id (inputs always have smaller ids). */
  readonly id: number;
  /** The primitive op. */
  readonly op: K;
  /** Operand nodes. */
  readonly inputs: readonly Node[];
  /** Result shape. */
  readonly shape: Shape;
  /** Result dtype. */
  readonly dtype: DType;
  /** Op attributes. */
  readonly attrs: OpAttrs[K];
  /** Structural key used for hash-consing: the head id and the operands (a buffer's ref). */
  readonly key: string;
  /**
   * Id of the head (op, dtype, shape, attributes; a buffer's without its ref): nodes with equal
   * heads differ only in their inputs, so lowering compares structure by these small integers.
   */
  readonly head: number;
  /** Nodes whose newest operand this is, by key (the hash-consing table; see `intern`). */
  #uses: Map<string, Node> | undefined = undefined;

  private constructor(
    op: K,
    inputs: readonly Node[],
    shape: Shape,
    dtype: DType,
    attrs: OpAttrs[K],
    key: string,
    head: number,
  ) {
    this.id = nextId++;
    this.op = op;
    this.inputs = Object.freeze([...inputs]);
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.attrs = Object.freeze(attrs) as OpAttrs[K];
    this.key = key;
    this.head = head;
    Object.freeze(this);
  }

  /** Returns the unique node with these fields, creating it if needed. */
  static intern<K extends Op>(
    op: K,
    inputs: readonly Node[],
    shape: Shape,
    dtype: DType,
    attrs: OpAttrs[K],
  ): Node<K> {
    const head = op === "buffer"
      ? `${op}|${dtype}|${shape.join(",")}`
      : `${op}|${dtype}|${shape.join(",")}|${attrsKey(attrs)}`;
    let headId = heads.get(head);
    if (headId === undefined) heads.set(head, headId = heads.size);
    let key = `${headId}|`;
    if (op === "buffer") key += `${(attrs as OpAttrs["buffer"]).ref.id}`;
    else for (const n of inputs) key += `${n.id},`;
    const ref = op === "buffer" ? (attrs as OpAttrs["buffer"]).ref : undefined;
    const owner = ref === undefined ? owningOperand(inputs) : undefined;
    const table = ref !== undefined
      ? leafUses.get(ref)
      : owner === undefined
      ? undefined
      : owner.#uses;
    const hit = ref !== undefined || owner !== undefined
      ? table?.get(key)
      : interned.get(key)?.deref();
    if (hit !== undefined) return hit as Node<K>;
    const node = new Node(op, inputs, shape, dtype, attrs, key, headId);
    if (table !== undefined) table.set(key, node);
    else if (ref !== undefined) leafUses.set(ref, new Map<string, Node>().set(key, node));
    else if (owner !== undefined) owner.#uses = new Map<string, Node>().set(key, node);
    else {
      interned.set(key, new WeakRef(node));
      forget.register(node, key);
    }
    return node;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
}

/**
 * Nodes reachable from `roots`, each after all of its inputs. `inputsOf` says which nodes count
 * as a node's inputs (autodiff routes custom-VJP nodes straight to their declared inputs).
 */
export function toposort(
  roots: readonly Node[],
  inputsOf: (n: Node) => readonly Node[] = (n) => n.inputs,
): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  // Iterative DFS: graphs of long training runs are deeper than the call stack.
  const stack: { node: Node; inputs: readonly Node[]; next: number }[] = [];
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    stack.push({ node: root, inputs: inputsOf(root), next: 0 });
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      if (top.next < top.inputs.length) {
        const child = top.inputs[top.next++];
        if (!seen.has(child)) {
          seen.add(child);
          stack.push({ node: child, inputs: inputsOf(child), next: 0 });
        }
      } else {
        stack.pop();
        order.push(top.node);
      }
    }
  }
  return order;
}

// ---------------------------------------------------------------------------------------------
// Checked constructors.

function requireFloat(op: string, x: Node): void {
  if (!isFloat(x.dtype)) {
    throw new Error(
      `${op}: expected a float32 or float64 operand, got ${x.dtype}${fmtShape(x.shape)}`,
    );
  }
}

function requireNumeric(op: string, x: Node): void {
  if (x.dtype === "bool") {
    throw new Error(
      `${op}: expected a float32, float64 or int32 operand, got bool${fmtShape(x.shape)}`,
    );
  }
}

function requireSameShape(op: string, a: Node, b: Node): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new Error(
      `${op}: operand shapes ${fmtShape(a.shape)} and ${fmtShape(b.shape)} differ; ` +
        `expected equal shapes (broadcast with expand first)`,
    );
  }
}

function requireSameDtype(op: string, a: Node, b: Node): void {
  if (a.dtype !== b.dtype) {
    throw new Error(
      `${op}: operand dtypes ${a.dtype} and ${b.dtype} differ; expected equal dtypes (cast first)`,
    );
  }
}

/** A leaf node holding realized data. */
export function bufferNode(
  ref: BufferRef,
  shape: Shape,
  dtype: DType,
): Node<"buffer"> {
  checkShape("buffer", shape);
  checkDtype("buffer", dtype);
  return Node.intern("buffer", [], shape, dtype, { ref });
}

/** A leaf whose elements all equal `value` (booleans as 0/1). */
export function constNode(
  value: number,
  shape: Shape,
  dtype: DType,
): Node<"const"> {
  checkShape("const", shape);
  if (typeof value !== "number") {
    throw new Error(`const: expected a number, got ${typeof value}`);
  }
  const v = castScalar(value, checkDtype("const", dtype));
  // -0 and 0 intern to one node only when they mean the same thing.
  return Node.intern("const", [], shape, dtype, {
    value: Object.is(v, -0) ? -0 : v,
  });
}

function constValue(n: Node): number | undefined {
  return n.op === "const" ? (n.attrs as OpAttrs["const"]).value : undefined;
}

/** An elementwise unary op on a float node. Constants fold. */
export function unary(op: UnaryOp, x: Node): Node {
  if (!(UNARY_OPS as readonly string[]).includes(op)) {
    throw new Error(
      `unary: unknown op ${JSON.stringify(op)}; expected one of ${UNARY_OPS.join(", ")}`,
    );
  }
  if (op === "neg") requireNumeric(op, x);
  else requireFloat(op, x);
  const c = constValue(x);
  if (c !== undefined) return constNode(unaryScalar(op, x.dtype)(c), x.shape, x.dtype);
  if (op === "neg" && x.op === "neg") return x.inputs[0];
  return Node.intern(op, [x], x.shape, x.dtype, {});
}

/**
 * An elementwise binary op on two nodes of equal shape and dtype. Constants fold, and the
 * identities `x + 0 = x` and `x · 1 = x` hold structurally; commutative operands are ordered by
 * id so that `a + b` and `b + a` are one node.
 */
export function binary(op: BinaryOp, a: Node, b: Node): Node {
  if (!(BINARY_OPS as readonly string[]).includes(op)) {
    throw new Error(
      `binary: unknown op ${JSON.stringify(op)}; expected one of ${BINARY_OPS.join(", ")}`,
    );
  }
  requireSameShape(op, a, b);
  requireSameDtype(op, a, b);
  if (a.dtype === "bool" && op !== "cmpeq" && op !== "cmplt") {
    throw new Error(
      `${op}: expected float or int32 operands, got bool${fmtShape(a.shape)}`,
    );
  }
  if (op === "pow" && !isFloat(a.dtype)) {
    throw new Error(`pow: expected float operands, got ${a.dtype}${fmtShape(a.shape)}`);
  }
  const outDtype: DType = op === "cmplt" || op === "cmpeq" ? "bool" : a.dtype;
  const ca = constValue(a), cb = constValue(b);
  if (ca !== undefined && cb !== undefined) {
    return constNode(binaryScalar(op, a.dtype)(ca, cb), a.shape, outDtype);
  }
  if (op === "add") {
    if (ca === 0) return b;
    if (cb === 0) return a;
  }
  if (op === "mul") {
    if (ca === 1) return b;
    if (cb === 1) return a;
  }
  if (
    (op === "add" || op === "mul" || op === "max" || op === "cmpeq") &&
    b.id < a.id
  ) {
    [a, b] = [b, a];
  }
  return Node.intern(op, [a, b], a.shape, outDtype, {});
}

/** `where(cond, a, b)`: elements of `a` where the bool `cond` holds, else of `b`. */
export function where(cond: Node, a: Node, b: Node): Node {
  if (cond.dtype !== "bool") {
    throw new Error(
      `where: expected a bool condition, got ${cond.dtype}${fmtShape(cond.shape)}`,
    );
  }
  requireSameShape("where", cond, a);
  requireSameShape("where", a, b);
  requireSameDtype("where", a, b);
  if (a === b) return a;
  const c = constValue(cond);
  if (c !== undefined) return c ? a : b;
  return Node.intern("where", [cond, a, b], a.shape, a.dtype, {});
}

/** Converts `x` to `dtype` (bool: nonzero is true). */
export function cast(x: Node, dtype: DType): Node {
  checkDtype("cast", dtype);
  if (x.dtype === dtype) return x;
  const c = constValue(x);
  if (c !== undefined) return constNode(c, x.shape, dtype);
  return Node.intern("cast", [x], x.shape, dtype, {});
}

/** The identity whose gradient is zero: gradients do not flow into `x` through this node. */
export function detach(x: Node): Node {
  if (x.op === "const" || x.op === "detach") return x;
  return Node.intern("detach", [x], x.shape, x.dtype, {});
}

/** Sums or maximizes over `axes` (already normalized); reduced axes keep extent 1. */
export function reduce(op: ReduceOp, x: Node, axes: readonly number[]): Node {
  requireNumeric(op, x);
  const sorted = [...new Set(axes)].sort((p, q) => p - q);
  for (const a of sorted) {
    if (!Number.isInteger(a) || a < 0 || a >= x.shape.length) {
      throw new Error(
        `${op}: axis ${a} is out of range for shape ${
          fmtShape(x.shape)
        }; expected 0 <= axis < ${x.shape.length}`,
      );
    }
  }
  if (op === "reduce_max") {
    for (const a of sorted) {
      if (x.shape[a] === 0) {
        throw new Error(
          `${op}: cannot take the max over empty axis ${a} of shape ${fmtShape(x.shape)}`,
        );
      }
    }
  }
  const live = sorted.filter((a) => x.shape[a] !== 1);
  if (live.length === 0) return x;
  const shape = x.shape.map((d, i) => (live.includes(i) ? 1 : d));
  return Node.intern(op, [x], shape, x.dtype, { axes: live });
}

/** Reinterprets `x` in row-major order under `shape` (same number of elements). */
export function reshape(x: Node, shape: Shape): Node {
  checkShape("reshape", shape);
  if (numel(shape) !== x.size) {
    throw new Error(
      `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} ` +
        `(${numel(shape)} elements); expected the same number of elements`,
    );
  }
  if (shapesEqual(shape, x.shape)) return x;
  if (x.op === "reshape") return reshape(x.inputs[0], shape);
  const c = constValue(x);
  if (c !== undefined) return constNode(c, shape, x.dtype);
  return Node.intern("reshape", [x], shape, x.dtype, {});
}

/** Reorders axes: output axis `i` is input axis `perm[i]`. */
export function permute(x: Node, perm: readonly number[]): Node {
  const r = x.shape.length;
  const ok = perm.length === r &&
    perm.every((p) => Number.isInteger(p) && p >= 0 && p < r) &&
    new Set(perm).size === r;
  if (!ok) {
    throw new Error(
      `permute: ${JSON.stringify(perm)} is not a permutation of the ${r} axes of ${
        fmtShape(x.shape)
      }; expected each axis 0..${r - 1} exactly once`,
    );
  }
  if (perm.every((p, i) => p === i)) return x;
  const shape = perm.map((p) => x.shape[p]);
  const c = constValue(x);
  if (c !== undefined) return constNode(c, shape, x.dtype);
  if (x.op === "permute") {
    const inner = (x.attrs as OpAttrs["permute"]).perm;
    return permute(x.inputs[0], perm.map((p) => inner[p]));
  }
  return Node.intern("permute", [x], shape, x.dtype, { perm: [...perm] });
}

/** Repeats extent-1 axes of `x` up to `shape` (same rank). */
export function expand(x: Node, shape: Shape): Node {
  checkShape("expand", shape);
  const ok = shape.length === x.shape.length &&
    shape.every((d, i) => d === x.shape[i] || x.shape[i] === 1);
  if (!ok) {
    throw new Error(
      `expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(shape)}; expected the same rank ` +
        `with each extent equal or expanded from 1`,
    );
  }
  if (shapesEqual(shape, x.shape)) return x;
  const c = constValue(x);
  if (c !== undefined) return constNode(c, shape, x.dtype);
  if (x.op === "expand") return expand(x.inputs[0], shape);
  return Node.intern("expand", [x], shape, x.dtype, {});
}

/** Pads axis `i` with `pads[i][0]` zeros before and `pads[i][1]` after. */
export function pad(
  x: Node,
  pads: readonly (readonly [number, number])[],
): Node {
  const ok = pads.length === x.shape.length &&
    pads.every((p) => p.length === 2 && p.every((v) => Number.isInteger(v) && v >= 0));
  if (!ok) {
    throw new Error(
      `pad: invalid padding ${JSON.stringify(pads)} for shape ${fmtShape(x.shape)}; expected one ` +
        `[before, after] pair of non-negative integers per axis`,
    );
  }
  if (pads.every(([a, b]) => a === 0 && b === 0)) return x;
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  return Node.intern("pad", [x], shape, x.dtype, {
    pads: pads.map(([a, b]) => [a, b] as const),
  });
}

/** Takes `starts[i], starts[i] + steps[i], …` below `stops[i]` along each axis `i`. */
export function slice(
  x: Node,
  starts: readonly number[],
  stops: readonly number[],
  steps: readonly number[] = x.shape.map(() => 1),
): Node {
  const r = x.shape.length;
  const ok = starts.length === r && stops.length === r && steps.length === r &&
    x.shape.every((d, i) =>
      Number.isInteger(starts[i]) && Number.isInteger(stops[i]) &&
      Number.isInteger(steps[i]) &&
      starts[i] >= 0 && starts[i] <= stops[i] && stops[i] <= d && steps[i] >= 1
    );
  if (!ok) {
    throw new Error(
      `slice: invalid bounds starts=${JSON.stringify(starts)} stops=${JSON.stringify(stops)} ` +
        `steps=${JSON.stringify(steps)} for shape ${fmtShape(x.shape)}; expected ` +
        `0 <= start <= stop <= extent and step >= 1 on each axis`,
    );
  }
  const shape = x.shape.map((_, i) => Math.ceil((stops[i] - starts[i]) / steps[i]));
  // An unchanged extent means start 0 and (step 1 or extent <= 1): the identity.
  if (shapesEqual(shape, x.shape)) return x;
  const c = constValue(x);
  if (c !== undefined) return constNode(c, shape, x.dtype);
  return Node.intern("slice", [x], shape, x.dtype, {
    starts: [...starts],
    stops: [...stops],
    steps: [...steps],
  });
}
