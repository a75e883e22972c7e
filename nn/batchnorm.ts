/**
 * Batch normalization layers with PyTorch's semantics and state names.
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { batchNorm, requireManyPerChannel } from "./functional/batch_norm.ts";
import type { Placement } from "./init.ts";
import { Module } from "./module.ts";

/** Options of the batch-normalization layers. */
export interface BatchNormOptions extends Placement {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-average weight (default 0.1); `null` gives the cumulative average. */
  momentum?: number | null;
  /** Learn a per-channel scale `weight` and shift `bias` (default `true`). */
  affine?: boolean;
  /** Keep running statistics for evaluation mode (default `true`). */
  trackRunningStats?: boolean;
}

/**
 * The shared state and bookkeeping of batch-normalization layers: `running_mean`,
 * `running_var` and `num_batches_tracked` buffers, and the momentum rule. The counter is held
 * as a tensor of the layer's dtype (exact up to 2^24 batches in float32) and saved as int64.
 */
export abstract class BatchNormBase extends Module {
  /** Number of channels `C`. */
  readonly numFeatures: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight, or `null` for the cumulative average. */
  readonly momentum: number | null;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** Whether running statistics exist. */
  readonly trackRunningStats: boolean;
  /** Running mean `[C]` (zeros at init), or `null` without `trackRunningStats`. */
  running_mean: Tensor | null = null;
  /** Running unbiased variance `[C]` (ones at init), or `null`. */
  running_var: Tensor | null = null;
  /** Number of training batches seen (a scalar of the layer's dtype), or `null`. */
  num_batches_tracked: Tensor | null = null;

  /** Validates the options; `op` names the layer in errors. */
  constructor(op: string, numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) {
      throw new Error(`${op}: numFeatures must be a positive integer, got ${numFeatures}`);
    }
    const momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) {
      throw new Error(
        `${op}: momentum ${momentum} is out of range; expected 0 <= momentum <= 1 or null`,
      );
    }
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
  }

  /** Creates the running-statistics buffers (call after the parameters, for PyTorch's order). */
  protected initBuffers(opts: Placement): void {
    this.registerBuffer("running_mean", "running_var", "num_batches_tracked");
    if (this.trackRunningStats) {
      this.running_mean = T.zeros([this.numFeatures], opts);
      this.running_var = T.ones([this.numFeatures], opts);
      this.num_batches_tracked = T.zeros([], opts);
    }
  }

  /**
   * The statistics arguments of one forward call, PyTorch's rules: batch statistics in training
   * or without running statistics; in training the counter grows by one and momentum `null`
   * means `1 / num_batches_tracked`. `commit` stores the lazily updated buffers. Throws
   * PyTorch's error, naming this layer, when `x` has one value per channel in training.
   */
  protected statistics(x: Tensor): {
    training: boolean;
    momentum: number | Tensor;
    runningMean: Tensor | null;
    runningVar: Tensor | null;
    commit: (mean: Tensor | null, variance: Tensor | null) => void;
  } {
    const [mean, variance, count] = [this.running_mean, this.running_var, this.num_batches_tracked];
    const tracking = mean !== null && variance !== null;
    const updating = this.training && tracking;
    const counted = updating && count !== null ? count.add(1) : count;
    const momentum = this.momentum ?? (counted !== null && updating ? counted.reciprocal() : 0);
    if (this.training || !tracking) requireManyPerChannel(this.constructor.name, x);
    return {
      training: this.training || !tracking,
      momentum,
      runningMean: mean,
      runningVar: variance,
      commit: (newMean, newVar) => {
        if (!updating) return;
        this.running_mean = newMean;
        this.running_var = newVar;
        if (counted !== null) this.num_batches_tracked = counted;
      },
    };
  }
}

/** Shared parameters and forward of `BatchNorm1d` and `BatchNorm2d`. */
export abstract class BatchNormNd extends BatchNormBase {
  /** Per-channel scale `[C]` (ones at init), or `null` without `affine`. */
  weight: Tensor | null;
  /** Per-channel shift `[C]` (zeros at init), or `null` without `affine`. */
  bias: Tensor | null;

  /** Creates `weight`, `bias` and the buffers; `op` names the layer in errors. */
  constructor(op: string, numFeatures: number, opts: BatchNormOptions) {
    super(op, numFeatures, opts);
    this.weight = this.affine ? T.ones([numFeatures], opts) : null;
    this.bias = this.affine ? T.zeros([numFeatures], opts) : null;
    this.initBuffers(opts);
  }

  /** Throws PyTorch's error for an input of the wrong rank. */
  protected abstract checkInput(x: Tensor): void;

  /** Normalizes `x`; in training mode the running buffers are replaced by lazy updates. */
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    const stats = this.statistics(x);
    const out = batchNorm(x, { ...stats, weight: this.weight, bias: this.bias, eps: this.eps });
    stats.commit(out.runningMean, out.runningVar);
    return out.y;
  }
}

/**
 * Batch normalization over `[N, C]` or `[N, C, L]` inputs (`torch.nn.BatchNorm1d`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { BatchNorm1d } from "@symgrad/symgrad/nn";
 * const bn = new BatchNorm1d(2, { dtype: "float64" });
 * const y = bn.forward(Tensor.from([[1, 10], [3, 30]], { dtype: "float64" }));
 * await bn.commitState();
 * console.log(await bn.running_mean!.data()); // [0.2, 2]
 * ```
 */
export class BatchNorm1d extends BatchNormNd {
  /** A layer over `numFeatures` channels. */
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super("BatchNorm1d", numFeatures, opts);
  }

  /** Requires a 2-D or 3-D input. */
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) {
      throw new Error(`BatchNorm1d: expected 2D or 3D input (got ${x.ndim}D input)`);
    }
  }
}

/**
 * Batch normalization over `[N, C, H, W]` inputs (`torch.nn.BatchNorm2d`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { BatchNorm2d } from "@symgrad/symgrad/nn";
 * const bn = new BatchNorm2d(3);
 * console.log(Object.keys(bn.stateDict()));
 * // ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
 * ```
 */
export class BatchNorm2d extends BatchNormNd {
  /** A layer over `numFeatures` channels. */
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super("BatchNorm2d", numFeatures, opts);
  }

  /** Requires a 4-D input. */
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected 4D input (got ${x.ndim}D input)`);
  }
}
