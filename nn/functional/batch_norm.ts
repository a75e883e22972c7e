/**
 * Batch normalization as a pure function: statistics over every axis but the channel axis 1.
 *
 * @module
 */

import { fmtShape, markComposite, type Tensor } from "../_deps.ts";
import { moments } from "./moments.ts";

/** Options of {@link batchNorm}. */
export interface BatchNormOptions {
  /** Per-channel running mean `[C]`; used in evaluation mode and updated in training mode. */
  runningMean?: Tensor | null;
  /** Per-channel running variance `[C]` (unbiased estimates). */
  runningVar?: Tensor | null;
  /** Scale `γ`, broadcastable to the input (`[C]` is placed on axis 1). */
  weight?: Tensor | null;
  /** Shift `β`, like `weight`. */
  bias?: Tensor | null;
  /** Normalize with batch statistics and return updated running statistics (default `false`). */
  training?: boolean;
  /** Weight of the new statistics in the running average (default 0.1); a scalar tensor too. */
  momentum?: number | Tensor;
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
}

/** The result of {@link batchNorm}: the output and, in training mode, new running statistics. */
export interface BatchNormResult {
  /** The normalized (and scaled) input. */
  y: Tensor;
  /** The updated running mean (lazy, detached); the input value when not training. */
  runningMean: Tensor | null;
  /** The updated running variance (lazy, detached). */
  runningVar: Tensor | null;
}

/** PyTorch's spelling of a shape in error messages: `torch.Size([1, 3])`. */
export function torchSize(shape: readonly number[]): string {
  return `torch.Size(${fmtShape(shape)})`;
}

/** Reshapes a per-channel `[C]` tensor so it broadcasts along axis 1 of a rank-`rank` input. */
export function perChannel(t: Tensor, rank: number): Tensor {
  if (t.ndim !== 1) return t;
  return t.reshape([1, t.shape[0], ...new Array(Math.max(0, rank - 2)).fill(1)]);
}

/** Throws PyTorch's error when training statistics would come from one value per channel. */
export function requireManyPerChannel(op: string, x: Tensor): void {
  if (x.size / x.shape[1] === 1) {
    throw new Error(
      `${op}: Expected more than 1 value per channel when training, got input size ${
        torchSize(x.shape)
      }`,
    );
  }
}

/**
 * Batch normalization with PyTorch's rules: the biased variance normalizes, the unbiased
 * variance (`n / (n - 1)`) enters the running variance, and evaluation mode uses the running
 * statistics. Nothing is mutated: new running statistics are returned (detached, lazy); an empty
 * input (no values per channel) returns the running statistics unchanged.
 *
 * @example Training-mode statistics of a `[N, C]` batch
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { batchNorm } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[1, 10], [3, 30]], { dtype: "float64" });
 * const { y, runningMean } = batchNorm(x, {
 *   training: true,
 *   runningMean: Tensor.zeros([2], { dtype: "float64" }),
 *   runningVar: Tensor.ones([2], { dtype: "float64" }),
 * });
 * console.log(await y.data()); // ≈ [-1, -1, 1, 1]
 * console.log(await runningMean!.data()); // [0.2, 2]
 * ```
 */
export function batchNorm(x: Tensor, opts: BatchNormOptions = {}): BatchNormResult {
  const { training = false, momentum = 0.1, eps = 1e-5 } = opts;
  const runningMean = opts.runningMean ?? null;
  const runningVar = opts.runningVar ?? null;
  if (x.ndim < 2) {
    throw new Error(`batchNorm: expected an input [N, C, ...], got ${fmtShape(x.shape)}`);
  }
  const c = x.shape[1];
  for (const [what, t] of [["runningMean", runningMean], ["runningVar", runningVar]] as const) {
    if (t !== null && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new Error(`batchNorm: ${what} has shape ${fmtShape(t.shape)}; expected [${c}]`);
    }
  }
  const useBatchStats = training || runningMean === null || runningVar === null;
  if (training) requireManyPerChannel("batchNorm", x);
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let mean: Tensor, variance: Tensor;
  let newMean = runningMean, newVar = runningVar;
  if (useBatchStats) {
    ({ mean, variance } = moments(x, axes));
    // An empty batch has no statistics: the running ones stay, as in PyTorch.
    if (training && runningMean !== null && runningVar !== null && x.size > 0) {
      const n = x.size / c;
      const batchMean = mean.reshape([c]).detach();
      const unbiased = variance.reshape([c]).detach().mul(n / (n - 1));
      newMean = blend(runningMean, batchMean, momentum);
      newVar = blend(runningVar, unbiased, momentum);
    }
  } else {
    mean = perChannel(runningMean!, x.ndim);
    variance = perChannel(runningVar!, x.ndim);
  }
  let y = x.sub(mean).mul(variance.add(eps).rsqrt());
  if (opts.weight) y = y.mul(perChannel(opts.weight, x.ndim));
  if (opts.bias) y = y.add(perChannel(opts.bias, x.ndim));
  const channelwise = [opts.weight, opts.bias].every((t) => !t || t.ndim === 1);
  if (!useBatchStats && channelwise) {
    const inputs = [x, opts.weight, opts.bias, runningMean, runningVar].map((t) => t?.node ?? null);
    markComposite(y.node, "batch_norm", inputs, { eps });
  }
  return { y, runningMean: newMean, runningVar: newVar };
}

/** `(1 - m) · old + m · fresh`, PyTorch's running-average update. */
export function blend(old: Tensor, fresh: Tensor, momentum: number | Tensor): Tensor {
  const m = typeof momentum === "number" ? momentum : momentum.cast(old.dtype);
  const keep = typeof m === "number" ? 1 - m : m.neg().add(1);
  return old.mul(keep).add(fresh.cast(old.dtype).mul(m));
}
