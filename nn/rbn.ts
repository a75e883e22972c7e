/**
 * `RepresentativeBatchNorm2d`: batch normalization with the centering and scaling calibrations
 * of Gao et al., "Representative Batch Normalization with Feature Calibration" (CVPR 2021).
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { BatchNormBase, type BatchNormOptions } from "./batchnorm.ts";
import { rbn } from "./functional/rbn.ts";

/**
 * Representative batch normalization over `[N, C, H, W]` inputs, state-compatible with the
 * authors' PyTorch module: parameters `weight`, `bias`, `center_weight`, `scale_weight`,
 * `scale_bias` of shape `[1, C, 1, 1]` and BatchNorm2d's buffers, so their checkpoints load.
 *
 * Semantics follow PyTorch's batch normalization exactly (biased variance to normalize, unbiased
 * variance into `running_var`, momentum `null` = cumulative average, running statistics in
 * evaluation mode). The running statistics are those of the centered input `X_cm`. One
 * deliberate difference: the authors' module adds the centering term into its caller's input
 * tensor in place; this layer never changes its input and gives the same outputs and gradients.
 * In training mode the buffers are replaced by lazy updates, computed with the next
 * realization of the module state.
 *
 * @example Train-mode forward, then the updated statistics
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { RepresentativeBatchNorm2d } from "@symgrad/symgrad/nn";
 * const rbn = new RepresentativeBatchNorm2d(2, { dtype: "float64" });
 * const x = Tensor.randn([4, 2, 3, 3], { dtype: "float64", seed: 1 });
 * const y = rbn.forward(x);
 * await rbn.commitState(); // realizes the running statistics and the counter
 * console.log(y.shape, await rbn.num_batches_tracked!.item()); // [4, 2, 3, 3] 1
 * ```
 */
export class RepresentativeBatchNorm2d extends BatchNormBase {
  /** Affine scale `γ` (ones), or `null` without `affine`. */
  weight: Tensor | null;
  /** Affine shift `β` (zeros), or `null` without `affine`. */
  bias: Tensor | null;
  /** Centering weight `w_m` (zeros). */
  center_weight: Tensor;
  /** Scaling weight `w_v` (zeros). */
  scale_weight: Tensor;
  /** Scaling bias `w_b` (ones). */
  scale_bias: Tensor;

  /** A layer over `numFeatures` channels; the options are those of `BatchNorm2d`. */
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super("RepresentativeBatchNorm2d", numFeatures, opts);
    const shape = [1, numFeatures, 1, 1];
    this.weight = this.affine ? T.ones(shape, opts) : null;
    this.bias = this.affine ? T.zeros(shape, opts) : null;
    this.center_weight = T.zeros(shape, opts);
    this.scale_weight = T.zeros(shape, opts);
    this.scale_bias = T.ones(shape, opts);
    this.initBuffers(opts);
  }

  /** `Y = γ ⊙ σ(w_v ⊙ K_s + w_b) ⊙ X_s + β` with `X_s = BN(X + w_m ⊙ K_m)`; see `rbn`. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4) {
      throw new Error(`RepresentativeBatchNorm2d: expected 4D input (got ${x.ndim}D input)`);
    }
    const stats = this.statistics(x);
    const out = rbn(x, {
      ...stats,
      centerWeight: this.center_weight,
      scaleWeight: this.scale_weight,
      scaleBias: this.scale_bias,
      weight: this.weight,
      bias: this.bias,
      eps: this.eps,
    });
    stats.commit(out.runningMean, out.runningVar);
    return out.y;
  }
}
