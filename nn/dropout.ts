/**
 * `Dropout` with seeded masks.
 *
 * @module
 */

import type { Tensor } from "./_deps.ts";
import { dropout } from "./functional/dropout.ts";
import { Module } from "./module.ts";

/**
 * Zeroes elements with probability `p` in training mode and scales the rest by `1 / (1 - p)`;
 * the identity in evaluation mode. Call `k` (from 0) uses the mask of seed `seed + k`, so a run
 * is reproducible; without a seed, masks follow the global seed (`manualSeed`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Dropout } from "@symgrad/symgrad/nn";
 * const drop = new Dropout(0.5, { seed: 3 });
 * console.log(await drop.eval().forward(Tensor.ones([4])).data()); // [1, 1, 1, 1]
 * ```
 */
export class Dropout extends Module {
  /** Drop probability. */
  readonly p: number;
  #seed: number | undefined;
  #calls = 0;

  /** Dropout with probability `p` (default 0.5). */
  constructor(p = 0.5, opts: { seed?: number } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p ${p} is out of range; expected [0, 1]`);
    this.p = p;
    this.#seed = opts.seed;
  }

  /** Applies a fresh mask in training mode. */
  forward(x: Tensor): Tensor {
    if (!this.training) return x;
    const seed = this.#seed === undefined ? undefined : this.#seed + this.#calls++;
    return dropout(x, this.p, { seed });
  }
}
