/**
 * `InstanceEnhancementBatchNorm2d` (IEBN, Liang et al., "Instance Enhancement Batch
 * Normalization", AAAI 2020).
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { BatchNormBase, type BatchNormOptions } from "./batchnorm.ts";
import { batchNorm } from "./functional/batch_norm.ts";

/**
 * Batch normalization whose per-channel scale is modulated per sample:
 * `y = BN(x) · γ · σ(w · GAP(x) + b) + β`, with `GAP` the spatial mean of each sample's channel
 * and `w = 0`, `b = -1` at init (parameters `weight_readjust`, `bias_readjust` of shape
 * `[1, C, 1, 1]`). Statistics and buffers follow `BatchNorm2d`; with `affine: false`, `γ = 1`
 * and `β = 0`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { InstanceEnhancementBatchNorm2d } from "@symgrad/symgrad/nn";
 * const iebn = new InstanceEnhancementBatchNorm2d(3);
 * console.log(iebn.forward(Tensor.randn([2, 3, 4, 4], { seed: 1 })).shape); // [2, 3, 4, 4]
 * ```
 */
export class InstanceEnhancementBatchNorm2d extends BatchNormBase {
  /** Per-channel scale `γ` `[C]` (ones), or `null` without `affine`. */
  weight: Tensor | null;
  /** Per-channel shift `β` `[C]` (zeros), or `null` without `affine`. */
  bias: Tensor | null;
  /** Weight `w` of the instance gate (zeros). */
  weight_readjust: Tensor;
  /** Bias `b` of the instance gate (minus ones). */
  bias_readjust: Tensor;

  /** A layer over `numFeatures` channels; the options are those of `BatchNorm2d`. */
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super("InstanceEnhancementBatchNorm2d", numFeatures, opts);
    this.weight = this.affine ? T.ones([numFeatures], opts) : null;
    this.bias = this.affine ? T.zeros([numFeatures], opts) : null;
    this.weight_readjust = T.zeros([1, numFeatures, 1, 1], opts);
    this.bias_readjust = T.full([1, numFeatures, 1, 1], -1, opts);
    this.initBuffers(opts);
  }

  /** `BN(x) · γ · σ(w · GAP(x) + b) + β`. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) {
      throw new Error(`InstanceEnhancementBatchNorm2d: expected 4D input (got ${x.ndim}D input)`);
    }
    const gate = x.mean([2, 3], { keepdims: true }).mul(this.weight_readjust)
      .add(this.bias_readjust).sigmoid();
    const stats = this.statistics(x);
    const out = batchNorm(x, { ...stats, eps: this.eps });
    stats.commit(out.runningMean, out.runningVar);
    const scale = this.weight ? gate.mul(this.weight.reshape([1, -1, 1, 1])) : gate;
    const y = out.y.mul(scale);
    return this.bias ? y.add(this.bias.reshape([1, -1, 1, 1])) : y;
  }
}
