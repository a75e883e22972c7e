/**
 * Function transforms over tensors: `grad`, `valueAndGrad`, `vjp`, the graph-level
 * `gradients`, `customVjp` for composites, and forward mode: `jvp` and `linearize`.
 *
 * Arguments and results may be nested arrays and objects of tensors ("trees"); gradients come
 * back in the same structure.
 *
 * @example Second derivative of x³
 * ```ts
 * import { grad, Tensor } from "@symgrad/symgrad";
 * const f = (x: Tensor) => x.mul(x).mul(x).sum();
 * const d2 = grad((x: Tensor) => grad(f)(x).sum());
 * console.log(await d2(Tensor.from([2])).data()); // Float32Array [12]
 * ```
 *
 * @module
 */

import { defineCustomVjp, vjpNodes } from "./autodiff.ts";
import { isFloat } from "./dtype.ts";
import * as ir from "./ir.ts";
import { jvpNodes, materialize } from "./jvp.ts";
import { proxyLeaf, substitute } from "./rewrite.ts";
import { fmtShape, shapesEqual } from "./shape.ts";
import { Tensor } from "./tensor.ts";

/** Nested arrays and plain objects whose leaves are tensors. */
export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

/** The tensor leaves of a tree, in a fixed order (arrays by index, objects by key order). */
export function treeLeaves(tree: Tree, op = "tree", path = "arg"): Tensor[] {
  if (tree instanceof Tensor) return [tree];
  if (Array.isArray(tree)) {
    return tree.flatMap((t, i) => treeLeaves(t, op, `${path}[${i}]`));
  }
  if (tree !== null && typeof tree === "object") {
    return Object.entries(tree).flatMap(([k, t]) => treeLeaves(t as Tree, op, `${path}.${k}`));
  }
  throw new Error(
    `${op}: ${path} is a ${typeof tree}; expected a tensor or nested arrays/objects of tensors`,
  );
}

/** Rebuilds `tree`'s structure with its leaves replaced, in order, by `leaves`. */
export function treeUnflatten<T extends Tree>(
  tree: T,
  leaves: readonly Tensor[],
): T {
  let i = 0;
  const build = (t: Tree): Tree => {
    if (t instanceof Tensor) return leaves[i++];
    if (Array.isArray(t)) return t.map(build);
    return Object.fromEntries(
      Object.entries(t).map(([k, v]) => [k, build(v as Tree)]),
    );
  };
  return build(tree) as T;
}

function requireFloat(op: string, t: Tensor, what: string): void {
  if (!isFloat(t.dtype)) {
    throw new Error(
      `${op}: ${what} has dtype ${t.dtype}; expected float32 or float64 ` +
        `(int32 and bool tensors have no gradient)`,
    );
  }
}

/**
 * Lazy gradients of `y` with respect to each of `xs`, seeded with `dy` (default: ones, which
 * for a scalar `y` is the ordinary gradient). The result is part of the same graph, so it can be
 * differentiated again.
 */
export function gradients(
  y: Tensor,
  xs: readonly Tensor[],
  dy?: Tensor,
): Tensor[] {
  requireFloat("gradients", y, "the output");
  xs.forEach((x, i) => requireFloat("gradients", x, `input ${i}`));
  if (dy !== undefined && !shapesEqual(dy.shape, y.shape)) {
    throw new Error(
      `gradients: seed shape ${fmtShape(dy.shape)} differs from output shape ${
        fmtShape(y.shape)
      }; ` +
        `expected equal shapes`,
    );
  }
  const seed = dy === undefined ? ir.constNode(1, y.shape, y.dtype) : ir.cast(dy.node, y.dtype);
  return vjpNodes([y.node], [seed], xs.map((x) => x.node)).map((g) => new Tensor(g, y.backend));
}

/** Options of `grad` and `valueAndGrad`. */
export interface GradOptions {
  /** Which positional argument(s) to differentiate with respect to (default 0). */
  argnums?: number | readonly number[];
}

function scalarOutput(op: string, out: Tensor): Tensor {
  if (!(out instanceof Tensor) || out.size !== 1) {
    const shape = out instanceof Tensor ? fmtShape(out.shape) : typeof out;
    throw new Error(
      `${op}: f must return a tensor with one element, got ${shape}; use vjp for other outputs`,
    );
  }
  requireFloat(op, out, "the output of f");
  return out;
}

/**
 * Calls `f` with the `argnums` arguments replaced by stand-ins (see `traceArgs`) and returns
 * its scalar output and the gradient tree, both over the original arguments.
 */
function gradOf<A extends [Tree, ...unknown[]]>(
  op: string,
  f: (...args: A) => Tensor,
  args: A,
  argnums: number | readonly number[],
): [Tensor, Tree] {
  const nums = typeof argnums === "number" ? [argnums] : argnums;
  for (const k of nums) {
    if (!Number.isInteger(k) || k < 0 || k >= args.length) {
      throw new Error(
        `${op}: argnums ${k} is out of range for ${args.length} arguments`,
      );
    }
  }
  const trees = nums.map((k) => args[k] as Tree);
  const leaves = trees.map((t, j) => treeLeaves(t, op, `argument ${nums[j]}`));
  const { proxies, traced, env } = traceArgs(op, trees);
  const tracedArgs = [...args] as A;
  nums.forEach((k, j) => (tracedArgs[k] = traced[j]));
  // Without stand-ins `f` gets its arguments exactly as passed.
  let out = scalarOutput(op, f(...(env.size === 0 ? args : tracedArgs)));
  let grads = gradients(out, proxies);
  if (env.size > 0) {
    const [o, ...gs] = substitute([out.node, ...grads.map((g) => g.node)], env);
    out = new Tensor(o, out.backend);
    grads = gs.map((g, i) => new Tensor(g, grads[i].backend));
  }
  let offset = 0;
  const results = trees.map((t, j) => {
    const part = grads.slice(offset, offset + leaves[j].length);
    offset += leaves[j].length;
    return treeUnflatten(t, part);
  });
  return [out, typeof argnums === "number" ? results[0] : results];
}

/**
 * The gradient of a scalar-valued `f` as a function: with the default `argnums` it returns a
 * tree shaped like the first argument. Gradients follow tensors: a realized argument that `f`
 * also reads through a closure is differentiated there too; a lazy argument is traced through
 * a stand-in leaf (see `traceArgs`).
 */
export function grad<A extends [Tree, ...unknown[]]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => A[0] {
  return (...args: A) => gradOf("grad", f, args, opts.argnums ?? 0)[1] as A[0];
}

/** Like {@link grad}, returning `[value, gradient]`. */
export function valueAndGrad<A extends [Tree, ...unknown[]]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => [Tensor, A[0]] {
  return (...args: A) => gradOf("valueAndGrad", f, args, opts.argnums ?? 0) as [Tensor, A[0]];
}

/**
 * Evaluates `f(...args)` lazily and returns it with its vector-Jacobian product: `pullback(ct)`
 * maps a cotangent shaped like the output to one cotangent tree per argument. Arguments are
 * followed as by {@link grad} (lazy ones through stand-in leaves).
 */
export function vjp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...args: A
): [R, (ct: R) => A] {
  const argLeaves = args.map((a, i) => treeLeaves(a, "vjp", `argument ${i}`));
  const { proxies, traced, env } = traceArgs("vjp", args);
  const sub = (nodes: ir.Node[]) => (env.size === 0 ? nodes : substitute(nodes, env));
  const tracedOut = f(...(env.size === 0 ? args : traced));
  const outLeaves = treeLeaves(tracedOut, "vjp", "output");
  outLeaves.forEach((o, i) => requireFloat("vjp", o, `output leaf ${i}`));
  const out = env.size === 0 ? tracedOut : treeUnflatten(
    tracedOut,
    sub(outLeaves.map((o) => o.node)).map((n, i) => new Tensor(n, outLeaves[i].backend)),
  );
  const pullback = (ct: R): A => {
    const ctLeaves = treeLeaves(ct, "vjp", "cotangent");
    if (ctLeaves.length !== outLeaves.length) {
      throw new Error(
        `vjp: cotangent has ${ctLeaves.length} tensors; expected ${outLeaves.length} like the output`,
      );
    }
    ctLeaves.forEach((c, i) => {
      if (!shapesEqual(c.shape, outLeaves[i].shape)) {
        throw new Error(
          `vjp: cotangent ${i} has shape ${fmtShape(c.shape)}; expected ${
            fmtShape(outLeaves[i].shape)
          }`,
        );
      }
    });
    const flat = sub(vjpNodes(
      outLeaves.map((o) => o.node),
      ctLeaves.map((c, i) => ir.cast(c.node, outLeaves[i].dtype)),
      proxies.map((x) => x.node),
    )).map((g) => new Tensor(g, outLeaves[0]?.backend));
    let offset = 0;
    return args.map((a, i) => {
      const part = flat.slice(offset, offset + argLeaves[i].length);
      offset += argLeaves[i].length;
      return treeUnflatten(a, part);
    }) as unknown as A;
  };
  return [out, pullback];
}

/**
 * Wraps a composite `forward` so that its gradient is `backward(g, out, ...args)` instead of the
 * gradient of the primitives it is built from. `backward` returns one cotangent per argument
 * (`null` for none) and is itself differentiable if built from tensor ops.
 *
 * The rule holds under every transform: `vmap` runs it per sample (so `grad(vmap(f))` and
 * `jacrev(vmap(f))` use it), and forward mode (`jvp`, `jacfwd`, `hessian`) uses its transpose,
 * `J·t = ∂/∂g ⟨backward(g), t⟩`: exact for a `backward` linear in `g` (every true VJP), and the
 * linearization at `g = 0` otherwise (a clipped cotangent gives the forward's true tangent).
 * Only the arguments receive derivatives through the composite, in both modes: tensors that
 * `forward` reads through a closure get none.
 *
 * @example A straight-through estimator: a step forward, the identity backward
 * ```ts
 * import { customVjp, grad, Tensor, vmap } from "@symgrad/symgrad";
 * const step = customVjp((x: Tensor) => x.gt(0).cast(x.dtype), (g) => [g]);
 * const xs = Tensor.from([[-1, 2], [3, -4]]);
 * const g = grad((xs: Tensor) => vmap(step)(xs).sum())(xs);
 * console.log(await g.data()); // Float32Array [1, 1, 1, 1] (the true derivative is 0)
 * ```
 */
export function customVjp<A extends Tensor[]>(
  forward: (...args: A) => Tensor,
  backward: (g: Tensor, out: Tensor, ...args: A) => readonly (Tensor | null)[],
): (...args: A) => Tensor {
  return (...args: A) => {
    const out = forward(...args);
    defineCustomVjp(out.node, args.map((a) => a.node), (g) => {
      const grads = backward(new Tensor(g, out.backend), out, ...args);
      if (grads.length !== args.length) {
        throw new Error(
          `customVjp: backward returned ${grads.length} cotangents; expected ${args.length}`,
        );
      }
      return grads.map((t, i) => {
        if (t === null) return null;
        if (!shapesEqual(t.shape, args[i].shape)) {
          throw new Error(
            `customVjp: cotangent ${i} has shape ${fmtShape(t.shape)}; expected ${
              fmtShape(args[i].shape)
            }`,
          );
        }
        return ir.cast(t.node, args[i].dtype);
      });
    });
    return out;
  };
}

/**
 * A tangent for a tree of primals: the same structure, where `null` in place of any tensor or
 * subtree stands for a zero tangent.
 */
export type TangentTree =
  | Tensor
  | null
  | readonly TangentTree[]
  | { readonly [key: string]: TangentTree };

/** Tangent leaves paired with `primal`'s leaves; `null` (anywhere in the tree) is a zero. */
function tangentLeaves(
  op: string,
  primal: Tree,
  tangent: TangentTree,
  path: string,
): (Tensor | null)[] {
  if (tangent === null) return treeLeaves(primal, op, path).map(() => null);
  if (primal instanceof Tensor) {
    if (!(tangent instanceof Tensor)) {
      throw new Error(`${op}: the tangent of ${path} is not a tensor; expected one or null`);
    }
    requireFloat(op, tangent, `the tangent of ${path}`);
    if (!shapesEqual(tangent.shape, primal.shape)) {
      throw new Error(
        `${op}: the tangent of ${path} has shape ${fmtShape(tangent.shape)}; expected ${
          fmtShape(primal.shape)
        } like its primal`,
      );
    }
    return [tangent];
  }
  if (Array.isArray(primal)) {
    if (!Array.isArray(tangent) || tangent.length !== primal.length) {
      throw new Error(
        `${op}: the tangent of ${path} is not an array of ${primal.length}; expected the ` +
          `primal's structure`,
      );
    }
    return primal.flatMap((p, i) =>
      tangentLeaves(op, p, (tangent as readonly TangentTree[])[i], `${path}[${i}]`)
    );
  }
  const t = tangent as { readonly [key: string]: TangentTree };
  if (tangent instanceof Tensor || Array.isArray(tangent) || typeof tangent !== "object") {
    throw new Error(`${op}: the tangent of ${path} is not an object; expected the primal's keys`);
  }
  return Object.entries(primal).flatMap(([k, p]) => {
    if (!(k in t)) {
      throw new Error(`${op}: the tangent of ${path} has no key ${JSON.stringify(k)}`);
    }
    return tangentLeaves(op, p as Tree, t[k], `${path}.${k}`);
  });
}

/**
 * `args` with each tensor leaf replaced by a stand-in to differentiate against. A buffer leaf
 * (realized data) stands for itself, so reads of it through a closure are differentiated too,
 * as `grad` does. Any other node — a lazy or realized intermediate, or a leaf passed twice — is
 * replaced by a fresh proxy leaf (`env` maps it back), because the IR simplifies while it is
 * built (`reshape` of a `reshape` is one `reshape`) and `f` could otherwise build a graph that
 * never mentions the argument's node.
 */
export function traceArgs<A extends readonly Tree[]>(op: string, args: A) {
  const leaves = args.flatMap((a, i) => treeLeaves(a, op, `argument ${i}`));
  const message = `${op}: f read the data of an argument while it was traced; f must only ` +
    `build tensor ops (read the results of ${op} instead)`;
  const seen = new Set<ir.Node>();
  const env = new Map<ir.Node, ir.Node>();
  const proxies = leaves.map((l) => {
    if (l.node.op === "buffer" && !seen.has(l.node)) {
      seen.add(l.node);
      return l;
    }
    const p = new Tensor(proxyLeaf(l.shape, l.node, message), l.backend);
    env.set(p.node, l.node);
    return p;
  });
  let offset = 0;
  const traced = args.map((a) => {
    const n = treeLeaves(a).length;
    offset += n;
    return treeUnflatten(a, proxies.slice(offset - n, offset));
  }) as unknown as A;
  return { leaves, proxies, traced, env };
}

/**
 * Outputs and output tangents of `out`, traced on `proxies`, for tangents of the proxies, with
 * the proxies then replaced by the primals (`env`).
 */
function pushforward<R extends Tree>(
  op: string,
  out: R,
  proxies: readonly Tensor[],
  tangents: readonly (Tensor | null)[],
  env: ReadonlyMap<ir.Node, ir.Node>,
): [R, R] {
  const outLeaves = treeLeaves(out, op, "output");
  outLeaves.forEach((o, i) => requireFloat(op, o, `output leaf ${i}`));
  const live = proxies.flatMap((_, i) => (tangents[i] === null ? [] : [i]));
  const ys = outLeaves.map((o) => o.node);
  const ts = jvpNodes(
    ys,
    live.map((i) => proxies[i].node),
    live.map((i) => tangents[i]!.node),
  ).map((t, i) => materialize(t, ys[i]));
  const all = env.size === 0 ? [...ys, ...ts] : substitute([...ys, ...ts], env);
  const wrap = (nodes: ir.Node[]) =>
    treeUnflatten(out, nodes.map((n, i) => new Tensor(n, outLeaves[i].backend)));
  return [wrap(all.slice(0, ys.length)), wrap(all.slice(ys.length))];
}

/**
 * Forward mode: evaluates `f(...primals)` and the Jacobian-vector product at `tangents`,
 * returning `[outputs, outputTangents]` (both shaped like `f`'s result). `tangents` has the
 * structure of `primals`; `null` in place of a tensor or a subtree is a zero tangent, which
 * costs nothing. Both results are lazy graphs: `jvp` of `grad` and `grad` of `jvp` work.
 *
 * Tangents follow tensors, as gradients do: a realized primal that `f` also reads through a
 * closure moves along its tangent there too. A lazy primal (an intermediate) is traced through a
 * fresh leaf and substituted back afterwards. A custom-VJP composite's tangent is the transpose
 * of its rule, so forward and reverse mode agree (see {@link customVjp}); `detach` has a zero
 * tangent.
 *
 * @example The directional derivative of sin(x)·y
 * ```ts
 * import { jvp, Tensor } from "@symgrad/symgrad";
 * const f = (x: Tensor, y: Tensor) => x.sin().mul(y);
 * const x = Tensor.from([0, 1]), y = Tensor.from([2, 3]);
 * const [out, dout] = jvp(f, [x, y], [Tensor.from([1, 1]), null]);
 * console.log(await out.data(), await dout.data()); // sin(x)·y, cos(x)·y
 * ```
 */
export function jvp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  primals: A,
  tangents: readonly TangentTree[],
): [R, R] {
  if (!Array.isArray(primals) || !Array.isArray(tangents)) {
    throw new Error("jvp: primals and tangents must be arrays (one entry per argument of f)");
  }
  if (tangents.length !== primals.length) {
    throw new Error(
      `jvp: ${tangents.length} tangents for ${primals.length} primals; expected one per argument`,
    );
  }
  const tLeaves = primals.flatMap((p, i) => tangentLeaves("jvp", p, tangents[i], `argument ${i}`));
  const { proxies, traced, env } = traceArgs("jvp", primals);
  const out = f(...(env.size === 0 ? primals : traced));
  return pushforward("jvp", out, proxies, tLeaves, env);
}

/**
 * Evaluates `f(...primals)` and returns it with its linearization: `fLin(...tangents)` is the
 * Jacobian-vector product at the primals (tangents shaped like the primals, `null` for zero).
 * `f` is traced once; each `fLin` call adds only tangent nodes, which reuse the primal graph
 * (shared subgraphs compute once when realized together).
 *
 * @example
 * ```ts
 * import { linearize, Tensor } from "@symgrad/symgrad";
 * const [y, fLin] = linearize((x: Tensor) => x.mul(x).sum(), Tensor.from([1, 2]));
 * console.log(await y.item(), await fLin(Tensor.from([1, 0])).item()); // 5 2
 * ```
 */
export function linearize<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...primals: A
): [R, (...tangents: readonly TangentTree[]) => R] {
  const { proxies, traced, env } = traceArgs("linearize", primals);
  const traceOut = f(...(env.size === 0 ? primals : traced));
  const none = proxies.map(() => null);
  const [out] = pushforward("linearize", traceOut, proxies, none, env);
  const fLin = (...tangents: readonly TangentTree[]): R => {
    if (tangents.length !== primals.length) {
      throw new Error(
        `linearize: ${tangents.length} tangents for ${primals.length} primals; expected one ` +
          `per argument`,
      );
    }
    const tLeaves = primals.flatMap((p, i) =>
      tangentLeaves("linearize", p, tangents[i], `argument ${i}`)
    );
    return pushforward("linearize", traceOut, proxies, tLeaves, env)[1];
  };
  return [out, fLin];
}
