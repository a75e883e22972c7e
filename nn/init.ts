/**
 * Seeded parameter initializers with PyTorch's default distributions.
 *
 * @module
 */

import { type DType, Tensor } from "./_deps.ts";

/** Where and as what module tensors are created. */
export interface Placement {
  /** Element type of parameters and buffers (default `float32`). */
  dtype?: DType;
  /** Backend name (default: the current default backend). */
  backend?: string;
}

/** Options of the random initializers. */
export interface InitOptions extends Placement {
  /** Seed; the same seed gives the same values (default: the global seed counter). */
  seed?: number;
}

/**
 * Uniform samples in `[-bound, bound)`.
 *
 * @example
 * ```ts
 * import { uniform } from "@symgrad/symgrad/nn";
 * const w = uniform([2, 3], 0.5, { seed: 7 });
 * console.log(w.shape); // [2, 3]
 * ```
 */
export function uniform(shape: readonly number[], bound: number, opts: InitOptions = {}): Tensor {
  return Tensor.rand(shape, { ...opts, low: -bound, high: bound });
}

/**
 * Kaiming (He) uniform initialization: bound `gain · √(3 / fanIn)` with gain `√(2 / (1 + a²))`.
 * PyTorch's `Linear` and `Conv2d` use `a = √5`, which gives bound `1 / √fanIn`.
 *
 * @example
 * ```ts
 * import { kaimingUniform } from "@symgrad/symgrad/nn";
 * const w = kaimingUniform([4, 3], 3, { a: Math.sqrt(5), seed: 1 });
 * console.log(w.shape); // [4, 3]
 * ```
 */
export function kaimingUniform(
  shape: readonly number[],
  fanIn: number,
  opts: InitOptions & { a?: number } = {},
): Tensor {
  const a = opts.a ?? 0;
  const gain = Math.sqrt(2 / (1 + a * a));
  return uniform(shape, gain * Math.sqrt(3 / fanIn), opts);
}
