/**
 * Symbolic reverse-mode autodiff on the IR.
 *
 * Every primitive has a VJP rule in {@link VJP_RULES}, a table typed by op: adding an op to
 * `OpAttrs` without a rule here is a type error. Rules build ordinary nodes with the checked
 * constructors of `ir.ts`, so a gradient is a graph like any other and can be differentiated
 * again.
 *
 * @module
 */

import { isFloat } from "./dtype.ts";
import * as ir from "./ir.ts";
import { add, full, mul, neg, recip, x0 } from "./rule_helpers.ts";
import { truncDivNode } from "./rounding.ts";
import type { Node, Op, OpAttrs } from "./ir.ts";

/** A VJP rule: given the output cotangent `g` and the node, one cotangent per input (or null). */
export type VjpRule<K extends Op> = (
  g: Node,
  node: Node<K>,
) => readonly (Node | null)[];

/** Transposes of `slice`: spreads `g` back to `inShape`, zeros between steps and outside. */
function unslice(
  g: Node,
  inShape: readonly number[],
  attrs: OpAttrs["slice"],
): Node {
  let out = g;
  attrs.steps.forEach((step, axis) => {
    if (step === 1) return;
    // Dilate: [.., o, ..] -> [.., o, 1, ..] -> pad to [.., o, step, ..] -> [.., o·step, ..].
    const s = out.shape;
    const lifted = ir.reshape(out, [
      ...s.slice(0, axis),
      s[axis],
      1,
      ...s.slice(axis + 1),
    ]);
    const pads = lifted.shape.map((_, i) =>
      (i === axis + 1 ? [0, step - 1] : [0, 0]) as [number, number]
    );
    out = ir.reshape(ir.pad(lifted, pads), [
      ...s.slice(0, axis),
      s[axis] * step,
      ...s.slice(axis + 1),
    ]);
  });
  // Trailing dilation zeros past the input's end are dropped, the rest is padded with zeros.
  const keep = out.shape.map((d, i) => Math.min(d, inShape[i] - attrs.starts[i]));
  out = ir.slice(out, keep.map(() => 0), keep);
  return ir.pad(
    out,
    keep.map((k, i) => [attrs.starts[i], inShape[i] - attrs.starts[i] - k] as [number, number]),
  );
}

/** The VJP rule of every primitive. */
export const VJP_RULES: { readonly [K in Op]: VjpRule<K> } = {
  buffer: () => [],
  const: () => [],
  neg: (g) => [neg(g)],
  exp: (g, n) => [mul(g, n)],
  log: (g, n) => [mul(g, recip(x0(n)))],
  sqrt: (g, n) => [mul(g, recip(mul(n, full(2, n))))],
  recip: (g, n) => [neg(mul(g, mul(n, n)))],
  sin: (g, n) => [mul(g, ir.unary("sin", add(x0(n), full(Math.PI / 2, n))))],
  sigmoid: (g, n) => [mul(g, mul(n, add(full(1, n), neg(n))))],
  tanh: (g, n) => [mul(g, add(full(1, n), neg(mul(n, n))))],
  // Piecewise constant: zero gradient, as PyTorch's floor, round and floor_divide.
  floor: () => [null],
  round: () => [null],
  add: (g) => [g, g],
  mul: (g, n) => [mul(g, n.inputs[1]), mul(g, n.inputs[0])],
  max: (g, n) => {
    // Ties split the gradient evenly, as PyTorch's maximum does; where an operand is NaN (the
    // operands are unordered) both receive all of it, as in PyTorch.
    const [a, b] = n.inputs;
    const zero = full(0, g), half = mul(g, full(0.5, g));
    const tie = ir.binary("cmpeq", a, b);
    const aBelow = ir.binary("cmplt", a, b), bBelow = ir.binary("cmplt", b, a);
    const otherwise = ir.where(tie, half, g); // tie, or unordered
    return [
      ir.where(bBelow, g, ir.where(aBelow, zero, otherwise)),
      ir.where(aBelow, g, ir.where(bBelow, zero, otherwise)),
    ];
  },
  cmplt: () => [null, null],
  cmpeq: () => [null, null],
  floor_div: () => [null, null],
  // PyTorch's: d/da = 1, d/db = -trunc(a / b).
  fmod: (g, n) => [g, neg(mul(g, truncDivNode(n.inputs[0], n.inputs[1])))],
  pow: (g, n) => {
    // PyTorch's rules: d/da = b·a^(b-1) (0 where b = 0), d/db = a^b·log(a) (0 where a = 0 <= b).
    const [a, b] = n.inputs;
    const zero = full(0, g);
    const da = mul(b, ir.binary("pow", a, add(b, full(-1, b))));
    const yes = ir.constNode(1, b.shape, "bool"); // b >= 0 is false for NaN b, as in PyTorch
    const bNonNeg = ir.where(ir.binary("cmplt", zero, b), yes, ir.binary("cmpeq", b, zero));
    const masked = ir.where(ir.binary("cmpeq", a, zero), bNonNeg, ir.constNode(0, b.shape, "bool"));
    return [
      ir.where(ir.binary("cmpeq", b, zero), zero, mul(g, da)),
      ir.where(masked, zero, mul(g, mul(n, ir.unary("log", a)))),
    ];
  },
  where: (g, n) => {
    const zero = full(0, g);
    return [
      null,
      ir.where(n.inputs[0], g, zero),
      ir.where(n.inputs[0], zero, g),
    ];
  },
  cast: (g, n) => [isFloat(x0(n).dtype) ? ir.cast(g, x0(n).dtype) : null],
  detach: () => [null],
  reduce_sum: (g, n) => [ir.expand(g, x0(n).shape)],
  reduce_max: (g, n) => {
    // The gradient is shared evenly among the maxima (as PyTorch's amax does).
    const x = x0(n);
    const mask = ir.cast(ir.binary("cmpeq", x, ir.expand(n, x.shape)), x.dtype);
    const count = ir.expand(
      ir.reduce("reduce_sum", mask, n.attrs.axes),
      x.shape,
    );
    return [mul(mul(ir.expand(g, x.shape), mask), recip(count))];
  },
  reshape: (g, n) => [ir.reshape(g, x0(n).shape)],
  permute: (g, n) => {
    const inverse = new Array<number>(n.attrs.perm.length);
    n.attrs.perm.forEach((p, i) => (inverse[p] = i));
    return [ir.permute(g, inverse)];
  },
  expand: (g, n) => {
    const x = x0(n);
    const axes = x.shape.flatMap((
      d,
      i,
    ) => (d === 1 && n.shape[i] !== 1 ? [i] : []));
    return [ir.reduce("reduce_sum", g, axes)];
  },
  pad: (g, n) => {
    const x = x0(n);
    const lo = n.attrs.pads.map((p) => p[0]);
    return [ir.slice(g, lo, lo.map((l, i) => l + x.shape[i]))];
  },
  slice: (g, n) => [unslice(g, x0(n).shape, n.attrs)],
};

/** A custom VJP attached to a node: its declared inputs and the rule that replaces its subgraph's. */
export interface CustomRule {
  /** The inputs that receive the rule's cotangents, in order. */
  readonly inputs: readonly Node[];
  /** Cotangents of `inputs` (`null`: none) given the node's cotangent `g`. */
  readonly vjp: (g: Node) => readonly (Node | null)[];
  /** The rule is the forward's true derivative (see {@link CustomVjpOptions}). */
  readonly exact: boolean;
}

/** Options of {@link defineCustomVjp}. */
export interface CustomVjpOptions {
  /**
   * The rule computes the true derivative of the primitives behind `output`, only more cheaply
   * (conv2d's), so forward mode may differentiate those primitives instead of transposing the
   * rule, which costs more. Default `false`: the rule defines the derivative in both modes.
   */
  exact?: boolean;
}

const customRules = new WeakMap<Node, CustomRule>();

/**
 * Declares that gradients flowing into `output` go to `inputs` through `vjp`, instead of through
 * the primitives that compute `output`. This is the hook for composites whose decomposed
 * gradient is measurably worse. Forward mode transposes the rule unless it is `exact`.
 */
export function defineCustomVjp(
  output: Node,
  inputs: readonly Node[],
  vjp: (g: Node) => readonly (Node | null)[],
  opts: CustomVjpOptions = {},
): void {
  customRules.set(output, { inputs, vjp, exact: opts.exact ?? false });
}

/** The custom VJP that {@link defineCustomVjp} attached to `node`, if any. */
export function customRuleOf(node: Node): CustomRule | undefined {
  return customRules.get(node);
}

const inputsOf = (n: Node): readonly Node[] => customRules.get(n)?.inputs ?? n.inputs;

/**
 * Cotangents of `xs` given seeds `dys` at outputs `ys`: the vector-Jacobian product, built as
 * new nodes. An `x` that no output depends on gets a zero cotangent.
 */
export function vjpNodes(
  ys: readonly Node[],
  dys: readonly Node[],
  xs: readonly Node[],
): Node[] {
  const order = ir.toposort(ys, inputsOf);
  const targets = new Set(xs);
  // Only nodes on a path from some x carry cotangents worth building.
  const live = new Set<Node>();
  for (const n of order) {
    if (targets.has(n) || inputsOf(n).some((i) => live.has(i))) live.add(n);
  }
  const adjoint = new Map<Node, Node>();
  const accumulate = (n: Node, g: Node) => {
    const prev = adjoint.get(n);
    adjoint.set(n, prev === undefined ? g : add(prev, g));
  };
  ys.forEach((y, i) => live.has(y) && accumulate(y, dys[i]));
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    const g = adjoint.get(n);
    if (g === undefined || !live.has(n)) continue;
    const custom = customRules.get(n);
    const grads = custom ? custom.vjp(g) : (VJP_RULES[n.op] as VjpRule<Op>)(g, n);
    inputsOf(n).forEach((input, i) => {
      const gi = grads[i];
      if (gi !== null && gi !== undefined && live.has(input)) {
        accumulate(input, gi);
      }
    });
  }
  return xs.map((x) => adjoint.get(x) ?? ir.constNode(0, x.shape, x.dtype));
}
