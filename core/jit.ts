/**
 * `jit`: run a function of tensors as one fused, cached program.
 *
 * Tensors are lazy, so calling `fn` only builds a graph; `jit` then realizes every returned
 * tensor together (one schedule, shared subgraphs computed once). Compiled programs are cached by
 * graph structure, so calling the jitted function again with new data of the same shapes and
 * dtypes compiles nothing.
 *
 * @example A jitted training-style step
 * ```ts
 * import { jit, Tensor } from "@symgrad/symgrad";
 * const step = jit((x: Tensor, w: Tensor) => ({ y: x.mul(w).sum(), w2: w.mul(0.5) }));
 * const { y, w2 } = await step(Tensor.from([1, 2]), Tensor.from([3, 4]));
 * console.log(await y.item(), await w2.data()); // 11 Float32Array [1.5, 2]
 * ```
 *
 * @module
 */

import { realize, type Tensor } from "./tensor.ts";
import { type Tree, treeLeaves } from "./transforms.ts";

/**
 * Wraps `fn` so that each call realizes all tensors of its result together and resolves to the
 * result (same tree structure, every tensor realized).
 */
export function jit<A extends unknown[], R extends Tree>(
  fn: (...args: A) => R,
): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    const out = fn(...args);
    const leaves: Tensor[] = treeLeaves(out, "jit", "result");
    await realize(...leaves);
    return out;
  };
}
