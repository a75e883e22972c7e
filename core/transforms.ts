/**
 * Function transforms over tensors: `grad`, `valueAndGrad`, `vjp`, the graph-level
 * `gradients`, and `customVjp` for composites.
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
      `${op}: ${what} has dtype ${t.dtype}; expected float32 or float64`,
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

function gradOf(
  op: string,
  out: Tensor,
  args: readonly unknown[],
  argnums: number | readonly number[],
): Tree {
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
  const grads = gradients(out, leaves.flat());
  let offset = 0;
  const results = trees.map((t, j) => {
    const part = grads.slice(offset, offset + leaves[j].length);
    offset += leaves[j].length;
    return treeUnflatten(t, part);
  });
  return typeof argnums === "number" ? results[0] : results;
}

/**
 * The gradient of a scalar-valued `f` as a function: with the default `argnums` it returns a
 * tree shaped like the first argument.
 */
export function grad<A extends [Tree, ...unknown[]]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => A[0] {
  return (...args: A) =>
    gradOf(
      "grad",
      scalarOutput("grad", f(...args)),
      args,
      opts.argnums ?? 0,
    ) as A[0];
}

/** Like {@link grad}, returning `[value, gradient]`. */
export function valueAndGrad<A extends [Tree, ...unknown[]]>(
  f: (...args: A) => Tensor,
  opts: GradOptions = {},
): (...args: A) => [Tensor, A[0]] {
  return (...args: A) => {
    const out = scalarOutput("valueAndGrad", f(...args));
    return [out, gradOf("valueAndGrad", out, args, opts.argnums ?? 0) as A[0]];
  };
}

/**
 * Evaluates `f(...args)` lazily and returns it with its vector-Jacobian product: `pullback(ct)`
 * maps a cotangent shaped like the output to one cotangent tree per argument.
 */
export function vjp<A extends Tree[], R extends Tree>(
  f: (...args: A) => R,
  ...args: A
): [R, (ct: R) => A] {
  const out = f(...args);
  const outLeaves = treeLeaves(out, "vjp", "output");
  outLeaves.forEach((o, i) => requireFloat("vjp", o, `output leaf ${i}`));
  const argLeaves = args.map((a, i) => treeLeaves(a, "vjp", `argument ${i}`));
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
    const flat = vjpNodes(
      outLeaves.map((o) => o.node),
      ctLeaves.map((c, i) => ir.cast(c.node, outLeaves[i].dtype)),
      argLeaves.flat().map((x) => x.node),
    ).map((g) => new Tensor(g, outLeaves[0]?.backend));
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
