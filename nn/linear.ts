/**
 * `Linear`: a fully connected layer with PyTorch's default initialization.
 *
 * @module
 */

import type { Tensor } from "./_deps.ts";
import { linear } from "./functional/linear.ts";
import { type InitOptions, kaimingUniform, uniform } from "./init.ts";
import { Module } from "./module.ts";

/** Options of {@link Linear}. */
export interface LinearOptions extends InitOptions {
  /** Learn an additive `bias` (default `true`). */
  bias?: boolean;
}

/**
 * `y = x · Wᵀ + b` (`torch.nn.Linear`): weight `[out, in]` from Kaiming-uniform with `a = √5`
 * and bias `[out]` from `U(-1/√in, 1/√in)`, both seeded by `seed` (bias uses `seed + 1`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Linear } from "@symgrad/symgrad/nn";
 * const fc = new Linear(3, 2, { seed: 0 });
 * console.log(fc.forward(Tensor.ones([5, 3])).shape); // [5, 2]
 * ```
 */
export class Linear extends Module {
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;
  /** Weight `[out, in]`. */
  weight: Tensor;
  /** Bias `[out]`, or `null`. */
  bias: Tensor | null;

  /** A layer mapping `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions = {}) {
    super();
    for (const [what, n] of [["inFeatures", inFeatures], ["outFeatures", outFeatures]] as const) {
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(`Linear: ${what} must be a positive integer, got ${n}`);
      }
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = kaimingUniform([outFeatures, inFeatures], inFeatures, {
      ...opts,
      a: Math.sqrt(5),
    });
    const seed = opts.seed === undefined ? undefined : opts.seed + 1;
    this.bias = opts.bias === false
      ? null
      : uniform([outFeatures], 1 / Math.sqrt(inFeatures), { ...opts, seed });
  }

  /** Applies the affine map to the last axis of `x`. */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
