/**
 * Batching: `vmap` maps a function over an axis of its arguments as one program.
 *
 * `f` is traced once on unbatched proxy leaves, then the traced graph is rewritten node by node
 * with the batching rule of each primitive ({@link BATCH_RULES}, a table typed by op beside the
 * VJP and JVP tables): a node whose inputs are all unbatched stays as it is (so constants and
 * closed-over tensors are shared, not copied per sample), every other node gets a batched
 * value whose batch axis is axis 0. Rewriting the IR rather than carrying batch axes through
 * `Tensor` means that `f` sees the shapes of one sample, that everything `f` builds from
 * primitives — gradients and tangents included — is batched by the same ~25 rules, and that the
 * result is one lazy graph: `vmap(grad(loss))` realizes as one fused schedule, not a loop.
 *
 * A batched custom-VJP node keeps its rule, batched: the original rule runs on a placeholder
 * cotangent and is batched with the placeholder standing for the batched cotangent, so `grad` of
 * a vmapped function uses the rule per sample (and sums the cotangents of unbatched inputs).
 *
 * @module
 */

import { customRuleOf } from "./autodiff.ts";
import * as ir from "./ir.ts";
import type { Node, Op } from "./ir.ts";
import { carryCustomVjp, proxyLeaf, rewriteInputs } from "./rewrite.ts";
import { fmtShape } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { type Tree, treeLeaves, treeUnflatten } from "./transforms.ts";

/**
 * A batching rule: given the rewritten inputs of `node` (a batched one has the batch axis in
 * front), which of them are batched (at least one is), and the batch size, the batched node.
 */
export type BatchRule<K extends Op> = (
  inputs: readonly Node[],
  batched: readonly boolean[],
  node: Node<K>,
  size: number,
) => Node;

/** `x` with a leading batch axis: unbatched values are broadcast (a view, nothing is copied). */
function lift(x: Node, batched: boolean, size: number): Node {
  if (batched) return x;
  return ir.expand(ir.reshape(x, [1, ...x.shape]), [size, ...x.shape]);
}

const lifted = (xs: readonly Node[], bs: readonly boolean[], size: number) =>
  xs.map((x, i) => lift(x, bs[i], size));

const unaryRule: BatchRule<ir.UnaryOp> = ([x], _, n) => ir.unary(n.op, x);
const binaryRule: BatchRule<ir.BinaryOp> = (xs, bs, n, b) => {
  const [x, y] = lifted(xs, bs, b);
  return ir.binary(n.op, x, y);
};
const reduceRule: BatchRule<ir.ReduceOp> = ([x], _, n) =>
  ir.reduce(n.op, x, n.attrs.axes.map((a) => a + 1));

const leafRule = (_: readonly Node[], __: readonly boolean[], n: Node): Node => {
  throw new Error(`vmap: the ${n.op} leaf has no inputs to batch (an internal error)`);
};

/** The batching rule of every primitive. */
export const BATCH_RULES: { readonly [K in Op]: BatchRule<K> } = {
  buffer: leafRule,
  const: leafRule,
  neg: unaryRule,
  exp: unaryRule,
  log: unaryRule,
  sqrt: unaryRule,
  recip: unaryRule,
  sin: unaryRule,
  sigmoid: unaryRule,
  tanh: unaryRule,
  floor: unaryRule,
  round: unaryRule,
  add: binaryRule,
  mul: binaryRule,
  max: binaryRule,
  cmplt: binaryRule,
  cmpeq: binaryRule,
  pow: binaryRule,
  floor_div: binaryRule,
  fmod: binaryRule,
  where: (xs, bs, _, b) => {
    const [c, x, y] = lifted(xs, bs, b);
    return ir.where(c, x, y);
  },
  cast: ([x], _, n) => ir.cast(x, n.dtype),
  detach: ([x]) => ir.detach(x),
  reduce_sum: reduceRule,
  reduce_max: reduceRule,
  reshape: ([x], _, n, b) => ir.reshape(x, [b, ...n.shape]),
  permute: ([x], _, n) => ir.permute(x, [0, ...n.attrs.perm.map((p) => p + 1)]),
  expand: ([x], _, n, b) => ir.expand(x, [b, ...n.shape]),
  pad: ([x], _, n) => ir.pad(x, [[0, 0], ...n.attrs.pads]),
  slice: ([x], _, n, b) =>
    ir.slice(
      x,
      [0, ...n.attrs.starts],
      [b, ...n.attrs.stops],
      [1, ...n.attrs.steps],
    ),
};

/** A value of the rewritten graph: its node and whether axis 0 is the batch axis. */
interface Batched {
  readonly node: Node;
  readonly batched: boolean;
}

/**
 * Rewrites the graph of `roots` with the batching rules: `env` maps proxy leaves to their
 * batched values (batch axis 0, extent `size`). Nodes that reach no proxy are left unchanged.
 */
export function batchNodes(
  roots: readonly Node[],
  env: ReadonlyMap<Node, Node>,
  size: number,
): Batched[] {
  const value = new Map<Node, Batched>();
  for (const [proxy, node] of env) value.set(proxy, { node, batched: true });
  for (const n of ir.toposort(roots, rewriteInputs)) {
    if (value.has(n)) continue;
    const ins = n.inputs.map((i) => value.get(i)!);
    const bs = ins.map((v) => v.batched);
    if (!bs.some((b) => b)) {
      value.set(n, { node: n, batched: false });
      continue;
    }
    const rule = BATCH_RULES[n.op] as BatchRule<Op>;
    const node = rule(ins.map((v) => v.node), bs, n, size);
    value.set(n, { node, batched: true });
    const declared = customRuleOf(n)?.inputs.map((i) => value.get(i)!) ?? [];
    carryCustomVjp(n, node, declared.map((d) => d.node), (cts, placeholder, g) => {
      // The rule per sample; an unbatched input's cotangent is the sum over the samples.
      const live = cts.flatMap((ct) => (ct === null ? [] : [ct]));
      const batched = batchNodes(live, new Map([...env, [placeholder, g]]), size);
      let k = 0;
      return cts.map((ct, i) => {
        if (ct === null) return null;
        const b = batched[k++];
        const each = lift(b.node, b.batched, size);
        const d = declared[i];
        return d.batched ? each : ir.reshape(ir.reduce("reduce_sum", each, [0]), d.node.shape);
      });
    });
  }
  return roots.map((r) => value.get(r)!);
}

const TRACED_READ = "vmap: f read the data of a batched argument while it was traced; f must " +
  "only build tensor ops (realize the result of the vmapped function instead)";

/** How arguments or results are batched: an axis, `null` (not batched), or a tree of those. */
export type AxisSpec =
  | number
  | null
  | readonly AxisSpec[]
  | { readonly [key: string]: AxisSpec };

/** Options of {@link vmap}. */
export interface VmapOptions {
  /**
   * Batch axis of each argument (default 0): one spec for all arguments, or an array with one
   * entry per argument, each a number, `null` (the argument is shared by every sample) or a
   * tree matching (a prefix of) the argument's structure, as JAX's `in_axes`.
   */
  inAxes?: AxisSpec;
  /** Where the batch axis goes in each result (default 0); `null` for an unbatched result. */
  outAxes?: AxisSpec;
}

/** One axis per leaf of `tree`, reading `spec` as a prefix of the tree's structure. */
function axesOf(
  op: string,
  tree: Tree,
  spec: AxisSpec,
  path: string,
  what: string,
): (number | null)[] {
  if (spec === null || typeof spec === "number") {
    if (spec !== null && !Number.isInteger(spec)) {
      throw new Error(`${op}: ${what} for ${path} is ${spec}; expected an integer or null`);
    }
    return treeLeaves(tree, op, path).map(() => spec);
  }
  if (Array.isArray(spec)) {
    if (!Array.isArray(tree) || tree.length !== spec.length) {
      const got = Array.isArray(tree) ? `an array of ${tree.length}` : "not an array";
      throw new Error(
        `${op}: ${what} for ${path} is an array of ${spec.length} but ${path} is ${got}; ` +
          `expected matching structures`,
      );
    }
    return tree.flatMap((t, i) => axesOf(op, t, spec[i], `${path}[${i}]`, what));
  }
  if (typeof spec !== "object" || tree instanceof Tensor || Array.isArray(tree)) {
    throw new Error(
      `${op}: ${what} for ${path} is an object but ${path} is not; expected matching structures`,
    );
  }
  const s = spec as { readonly [key: string]: AxisSpec };
  return Object.entries(tree).flatMap(([k, t]) => {
    if (!(k in s)) {
      throw new Error(`${op}: ${what} for ${path} has no entry for key ${JSON.stringify(k)}`);
    }
    return axesOf(op, t as Tree, s[k], `${path}.${k}`, what);
  });
}

/** `axis` normalized for rank `rank` (negative counts from the end), or a clear error. */
function normAxis(op: string, axis: number, rank: number, what: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw new Error(
      `${op}: batch axis ${axis} is out of range for ${what}; expected -${rank} <= axis < ${rank}`,
    );
  }
  return a;
}

/** Moves axis `from` of `x` to position `to`. */
function moveAxis(x: Node, from: number, to: number): Node {
  if (from === to) return x;
  const rest = x.shape.map((_, i) => i).filter((i) => i !== from);
  rest.splice(to, 0, from);
  return ir.permute(x, rest);
}

/**
 * Vectorizes `f` over a batch axis of its arguments: `vmap(f)(xs)` equals stacking `f(x)` for
 * each sample `x` of `xs`, computed as one program. Composes with `grad`, `jvp` and itself, so
 * `vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys)` gives per-sample gradients.
 *
 * `f` is called once, on tensors shaped like one sample (the batch axis removed), and must only
 * build tensor ops. Every batched argument must have the same extent along its batch axis.
 *
 * @example Per-row dot products, with the second argument shared by every row
 * ```ts
 * import { Tensor, vmap } from "@symgrad/symgrad";
 * const dot = (a: Tensor, b: Tensor) => a.mul(b).sum();
 * const rows = Tensor.from([[1, 2], [3, 4], [5, 6]]);
 * const out = vmap(dot, { inAxes: [0, null] })(rows, Tensor.from([1, 10]));
 * console.log(await out.data()); // Float32Array [21, 43, 65]
 * ```
 */
export function vmap<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  opts: VmapOptions = {},
): (...args: A) => R {
  // `null` is a meaningful spec (nothing batched), so only an absent option takes the default.
  const inAxes = opts.inAxes === undefined ? 0 : opts.inAxes;
  const outAxes = opts.outAxes === undefined ? 0 : opts.outAxes;
  return (...args: A): R => {
    const leaves = args.flatMap((a, i) => treeLeaves(a, "vmap", `argument ${i}`));
    const paths = args.flatMap((a, i) => leafPaths(a, `argument ${i}`));
    const axes = axesOf("vmap", args, inAxes, "arguments", "inAxes");
    const normalized = axes.map((ax, i) =>
      ax === null ? null : normAxis(
        "vmap",
        ax,
        leaves[i].ndim,
        `${paths[i]} of shape ${fmtShape(leaves[i].shape)}`,
      )
    );
    const batchedIdx = normalized.flatMap((ax, i) => (ax === null ? [] : [i]));
    if (batchedIdx.length === 0) {
      throw new Error("vmap: no argument is batched (every inAxes is null); expected at least one");
    }
    const size = leaves[batchedIdx[0]].shape[normalized[batchedIdx[0]]!];
    if (batchedIdx.some((i) => leaves[i].shape[normalized[i]!] !== size)) {
      const sizes = batchedIdx.map((i) =>
        `${paths[i]} has ${leaves[i].shape[normalized[i]!]} along axis ${normalized[i]} ` +
        `(shape ${fmtShape(leaves[i].shape)})`
      );
      throw new Error(
        `vmap: batched arguments have different batch sizes: ${sizes.join(", ")}; expected ` +
          `one size`,
      );
    }
    const env = new Map<Node, Node>();
    const proxies = leaves.map((leaf, i) => {
      const ax = normalized[i];
      if (ax === null) return leaf;
      const proxy = proxyLeaf(leaf.shape.filter((_, k) => k !== ax), leaf.node, TRACED_READ);
      env.set(proxy, moveAxis(leaf.node, ax, 0));
      return new Tensor(proxy, leaf.backend);
    });
    let offset = 0;
    const traced = args.map((a) => {
      const n = treeLeaves(a).length;
      const part = proxies.slice(offset, offset + n);
      offset += n;
      return treeUnflatten(a, part);
    }) as A;
    const out = f(...traced);
    const outLeaves = treeLeaves(out, "vmap", "result");
    const outAx = axesOf("vmap", out, outAxes, "result", "outAxes");
    const outPaths = leafPaths(out, "result");
    const values = batchNodes(outLeaves.map((o) => o.node), env, size);
    const results = values.map((v, i) => {
      const ax = outAx[i];
      if (ax === null) {
        if (v.batched) {
          throw new Error(
            `vmap: ${outPaths[i]} depends on a batched argument but its outAxes is null; ` +
              `expected an axis for it`,
          );
        }
        return new Tensor(v.node, outLeaves[i].backend);
      }
      const rank = v.node.shape.length + (v.batched ? 0 : 1);
      const to = normAxis("vmap", ax, rank, `${outPaths[i]} (batched rank ${rank})`);
      return new Tensor(moveAxis(lift(v.node, v.batched, size), 0, to), outLeaves[i].backend);
    });
    return treeUnflatten(out, results);
  };
}

/** Readable paths of `tree`'s leaves, in leaf order (for error messages). */
function leafPaths(tree: Tree, path: string): string[] {
  if (tree instanceof Tensor) return [path];
  if (Array.isArray(tree)) return tree.flatMap((t, i) => leafPaths(t, `${path}[${i}]`));
  return Object.entries(tree).flatMap(([k, t]) => leafPaths(t as Tree, `${path}.${k}`));
}
