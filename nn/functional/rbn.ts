/**
 * Representative batch normalization (Gao et al., CVPR 2021) as a pure function.
 *
 * @module
 */

import { fmtShape, type Tensor } from "../_deps.ts";
import { batchNorm, type BatchNormResult, blend, requireManyPerChannel } from "./batch_norm.ts";

/** Options of {@link rbn}; the calibration parameters have shape `[1, C, 1, 1]`. */
export interface RbnOptions {
  /** Centering weight `w_m`. */
  centerWeight: Tensor;
  /** Scaling weight `w_v`. */
  scaleWeight: Tensor;
  /** Scaling bias `w_b`. */
  scaleBias: Tensor;
  /** Affine scale `γ` (omitted: no affine transform). */
  weight?: Tensor | null;
  /** Affine shift `β`. */
  bias?: Tensor | null;
  /** Running mean `[C]` of the centered input. */
  runningMean?: Tensor | null;
  /** Running (unbiased) variance `[C]` of the centered input. */
  runningVar?: Tensor | null;
  /** Use batch statistics and return updated running statistics (default `false`). */
  training?: boolean;
  /** Weight of the new statistics in the running average (default 0.1). */
  momentum?: number | Tensor;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * RBN, one line per equation of the paper. `K_m` and `K_s` are always the sample's own spatial
 * means; only the normalization switches between batch and running statistics. The authors' code
 * adds the centering term into its caller's input in place; this function leaves `x` alone and
 * gives the same values and gradients.
 *
 * @example Zero calibration weights reduce RBN to batch normalization times `sigmoid(w_b)`
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { rbn } from "@symgrad/symgrad/nn";
 * const zeros = Tensor.zeros([1, 1, 1, 1], { dtype: "float64" });
 * const x = Tensor.from([[[[1, 3]]], [[[5, 7]]]], { dtype: "float64" });
 * const { y } = rbn(x, { centerWeight: zeros, scaleWeight: zeros, scaleBias: zeros, training: true });
 * console.log(await y.data()); // ≈ 0.5 · [-1.34, -0.45, 0.45, 1.34]
 * ```
 */
export function rbn(x: Tensor, opts: RbnOptions): BatchNormResult {
  if (x.ndim !== 4) throw new Error(`rbn: expected 4D input (got ${x.ndim}D input)`);
  const c = x.shape[1];
  for (const [what, t] of Object.entries(opts)) {
    if (["centerWeight", "scaleWeight", "scaleBias", "weight", "bias"].includes(what) && t) {
      const shape = (t as Tensor).shape;
      if (shape.join(",") !== `1,${c},1,1`) {
        throw new Error(`rbn: ${what} has shape ${fmtShape(shape)}; expected [1, ${c}, 1, 1]`);
      }
    }
  }
  const { centerWeight: wm, scaleWeight: wv, scaleBias: wb, weight: gamma, bias: beta } = opts;

  const training = opts.training ?? false;
  if (training || !opts.runningMean || !opts.runningVar) return rbnBatchStats(x, opts, training);
  const Km = x.mean([2, 3], { keepdims: true }); //                     K_m = mean_HW(X)
  const Xcm = x.add(wm.mul(Km)); //                                     X_cm = X + w_m ⊙ K_m
  const bn = batchNorm(Xcm, { ...opts, weight: null, bias: null }); //  X_s = BN(X_cm)
  const Xs = bn.y;
  const Ks = Xs.mean([2, 3], { keepdims: true }); //                    K_s = mean_HW(X_s)
  const R = wv.mul(Ks).add(wb).sigmoid(); //                            R = σ(w_v ⊙ K_s + w_b)
  const Y = (gamma ? gamma.mul(R) : R).mul(Xs).add(beta ?? 0); //      Y = γ ⊙ R ⊙ X_s + β

  return { ...bn, y: Y };
}

/**
 * RBN with batch statistics in one pass over `x` for the statistics: every statistic the layer
 * needs is a function of the per-sample spatial sums of `D = X - K` and `D²`, where the shift
 * `K = X[0, :, 0, 0]` (per channel, detached) keeps the moments away from cancellation:
 * - `e = mean_HW(D)`, so `K_m = K + e` and `X_cm - K(1 + w_m) = D + w_m e`;
 * - the batch mean of `X_cm` is `K(1 + w_m) + μ'` with `μ' = (1 + w_m) mean_N(e)`;
 * - its biased variance is `mean_N(mean_HW(D²) + (2w_m + w_m²) e²) - μ'²`;
 * - `K_s = mean_HW(X_s) = ((1 + w_m) e - μ') / sqrt(var + eps)`.
 * `Y` does not depend on `K` (shifting it cancels in `X_s`), so detaching it keeps the gradients
 * exact. The two spatial sums fuse into one kernel and the two channel sums into another.
 */
function rbnBatchStats(x: Tensor, opts: RbnOptions, training: boolean): BatchNormResult {
  const { centerWeight: wm, scaleWeight: wv, scaleBias: wb, weight: gamma, bias: beta } = opts;
  const { momentum = 0.1, eps = 1e-5 } = opts;
  const [n, c, h, w] = x.shape;
  if (training) requireManyPerChannel("rbn", x);
  const hw = h * w;
  const K = x.slice([[0, 1], [0, c], [0, 1], [0, 1]]).detach(); //  shift, one value per channel
  const D = x.sub(K);
  const e = D.sum([2, 3], { keepdims: true }).mul(1 / hw); //       mean_HW(D)
  const e2 = D.square().sum([2, 3], { keepdims: true }).mul(1 / hw); // mean_HW(D²)
  const wm1 = wm.add(1);
  const shifted = wm1.mul(e.sum(0, { keepdims: true }).mul(1 / n)); // μ'
  const second = e2.add(wm.mul(wm.add(2)).mul(e.square())).sum(0, { keepdims: true }).mul(1 / n);
  const variance = second.sub(shifted.square()); //                  biased variance of X_cm
  const rstd = variance.add(eps).rsqrt();
  const Xs = D.add(wm.mul(e)).sub(shifted).mul(rstd); //            X_s = BN(X_cm)
  const Ks = wm1.mul(e).sub(shifted).mul(rstd); //                  K_s = mean_HW(X_s)
  const R = wv.mul(Ks).add(wb).sigmoid(); //                        R = σ(w_v ⊙ K_s + w_b)
  const Y = (gamma ? gamma.mul(R) : R).mul(Xs).add(beta ?? 0); //  Y = γ ⊙ R ⊙ X_s + β

  let runningMean = opts.runningMean ?? null, runningVar = opts.runningVar ?? null;
  // An empty batch has no statistics: the running ones stay, as in PyTorch.
  if (training && runningMean !== null && runningVar !== null && x.size > 0) {
    const count = n * hw;
    const mean = K.mul(wm1).add(shifted).reshape([c]).detach();
    const unbiased = variance.reshape([c]).detach().mul(count / (count - 1));
    runningMean = blend(runningMean, mean, momentum);
    runningVar = blend(runningVar, unbiased, momentum);
  }
  return { y: Y, runningMean, runningVar };
}
