/**
 * Graph rewriting shared by the function transforms: fresh proxy leaves to trace a function on,
 * and substitution of nodes by others (rebuilding, with the checked constructors, every node
 * that depends on a substituted one).
 *
 * Transforms trace `f` on proxies rather than on their arguments' own nodes because the IR
 * simplifies while it is built (`reshape` of a `reshape` is one `reshape`, `x · 1` is `x`): a
 * function that reshapes its argument and back never mentions the argument's node, so a
 * transform keyed on that node would silently lose it. A proxy is a leaf, which no
 * simplification looks through.
 *
 * A rewritten node keeps the custom VJP of the node it replaces ({@link carryCustomVjp}): its
 * rule is the original rule, run on a placeholder cotangent and rewritten the same way.
 *
 * @module
 */

import { customRuleOf, defineCustomVjp } from "./autodiff.ts";
import * as ir from "./ir.ts";
import type { BufferRef, Node, Op } from "./ir.ts";

let nextProxyId = -1;

/**
 * A fresh leaf of `shape` and `like`'s dtype standing for a value while a function is traced.
 * Its id is negative, so it never aliases realized storage; reading its data throws `message`.
 */
export function proxyLeaf(shape: readonly number[], like: Node, message: string): Node {
  const fail = (): never => {
    throw new Error(message);
  };
  const ref: BufferRef & { bufferOn(): never; read(): never } = {
    id: nextProxyId--,
    bufferOn: fail,
    read: fail,
  };
  return ir.bufferNode(ref, shape, like.dtype);
}

/** Rebuilds `node` over new `inputs` (same shapes and dtypes) with the checked constructors. */
export type RebuildRule<K extends Op> = (inputs: readonly Node[], node: Node<K>) => Node;

const leaf = (_: readonly Node[], n: Node) => n;
const unary: RebuildRule<ir.UnaryOp> = ([x], n) => ir.unary(n.op, x);
const binary: RebuildRule<ir.BinaryOp> = ([a, b], n) => ir.binary(n.op, a, b);
const reduce: RebuildRule<ir.ReduceOp> = ([x], n) => ir.reduce(n.op, x, n.attrs.axes);

/** How to rebuild every primitive over new inputs. */
export const REBUILD_RULES: { readonly [K in Op]: RebuildRule<K> } = {
  buffer: leaf,
  const: leaf,
  neg: unary,
  exp: unary,
  log: unary,
  sqrt: unary,
  recip: unary,
  sin: unary,
  sigmoid: unary,
  tanh: unary,
  floor: unary,
  round: unary,
  add: binary,
  mul: binary,
  max: binary,
  cmplt: binary,
  cmpeq: binary,
  pow: binary,
  floor_div: binary,
  fmod: binary,
  where: ([c, a, b]) => ir.where(c, a, b),
  cast: ([x], n) => ir.cast(x, n.dtype),
  detach: ([x]) => ir.detach(x),
  reduce_sum: reduce,
  reduce_max: reduce,
  reshape: ([x], n) => ir.reshape(x, n.shape),
  permute: ([x], n) => ir.permute(x, n.attrs.perm),
  expand: ([x], n) => ir.expand(x, n.shape),
  pad: ([x], n) => ir.pad(x, n.attrs.pads),
  slice: ([x], n) => ir.slice(x, n.attrs.starts, n.attrs.stops, n.attrs.steps),
};

/**
 * A node's inputs followed by the declared inputs of its custom VJP, if it has one: the order
 * in which a rewrite visits the graph, so that the declared inputs are rewritten before it.
 */
export function rewriteInputs(n: Node): readonly Node[] {
  const custom = customRuleOf(n);
  return custom === undefined ? n.inputs : [...n.inputs, ...custom.inputs];
}

const PLACEHOLDER_READ = "a custom VJP's placeholder cotangent was read (an internal error)";

/**
 * Gives `rewritten`, the image of `node` under a rewrite, the custom VJP of `node` if it has
 * one: the cotangents of `inputs` (the images of the declared inputs) for a cotangent `g` of
 * `rewritten` are `map(cts, placeholder, g)`, where `cts` are the original rule's cotangents
 * for a placeholder leaf shaped like `node`'s cotangent, and `map` rewrites them the way the
 * graph was rewritten, with the placeholder standing for `g`.
 */
export function carryCustomVjp(
  node: Node,
  rewritten: Node,
  inputs: readonly Node[],
  map: (cts: readonly (Node | null)[], placeholder: Node, g: Node) => readonly (Node | null)[],
): void {
  const custom = customRuleOf(node);
  // A rewrite that simplified the node into one of its inputs leaves nothing to attach to.
  if (custom === undefined || rewritten === node || inputs.includes(rewritten)) return;
  defineCustomVjp(rewritten, inputs, (g) => {
    const placeholder = proxyLeaf(node.shape, node, PLACEHOLDER_READ);
    return map(custom.vjp(placeholder), placeholder, g);
  }, { exact: custom.exact });
}

/**
 * The graphs of `roots` with each key of `env` replaced by its value (same shape and dtype).
 * Nodes that reach no key are returned as they are; rebuilt ones keep their custom VJPs.
 */
export function substitute(roots: readonly Node[], env: ReadonlyMap<Node, Node>): Node[] {
  const value = new Map<Node, Node>(env);
  for (const n of ir.toposort(roots, rewriteInputs)) {
    if (value.has(n)) continue;
    const ins = n.inputs.map((i) => value.get(i)!);
    const same = ins.every((x, k) => x === n.inputs[k]);
    const rebuilt = same ? n : (REBUILD_RULES[n.op] as RebuildRule<Op>)(ins, n);
    value.set(n, rebuilt);
    carryCustomVjp(n, rebuilt, customRuleOf(n)?.inputs.map((i) => value.get(i)!) ?? [], (
      cts,
      placeholder,
      g,
    ) => {
      const live = cts.flatMap((ct) => (ct === null ? [] : [ct]));
      const mapped = substitute(live, new Map([...env, [placeholder, g]]));
      let k = 0;
      return cts.map((ct) => (ct === null ? null : mapped[k++]));
    });
  }
  return roots.map((r) => value.get(r)!);
}
