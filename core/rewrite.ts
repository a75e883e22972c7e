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
 * @module
 */

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
 * The graphs of `roots` with each key of `env` replaced by its value (same shape and dtype).
 * Nodes that reach no key are returned as they are.
 */
export function substitute(roots: readonly Node[], env: ReadonlyMap<Node, Node>): Node[] {
  const value = new Map<Node, Node>(env);
  for (const n of ir.toposort(roots)) {
    if (value.has(n)) continue;
    const ins = n.inputs.map((i) => value.get(i)!);
    const same = ins.every((x, k) => x === n.inputs[k]);
    value.set(n, same ? n : (REBUILD_RULES[n.op] as RebuildRule<Op>)(ins, n));
  }
  return roots.map((r) => value.get(r)!);
}
