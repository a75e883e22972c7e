/**
 * RBN written equation by equation from the paper with core tensor ops, independently of nn/,
 * exposing every intermediate so that properties can be stated about them.
 *
 * @module
 */

import type { Tensor } from "../../mod.ts";
import type { RbnParams } from "../../testing/mod.ts";

/** Per-channel statistics are over N, H, W; per-instance ones over H, W. */
const NHW = [0, 2, 3], HW = [2, 3];
const keep = { keepdims: true };

/** Mean over N, H, W as `[1, C, 1, 1]`. */
export const channelMean = (t: Tensor): Tensor => t.mean(NHW, keep);
/** Biased variance over N, H, W as `[1, C, 1, 1]`. */
export const channelVar = (t: Tensor): Tensor => t.var(NHW, { correction: 0, keepdims: true });

/** The intermediates of one RBN forward pass. */
export interface RbnTerms {
  /** `E[X]` per channel. */
  EX: Tensor;
  /** `K_m`: each instance's spatial mean. */
  Km: Tensor;
  /** `X_cm = X + w_m ⊙ K_m`. */
  Xcm: Tensor;
  /** `X_s`: `X_cm` normalized by batch (training) or running (evaluation) statistics. */
  Xs: Tensor;
  /** `R = sigmoid(w_v ⊙ K_s + w_b)` with `K_s` the spatial mean of `X_s`. */
  R: Tensor;
  /** `X_cs = X_s ⊙ R`. */
  Xcs: Tensor;
  /** `Y = γ ⊙ X_cs + β`. */
  y: Tensor;
}

/** Evaluates the RBN equations on `p`, with batch statistics when `training`. */
export function rbnTerms(p: RbnParams, training: boolean): RbnTerms {
  const x = p.x;
  const c = x.shape[1];
  const EX = channelMean(x);
  const Km = x.mean(HW, keep);
  const Xcm = x.add(p.centerWeight.mul(Km));
  const mean = training ? channelMean(Xcm) : p.runningMean.reshape([1, c, 1, 1]);
  const variance = training ? channelVar(Xcm) : p.runningVar.reshape([1, c, 1, 1]);
  const Xs = Xcm.sub(mean).div(variance.add(p.eps).sqrt());
  const R = p.scaleWeight.mul(Xs.mean(HW, keep)).add(p.scaleBias).sigmoid();
  const Xcs = Xs.mul(R);
  return { EX, Km, Xcm, Xs, R, Xcs, y: p.weight.mul(Xcs).add(p.bias) };
}
