/**
 * Symbolic forward-mode autodiff on the IR.
 *
 * Every primitive has a JVP rule in {@link JVP_RULES}, a table typed by op beside the VJP table
 * of `autodiff.ts`: adding an op to `OpAttrs` without a rule here is a type error. A rule maps
 * the tangents of a node's inputs to the tangent of the node, built as ordinary nodes, so a
 * tangent is a graph like any other and can be differentiated (forward-over-reverse and
 * reverse-over-forward both work).
 *
 * Tangents are symbolic zeros (`null`) until some input with a tangent reaches a node, so inputs
 * without tangents cost nothing; `detach` has a zero tangent. A custom-VJP node's tangent is the
 * transpose of its rule ({@link customTangent}), so forward and reverse mode agree on it; a rule
 * declared exact (the forward's true derivative) lets forward mode use the forward's primitives.
 *
 * @module
 */

import { type CustomRule, customRuleOf, vjpNodes } from "./autodiff.ts";
import { isFloat } from "./dtype.ts";
import * as ir from "./ir.ts";
import { proxyLeaf, substitute } from "./rewrite.ts";
import { add, full, mul, neg, recip, x0 } from "./rule_helpers.ts";
import { truncDivNode } from "./rounding.ts";
import type { Node, Op } from "./ir.ts";
import { fmtShape } from "./shape.ts";

/**
 * A JVP rule: given the tangent of each input (`null`: a symbolic zero) and the node, the
 * tangent of the node (`null`: zero). Rules are only called when some input tangent is nonzero.
 */
export type JvpRule<K extends Op> = (
  tangents: readonly (Node | null)[],
  node: Node<K>,
) => Node | null;

const t0 = (ts: readonly (Node | null)[]) => ts[0]!;

/** `t · d` for an elementwise derivative `d`. */
const scale = (ts: readonly (Node | null)[], d: Node) => mul(t0(ts), d);

/** Sum of possibly-zero tangents. */
function addT(a: Node | null, b: Node | null): Node | null {
  if (a === null) return b;
  if (b === null) return a;
  return add(a, b);
}

/** A tangent that is zero where `t` is null. */
const orZero = (t: Node | null, like: Node) => t ?? full(0, like);

/** The JVP rule of every primitive. */
export const JVP_RULES: { readonly [K in Op]: JvpRule<K> } = {
  buffer: () => null,
  const: () => null,
  neg: (ts) => neg(t0(ts)),
  exp: (ts, n) => scale(ts, n),
  log: (ts, n) => scale(ts, recip(x0(n))),
  sqrt: (ts, n) => scale(ts, recip(mul(n, full(2, n)))),
  recip: (ts, n) => neg(scale(ts, mul(n, n))),
  sin: (ts, n) => scale(ts, ir.unary("sin", add(x0(n), full(Math.PI / 2, n)))),
  sigmoid: (ts, n) => scale(ts, mul(n, add(full(1, n), neg(n)))),
  tanh: (ts, n) => scale(ts, add(full(1, n), neg(mul(n, n)))),
  floor: () => null,
  round: () => null,
  add: ([ta, tb]) => addT(ta, tb),
  mul: ([ta, tb], n) => {
    const [a, b] = n.inputs;
    return addT(ta && mul(ta, b), tb && mul(a, tb));
  },
  max: ([ta, tb], n) => {
    // Ties take the mean of both tangents and unordered operands (a NaN) their sum: the
    // transpose of the VJP rule, which splits ties evenly and gives a NaN's gradient to both.
    const [a, b] = n.inputs;
    const ea = orZero(ta, n), eb = orZero(tb, n);
    const both = add(ea, eb);
    const tie = ir.where(ir.binary("cmpeq", a, b), mul(both, full(0.5, n)), both);
    return ir.where(
      ir.binary("cmplt", b, a),
      ea,
      ir.where(ir.binary("cmplt", a, b), eb, tie),
    );
  },
  cmplt: () => null,
  cmpeq: () => null,
  floor_div: () => null,
  fmod: ([ta, tb], n) => addT(ta, tb && neg(mul(tb, truncDivNode(n.inputs[0], n.inputs[1])))),
  pow: ([ta, tb], n) => {
    // The transpose of the VJP rule (PyTorch's derivatives, zero where they mask).
    const [a, b] = n.inputs;
    const zero = full(0, n);
    const da = ir.where(
      ir.binary("cmpeq", b, zero),
      zero,
      mul(b, ir.binary("pow", a, add(b, full(-1, b)))),
    );
    const yes = ir.constNode(1, b.shape, "bool"); // b >= 0 is false for NaN b, as in PyTorch
    const bNonNeg = ir.where(ir.binary("cmplt", zero, b), yes, ir.binary("cmpeq", b, zero));
    const masked = ir.where(ir.binary("cmpeq", a, zero), bNonNeg, ir.constNode(0, b.shape, "bool"));
    const db = ir.where(masked, zero, mul(n, ir.unary("log", a)));
    return addT(ta && mul(ta, da), tb && mul(tb, db));
  },
  where: ([, ta, tb], n) => {
    if (ta === null && tb === null) return null;
    return ir.where(x0(n), orZero(ta, n), orZero(tb, n));
  },
  cast: (ts, n) => (isFloat(n.dtype) && isFloat(x0(n).dtype) ? ir.cast(t0(ts), n.dtype) : null),
  detach: () => null,
  reduce_sum: (ts, n) => ir.reduce("reduce_sum", t0(ts), n.attrs.axes),
  reduce_max: (ts, n) => {
    // The mean tangent over the maxima: the transpose of the VJP rule's even split.
    const x = x0(n);
    const mask = ir.cast(ir.binary("cmpeq", x, ir.expand(n, x.shape)), x.dtype);
    const count = ir.reduce("reduce_sum", mask, n.attrs.axes);
    return mul(ir.reduce("reduce_sum", mul(t0(ts), mask), n.attrs.axes), recip(count));
  },
  reshape: (ts, n) => ir.reshape(t0(ts), n.shape),
  permute: (ts, n) => ir.permute(t0(ts), n.attrs.perm),
  expand: (ts, n) => ir.expand(t0(ts), n.shape),
  pad: (ts, n) => ir.pad(t0(ts), n.attrs.pads),
  slice: (ts, n) => ir.slice(t0(ts), n.attrs.starts, n.attrs.stops, n.attrs.steps),
};

/**
 * The tangent of custom-VJP node `n` when its declared inputs move along `tangent`: the transpose
 * of its rule, `J·t = ∂/∂g Σᵢ ⟨rule(g)ᵢ, tᵢ⟩`, built by reverse mode over a placeholder `g`. For
 * a rule linear in `g` (a VJP) this is exact and independent of `g`; a rule nonlinear in `g`
 * (a clipped cotangent) is linearized at `g = 0`. Tangents through the primitives of the
 * forward would disagree with the rule that reverse mode uses.
 */
function customTangent(n: Node, custom: CustomRule, tangent: ReadonlyMap<Node, Node>): Node | null {
  if (!custom.inputs.some((x) => tangent.has(x))) return null;
  const g = proxyLeaf(n.shape, n, "jvp: a custom VJP's placeholder cotangent was read");
  const cts = custom.vjp(g);
  let pairing: Node | null = null;
  custom.inputs.forEach((x, i) => {
    const t = tangent.get(x), ct = cts[i];
    if (t === undefined || ct === null || ct === undefined) return;
    const dot = ir.reshape(ir.reduce("reduce_sum", ir.reshape(mul(ct, t), [t.size]), [0]), []);
    pairing = pairing === null ? dot : add(pairing, dot);
  });
  if (pairing === null) return null;
  const p: Node = pairing;
  const [dn] = vjpNodes([p], [full(1, p)], [g]);
  return substitute([dn], new Map([[g, full(0, n)]]))[0];
}

/** The custom VJP whose transpose gives `n`'s tangent: any but an exact one. */
function transposedRule(n: Node): CustomRule | undefined {
  const custom = customRuleOf(n);
  return custom?.exact ? undefined : custom;
}

/** What tangents flow through: a transposed rule's declared inputs, else the node's inputs. */
const tangentInputs = (n: Node): readonly Node[] => transposedRule(n)?.inputs ?? n.inputs;

/**
 * Tangents of `ys` when each `xs[i]` moves along `dxs[i]`: the Jacobian-vector product, built
 * as new nodes. Outputs that no tangent reaches get `null` (a symbolic zero); `materialize`
 * turns those into zero constants.
 */
export function jvpNodes(
  ys: readonly Node[],
  xs: readonly Node[],
  dxs: readonly Node[],
): (Node | null)[] {
  if (xs.length !== dxs.length) {
    throw new Error(`jvp: ${xs.length} inputs but ${dxs.length} tangents; expected one each`);
  }
  const tangent = new Map<Node, Node>();
  xs.forEach((x, i) => {
    const dx = dxs[i];
    if (dx.shape.length !== x.shape.length || dx.shape.some((d, k) => d !== x.shape[k])) {
      throw new Error(
        `jvp: tangent ${i} has shape ${fmtShape(dx.shape)}; expected ${fmtShape(x.shape)} ` +
          `like its primal`,
      );
    }
    if (tangent.has(x)) {
      throw new Error(
        `jvp: input ${i} is the same tensor as an earlier input; pass each primal once ` +
          `(one tensor cannot move along two tangents)`,
      );
    }
    tangent.set(x, ir.cast(dx, x.dtype));
  });
  for (const n of ir.toposort(ys, tangentInputs)) {
    if (tangent.has(n) || n.inputs.length === 0) continue;
    const custom = transposedRule(n);
    if (custom !== undefined) {
      const t = customTangent(n, custom, tangent);
      if (t !== null) tangent.set(n, t);
      continue;
    }
    const ts = n.inputs.map((i) => tangent.get(i) ?? null);
    if (ts.every((t) => t === null)) continue;
    const t = (JVP_RULES[n.op] as JvpRule<Op>)(ts, n);
    if (t !== null) tangent.set(n, t);
  }
  return ys.map((y) => tangent.get(y) ?? null);
}

/** `t`, or zeros shaped like `like` where `t` is a symbolic zero. */
export function materialize(t: Node | null, like: Node): Node {
  return t ?? ir.constNode(0, like.shape, like.dtype);
}
