/**
 * `GroupNorm` with PyTorch's semantics and state names.
 *
 * @module
 */

import { type Tensor, Tensor as T } from "./_deps.ts";
import { groupNorm } from "./functional/group_norm.ts";
import type { Placement } from "./init.ts";
import { Module } from "./module.ts";

/** Options of {@link GroupNorm}. */
export interface GroupNormOptions extends Placement {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a per-channel `weight` and `bias` (default `true`). */
  affine?: boolean;
}

/**
 * Group normalization of `[N, C, ...]` inputs (`torch.nn.GroupNorm`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { GroupNorm } from "@symgrad/symgrad/nn";
 * const gn = new GroupNorm(2, 4);
 * console.log(gn.forward(Tensor.randn([2, 4, 3, 3], { seed: 1 })).shape); // [2, 4, 3, 3]
 * ```
 */
export class GroupNorm extends Module {
  /** Number of groups. */
  readonly numGroups: number;
  /** Number of channels. */
  readonly numChannels: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Whether `weight` and `bias` exist. */
  readonly affine: boolean;
  /** Per-channel scale `[C]` (ones), or `null`. */
  weight: Tensor | null;
  /** Per-channel shift `[C]` (zeros), or `null`. */
  bias: Tensor | null;

  /** `numChannels` channels split into `numGroups` groups. */
  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0) {
      throw new Error(
        `GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`,
      );
    }
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
    this.affine = opts.affine ?? true;
    this.weight = this.affine ? T.ones([numChannels], opts) : null;
    this.bias = this.affine ? T.zeros([numChannels], opts) : null;
  }

  /** Normalizes each group of channels of each sample. */
  forward(x: Tensor): Tensor {
    if (x.ndim < 2 || x.shape[1] !== this.numChannels) {
      throw new Error(
        `GroupNorm: expected an input [N, ${this.numChannels}, ...], got [${x.shape.join(", ")}]`,
      );
    }
    return groupNorm(x, this.numGroups, { weight: this.weight, bias: this.bias, eps: this.eps });
  }
}
