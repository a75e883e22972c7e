/**
 * Instance normalization as a pure function.
 *
 * @module
 */

import { fmtShape, type Tensor } from "../_deps.ts";
import { blend, perChannel, torchSize } from "./batch_norm.ts";

/** Options of {@link instanceNorm}. */
export interface InstanceNormOptions {
  /** Per-channel running mean `[C]` (used with `useInputStats: false`, updated otherwise). */
  runningMean?: Tensor | null;
  /** Per-channel running variance `[C]`. */
  runningVar?: Tensor | null;
  /** Per-channel scale `[C]`. */
  weight?: Tensor | null;
  /** Per-channel shift `[C]`. */
  bias?: Tensor | null;
  /** Normalize each instance by its own statistics (default `true`). */
  useInputStats?: boolean;
  /** Running-average weight (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/** The result of {@link instanceNorm}. */
export interface InstanceNormResult {
  /** The normalized input. */
  y: Tensor;
  /** Updated running mean (the batch average of the instance means), or the input value. */
  runningMean: Tensor | null;
  /** Updated running variance (the batch average of unbiased instance variances). */
  runningVar: Tensor | null;
}

/**
 * Instance normalization: each (sample, channel) plane is normalized by its own statistics, as
 * PyTorch's `F.instance_norm`; running statistics, when given, move towards the batch averages
 * of the instance statistics. An empty input leaves them unchanged (a deliberate difference:
 * torch 1.13 sets them to NaN).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { instanceNorm } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[[[1, 3]], [[10, 30]]]], { dtype: "float64" });
 * console.log(await instanceNorm(x).y.data()); // ≈ [-1, 1, -1, 1]
 * ```
 */
export function instanceNorm(x: Tensor, opts: InstanceNormOptions = {}): InstanceNormResult {
  const { useInputStats = true, momentum = 0.1, eps = 1e-5 } = opts;
  const runningMean = opts.runningMean ?? null, runningVar = opts.runningVar ?? null;
  if (x.ndim < 3) {
    throw new Error(`instanceNorm: expected an input [N, C, ...spatial], got ${fmtShape(x.shape)}`);
  }
  const axes = x.shape.map((_, i) => i).slice(2);
  let mean: Tensor, variance: Tensor;
  let newMean = runningMean, newVar = runningVar;
  if (useInputStats || runningMean === null || runningVar === null) {
    const n = x.size / (x.shape[0] * x.shape[1]);
    if (n === 1) {
      throw new Error(
        `instanceNorm: Expected more than 1 spatial element when training, got input size ${
          torchSize(x.shape)
        }`,
      );
    }
    mean = x.mean(axes, { keepdims: true });
    variance = x.var(axes, { correction: 0, keepdims: true });
    // An empty input has no statistics: the running ones stay (torch 1.13 makes them NaN).
    if (runningMean !== null && runningVar !== null && x.size > 0) {
      const c = x.shape[1];
      const flat = (t: Tensor) => t.detach().reshape([x.shape[0], c]).mean(0);
      newMean = blend(runningMean, flat(mean), momentum);
      newVar = blend(runningVar, flat(variance.mul(n / (n - 1))), momentum);
    }
  } else {
    mean = perChannel(runningMean, x.ndim);
    variance = perChannel(runningVar, x.ndim);
  }
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (opts.weight) y = y.mul(perChannel(opts.weight, x.ndim));
  if (opts.bias) y = y.add(perChannel(opts.bias, x.ndim));
  return { y, runningMean: newMean, runningVar: newVar };
}
