/**
 * Finite-difference check of the functional RBN with respect to its input and all five
 * parameters, shared by the nn tests and the RBN property tests.
 *
 * @module
 */

import type { Tensor } from "../../mod.ts";
import { rbn } from "../../nn/mod.ts";
import { gradcheck, type GradcheckOptions, type RbnParams } from "../../testing/mod.ts";

/** How `rbn` is called: training or eval mode, and whether it is given running statistics. */
export interface RbnCall {
  /** Batch statistics (true) or running statistics (false). */
  training: boolean;
  /** Pass `p.runningMean` and `p.runningVar` to `rbn`. */
  withRunningStats: boolean;
}

/** `gradcheck` of `rbn(...).y` at `p` over x, w_m, w_v, w_b, γ and β. */
export function gradcheckRbn(
  p: RbnParams,
  call: RbnCall,
  opts?: GradcheckOptions,
): Promise<void> {
  const running = call.withRunningStats
    ? { runningMean: p.runningMean, runningVar: p.runningVar }
    : {};
  const f = (x: Tensor, wm: Tensor, wv: Tensor, wb: Tensor, g: Tensor, b: Tensor) =>
    rbn(x, {
      centerWeight: wm,
      scaleWeight: wv,
      scaleBias: wb,
      weight: g,
      bias: b,
      ...running,
      training: call.training,
      eps: p.eps,
    }).y;
  const args = [p.x, p.centerWeight, p.scaleWeight, p.scaleBias, p.weight, p.bias];
  return gradcheck(f, args, opts);
}
