/**
 * `Flatten`: merges a range of axes.
 *
 * @module
 */

import type { Tensor } from "./_deps.ts";
import { Module } from "./module.ts";

/**
 * Flattens axes `startDim..endDim` (inclusive; defaults 1 and -1, as `torch.nn.Flatten`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Flatten } from "@symgrad/symgrad/nn";
 * console.log(new Flatten().forward(Tensor.ones([2, 3, 4])).shape); // [2, 12]
 * ```
 */
export class Flatten extends Module {
  /** First flattened axis. */
  readonly startDim: number;
  /** Last flattened axis. */
  readonly endDim: number;

  /** Flattens `startDim..endDim`. */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }

  /** Flattens the axes of `x`. */
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}
