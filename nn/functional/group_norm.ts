/**
 * Group normalization as a pure function.
 *
 * @module
 */

import { fmtShape, markComposite, type Tensor } from "../_deps.ts";
import { perChannel } from "./batch_norm.ts";

/** Options of {@link groupNorm}. */
export interface GroupNormOptions {
  /** Per-channel scale `[C]`. */
  weight?: Tensor | null;
  /** Per-channel shift `[C]`. */
  bias?: Tensor | null;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Group normalization: the channels of each sample are split into `numGroups` groups, each
 * normalized by its own mean and biased variance over its channels and all further axes.
 *
 * @example Two groups of one channel each
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { groupNorm } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[[1, 3], [10, 30]]], { dtype: "float64" });
 * console.log(await groupNorm(x, 2).data()); // ≈ [-1, 1, -1, 1]
 * ```
 */
export function groupNorm(x: Tensor, numGroups: number, opts: GroupNormOptions = {}): Tensor {
  const { eps = 1e-5 } = opts;
  if (x.ndim < 2 || !Number.isInteger(numGroups) || numGroups < 1 || x.shape[1] % numGroups) {
    throw new Error(
      `groupNorm: cannot split input ${fmtShape(x.shape)} into ${numGroups} groups; expected ` +
        `[N, C, ...] with C divisible by the number of groups`,
    );
  }
  const grouped = x.reshape([x.shape[0], numGroups, -1]);
  const mean = grouped.mean(2, { keepdims: true });
  const variance = grouped.var(2, { correction: 0, keepdims: true });
  let y = grouped.sub(mean).mul(variance.add(eps).rsqrt()).reshape(x.shape);
  if (opts.weight) y = y.mul(perChannel(opts.weight, x.ndim));
  if (opts.bias) y = y.add(perChannel(opts.bias, x.ndim));
  if ([opts.weight, opts.bias].every((t) => !t || t.ndim === 1)) {
    const inputs = [x, opts.weight, opts.bias].map((t) => t?.node ?? null);
    markComposite(y.node, "group_norm", inputs, { groups: numGroups, eps });
  }
  return y;
}
