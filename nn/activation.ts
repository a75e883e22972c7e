/**
 * Activation layers.
 *
 * @module
 */

import type { Tensor } from "./_deps.ts";
import { Module } from "./module.ts";

/**
 * `max(x, 0)` (`torch.nn.ReLU`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { ReLU } from "@symgrad/symgrad/nn";
 * console.log(await new ReLU().forward(Tensor.from([-1, 2])).data()); // [0, 2]
 * ```
 */
export class ReLU extends Module {
  /** Applies the rectifier. */
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}
