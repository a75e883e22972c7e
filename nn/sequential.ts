/**
 * `Sequential`: a chain of modules named `0`, `1`, … as in PyTorch.
 *
 * @module
 */

import type { Tensor } from "./_deps.ts";
import { Module } from "./module.ts";

/**
 * Applies its modules in order. Children are named by position, so state names match PyTorch's
 * (`0.weight`, `1.running_mean`, …).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Linear, ReLU, Sequential } from "@symgrad/symgrad/nn";
 * const net = new Sequential(new Linear(4, 8, { seed: 0 }), new ReLU(), new Linear(8, 2, { seed: 2 }));
 * console.log(net.namedParameters().map(([n]) => n)); // ["0.weight", "0.bias", "2.weight", "2.bias"]
 * console.log(net.forward(Tensor.ones([3, 4])).shape); // [3, 2]
 * ```
 */
export class Sequential extends Module {
  /** The modules by position. */
  [index: number]: Module;

  /** A chain of `modules`. */
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) {
        throw new Error(`Sequential: argument ${i} is not a Module`);
      }
      this[i] = m;
    });
  }

  /** The modules in order. */
  get layers(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** Number of modules. */
  get length(): number {
    return this.layers.length;
  }

  /** Feeds `x` through every module. */
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, m) => m.forward(h), x);
  }
}
