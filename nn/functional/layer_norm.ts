/**
 * Layer normalization as a pure function.
 *
 * @module
 */

import { fmtShape, markComposite, type Tensor } from "../_deps.ts";
import { moments } from "./moments.ts";

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Elementwise scale, shaped like the normalized trailing axes. */
  weight?: Tensor | null;
  /** Elementwise shift, shaped like the normalized trailing axes. */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Layer normalization over the trailing axes `normalizedShape` (mean and biased variance).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { layerNorm } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[1, 3], [10, 30]], { dtype: "float64" });
 * console.log(await layerNorm(x, [2]).data()); // ≈ [-1, 1, -1, 1]
 * ```
 */
export function layerNorm(
  x: Tensor,
  normalizedShape: readonly number[],
  opts: LayerNormOptions = {},
): Tensor {
  const { eps = 1e-5 } = opts;
  const k = normalizedShape.length;
  if (k === 0 || x.ndim < k || x.shape.slice(x.ndim - k).join(",") !== normalizedShape.join(",")) {
    throw new Error(
      `layerNorm: input ${fmtShape(x.shape)} does not end with the normalized shape ` +
        `${fmtShape(normalizedShape)}`,
    );
  }
  const axes = normalizedShape.map((_, i) => x.ndim - k + i);
  const { mean, variance } = moments(x, axes);
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (opts.weight) y = y.mul(opts.weight);
  if (opts.bias) y = y.add(opts.bias);
  const exact = [opts.weight, opts.bias].every((t) =>
    !t || t.shape.join(",") === normalizedShape.join(",")
  );
  if (exact) {
    const inputs = [x, opts.weight, opts.bias].map((t) => t?.node ?? null);
    markComposite(y.node, "layer_norm", inputs, { axes: k, eps });
  }
  return y;
}
