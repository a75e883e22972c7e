/**
 * `LayerNorm` with PyTorch's semantics and state names.
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { layerNorm } from "./functional/layer_norm.ts";
import type { Placement } from "./init.ts";
import { Module } from "./module.ts";

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions extends Placement {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn an elementwise `weight` and `bias` over the normalized shape (default `true`). */
  elementwiseAffine?: boolean;
}

/**
 * Layer normalization over the trailing axes `normalizedShape` (`torch.nn.LayerNorm`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { LayerNorm } from "@symgrad/symgrad/nn";
 * const ln = new LayerNorm([4]);
 * console.log(ln.forward(Tensor.randn([2, 4], { seed: 1 })).shape); // [2, 4]
 * ```
 */
export class LayerNorm extends Module {
  /** The normalized trailing shape. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance. */
  readonly eps: number;
  /** Whether `weight` and `bias` exist. */
  readonly elementwiseAffine: boolean;
  /** Elementwise scale (ones), or `null`. */
  weight: Tensor | null;
  /** Elementwise shift (zeros), or `null`. */
  bias: Tensor | null;

  /** Normalizes over the last axes of shape `normalizedShape` (a number means `[n]`). */
  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new Error(
        `LayerNorm: normalizedShape ${JSON.stringify(normalizedShape)} must be positive integers`,
      );
    }
    this.normalizedShape = shape;
    this.eps = opts.eps ?? 1e-5;
    this.elementwiseAffine = opts.elementwiseAffine ?? true;
    this.weight = this.elementwiseAffine ? T.ones(shape, opts) : null;
    this.bias = this.elementwiseAffine ? T.zeros(shape, opts) : null;
  }

  /** Normalizes `x` over its trailing axes. */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, {
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
    });
  }
}
