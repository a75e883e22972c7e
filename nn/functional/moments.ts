/**
 * Mean and biased variance over some axes in one pass over the data.
 *
 * @module
 */

import type { Tensor } from "../_deps.ts";

/**
 * The mean and the biased variance of `x` over `axes` (kept as size-1 axes), both from the sums
 * of `D = x - K` and `D²`, where the shift `K` is the first element along the reduced axes
 * (detached): the two sums read the same data and fuse into one kernel, where `mean` then
 * `var` would take two passes. The shift keeps the moments near the data's spread, so
 * `E[D²] - E[D]²` loses only about `(mean - K)² / var` ulps to cancellation; neither value
 * depends on `K` (nor, therefore, their gradients).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { moments } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[1, 2, 3, 4], [10, 20, 30, 40]], { dtype: "float64" });
 * const { mean, variance } = moments(x, [1]);
 * console.log(await mean.data(), await variance.data()); // [2.5, 25], [1.25, 125]
 * ```
 */
export function moments(x: Tensor, axes: readonly number[]): { mean: Tensor; variance: Tensor } {
  const reduced = new Set(axes.map((a) => (a < 0 ? a + x.ndim : a)));
  const shift = x.slice(x.shape.map((d, a) => (reduced.has(a) ? [0, Math.min(d, 1)] : [0, d])))
    .detach();
  const d = x.sub(shift);
  const count = [...reduced].reduce((p, a) => p * x.shape[a], 1);
  const ax = [...reduced];
  const m = d.sum(ax, { keepdims: true }).mul(1 / count);
  const m2 = d.square().sum(ax, { keepdims: true }).mul(1 / count);
  return { mean: shift.add(m), variance: m2.sub(m.square()) };
}
