/**
 * `InstanceNorm2d` with PyTorch's semantics and state names.
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { BatchNormBase, type BatchNormOptions } from "./batchnorm.ts";
import { instanceNorm } from "./functional/instance_norm.ts";

/**
 * Instance normalization of `[N, C, H, W]` inputs (`torch.nn.InstanceNorm2d`): defaults
 * `affine: false` and `trackRunningStats: false`. With running statistics, training updates them
 * towards the batch averages of the instance statistics and evaluation mode uses them; the
 * counter `num_batches_tracked` is kept but, as in PyTorch, never incremented. Momentum `null`
 * is rejected at construction (PyTorch raises a TypeError at the first call).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { InstanceNorm2d } from "@symgrad/symgrad/nn";
 * const norm = new InstanceNorm2d(3);
 * console.log(norm.forward(Tensor.randn([2, 3, 4, 4], { seed: 1 })).shape); // [2, 3, 4, 4]
 * ```
 */
export class InstanceNorm2d extends BatchNormBase {
  /** Per-channel scale `[C]` (ones) with `affine`, else `null`. */
  weight: Tensor | null;
  /** Per-channel shift `[C]` (zeros) with `affine`, else `null`. */
  bias: Tensor | null;

  /** A layer over `numFeatures` channels. */
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super("InstanceNorm2d", numFeatures, {
      ...opts,
      affine: opts.affine ?? false,
      trackRunningStats: opts.trackRunningStats ?? false,
    });
    if (this.momentum === null) {
      throw new Error(
        "InstanceNorm2d: momentum null (cumulative average) is not supported; expected a number",
      );
    }
    this.weight = this.affine ? T.ones([numFeatures], opts) : null;
    this.bias = this.affine ? T.zeros([numFeatures], opts) : null;
    this.initBuffers(opts);
  }

  /** Normalizes each (sample, channel) plane. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) {
      throw new Error(`InstanceNorm2d: expected 4D input (got ${x.ndim}D input)`);
    }
    const tracking = this.running_mean !== null && this.running_var !== null;
    const useInputStats = this.training || !tracking;
    const out = instanceNorm(x, {
      runningMean: this.running_mean,
      runningVar: this.running_var,
      weight: this.weight,
      bias: this.bias,
      useInputStats,
      momentum: this.momentum!,
      eps: this.eps,
    });
    if (this.training && tracking) {
      this.running_mean = out.runningMean;
      this.running_var = out.runningVar;
    }
    return out.y;
  }
}
