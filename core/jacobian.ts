/**
 * Jacobians and Hessians: `jacrev`, `jacfwd` and `hessian`, each built with `vmap` over basis
 * vectors, so a whole Jacobian is one lazy graph (one program when realized), not a loop over
 * its rows or columns.
 *
 * Like `grad`, each differentiates with respect to the argument(s) named by `argnums` (default:
 * the first). For an output leaf of shape `O` and an input leaf of shape `I`, the Jacobian block
 * has shape `[...O, ...I]`. The result has the structure of `f`'s result with each output leaf
 * replaced by the structure `grad` would return (a tree like the argument for a single
 * `argnums`, an array of such trees for an array): JAX's layout.
 *
 * @module
 */

import { isFloat } from "./dtype.ts";
import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";
import { jvpNodes, materialize } from "./jvp.ts";
import { Tensor } from "./tensor.ts";
import { substitute } from "./rewrite.ts";
import {
  gradients,
  type GradOptions,
  traceArgs,
  type Tree,
  treeLeaves,
  treeUnflatten,
} from "./transforms.ts";
import { vmap } from "./vmap.ts";

/**
 * The type of a Jacobian: `f`'s result structure with each tensor replaced by a tree shaped
 * like the differentiated argument `X` (with an array `argnums`, an array of such trees: cast).
 */
export type JacobianTree<R, X> = R extends Tensor ? X
  : { readonly [K in keyof R]: JacobianTree<R[K], X> };

/** The `n × n` identity, built lazily from a padded constant (no data is uploaded). */
export function eyeNode(n: number, like: Node): Node {
  // Rows [1, 0, …, 0] of length n + 1, read back as n rows of n: the ones land on the diagonal.
  const padded = ir.pad(ir.constNode(1, [n, 1], like.dtype), [[0, 0], [0, n]]);
  const flat = ir.slice(ir.reshape(padded, [n * (n + 1)]), [0], [n * n]);
  return ir.reshape(flat, [n, n]);
}

/** One basis vector per element of `like`, stacked: shape `[like.size, ...like.shape]`. */
function basis(like: Tensor): Tensor {
  return new Tensor(
    ir.reshape(eyeNode(like.size, like.node), [like.size, ...like.shape]),
    like.backend,
  );
}

function selectArgs(op: string, args: readonly unknown[], argnums: number | readonly number[]) {
  const nums = typeof argnums === "number" ? [argnums] : [...argnums];
  for (const k of nums) {
    if (!Number.isInteger(k) || k < 0 || k >= args.length) {
      throw new Error(`${op}: argnums ${k} is out of range for ${args.length} arguments`);
    }
  }
  const trees = nums.map((k) => args[k] as Tree);
  const leaves = trees.map((t, j) => treeLeaves(t, op, `argument ${nums[j]}`));
  leaves.flat().forEach((x, i) => {
    if (!isFloat(x.dtype)) {
      throw new Error(`${op}: input leaf ${i} has dtype ${x.dtype}; expected float32 or float64`);
    }
  });
  return { nums, trees, leaves };
}

/** Rebuilds the `argnums` structure (like `grad`'s result) from blocks in leaf order. */
function argStructure(
  trees: readonly Tree[],
  leaves: readonly Tensor[][],
  blocks: readonly Tensor[],
  argnums: number | readonly number[],
): Tree {
  let offset = 0;
  const parts = trees.map((t, j) => {
    const part = blocks.slice(offset, offset + leaves[j].length);
    offset += leaves[j].length;
    return treeUnflatten(t, part);
  });
  return typeof argnums === "number" ? parts[0] : parts;
}

/** Replaces each leaf of `out` with `perLeaf(i)` (any value), keeping the structure. */
function mapOutput(out: Tree, perLeaf: (i: number) => unknown): unknown {
  let i = 0;
  const build = (t: Tree): unknown => {
    if (t instanceof Tensor) return perLeaf(i++);
    if (Array.isArray(t)) return t.map(build);
    return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, build(v as Tree)]));
  };
  return build(out);
}

/**
 * Traces `f` on stand-ins for its arguments (see `traceArgs`), lets `blocks` build the block
 * `[j][i]` of output leaf `j` and differentiated input leaf `i`, maps the stand-ins back and
 * arranges the blocks as the result of `f` with `argnums`-shaped trees at its leaves.
 */
function jacobianOf(
  op: string,
  // deno-lint-ignore no-explicit-any
  f: (...args: any[]) => Tree,
  args: readonly unknown[],
  argnums: number | readonly number[],
  blocks: (ys: Tensor[], xs: Tensor[]) => Tensor[][],
): unknown {
  const { nums, trees, leaves } = selectArgs(op, args, argnums);
  const { traced, env } = traceArgs(op, trees);
  const tracedArgs = [...args];
  nums.forEach((k, j) => (tracedArgs[k] = traced[j]));
  const xs = traced.flatMap((t) => treeLeaves(t));
  const out = f(...tracedArgs);
  const ys = floatOutputs(op, out);
  const built = blocks(ys, xs);
  const flat = built.flat();
  const nodes = env.size === 0 ? flat.map((t) => t.node) : substitute(flat.map((t) => t.node), env);
  let k = 0;
  return mapOutput(out, (j) => {
    const row = built[j].map((t) => new Tensor(nodes[k++], t.backend));
    return argStructure(trees, leaves, row, argnums);
  });
}

function floatOutputs(op: string, out: Tree): Tensor[] {
  const leaves = treeLeaves(out, op, "result");
  leaves.forEach((o, i) => {
    if (!isFloat(o.dtype)) {
      throw new Error(`${op}: output leaf ${i} has dtype ${o.dtype}; expected float32 or float64`);
    }
  });
  return leaves;
}

/**
 * The Jacobian of `f` by reverse mode: one vector-Jacobian product per output element, batched
 * with `vmap` over the rows of an identity. Cheapest when outputs are smaller than inputs.
 *
 * @example
 * ```ts
 * import { jacrev, Tensor } from "@symgrad/symgrad";
 * const J = jacrev((x: Tensor) => x.mul(x))(Tensor.from([1, 2, 3]));
 * console.log(J.shape, await J.data()); // [3, 3], diag(2, 4, 6)
 * ```
 */
export function jacrev<A extends [Tree, ...unknown[]], R extends Tree>(
  f: (...args: A) => R,
  opts: GradOptions = {},
): (...args: A) => JacobianTree<R, A[0]> {
  const argnums = opts.argnums ?? 0;
  return (...args: A) =>
    jacobianOf("jacrev", f, args, argnums, (ys, xs) =>
      ys.map((y) => {
        const rows = vmap((ct: Tensor) => gradients(y, xs, ct))(basis(y));
        return rows.map((r, i) => r.reshape([...y.shape, ...xs[i].shape]));
      })) as JacobianTree<R, A[0]>;
}

/**
 * The Jacobian of `f` by forward mode: one Jacobian-vector product per input element, batched
 * with `vmap` over the rows of an identity. Cheapest when inputs are smaller than outputs.
 *
 * @example
 * ```ts
 * import { jacfwd, Tensor } from "@symgrad/symgrad";
 * const J = jacfwd((x: Tensor) => x.sin())(Tensor.from([0, 0]));
 * console.log(await J.data()); // Float32Array [1, 0, 0, 1]
 * ```
 */
export function jacfwd<A extends [Tree, ...unknown[]], R extends Tree>(
  f: (...args: A) => R,
  opts: GradOptions = {},
): (...args: A) => JacobianTree<R, A[0]> {
  const argnums = opts.argnums ?? 0;
  return (...args: A) =>
    jacobianOf("jacfwd", f, args, argnums, (ys, xs) => {
      const yNodes = ys.map((y) => y.node);
      // cols[i][j]: d ys[j] / d xs[i], batched over the elements of xs[i] (the last axis).
      const cols = xs.map((x) =>
        vmap(
          (t: Tensor) =>
            jvpNodes(yNodes, [x.node], [t.node]).map((dy, j) =>
              new Tensor(materialize(dy, yNodes[j]), ys[j].backend)
            ),
          { outAxes: -1 },
        )(basis(x))
      );
      return ys.map((y, j) => xs.map((x, i) => cols[i][j].reshape([...y.shape, ...x.shape])));
    }) as JacobianTree<R, A[0]>;
}

/**
 * The Hessian of a scalar-valued `f`, forward over reverse: `jacfwd(jacrev(f))`. For an input
 * leaf of shape `I` the block has shape `[...I, ...I]`.
 *
 * @example The Hessian of Σ x³ is diag(6x)
 * ```ts
 * import { hessian, Tensor } from "@symgrad/symgrad";
 * const H = hessian((x: Tensor) => x.mul(x).mul(x).sum())(Tensor.from([1, 2]));
 * console.log(await H.data()); // Float32Array [6, 0, 0, 12]
 * ```
 */
export function hessian<A extends [Tree, ...unknown[]]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => JacobianTree<A[0], A[0]> {
  const scalar = (...args: A): Tensor => {
    const y = f(...args);
    if (!(y instanceof Tensor) || y.size !== 1) {
      throw new Error(
        `hessian: f must return a tensor with one element, got ${
          y instanceof Tensor ? `shape [${y.shape.join(", ")}]` : typeof y
        }; use jacfwd(jacrev(f)) for other outputs`,
      );
    }
    return y.reshape([]);
  };
  return jacfwd(jacrev(scalar, opts), opts) as (...args: A) => JacobianTree<A[0], A[0]>;
}
