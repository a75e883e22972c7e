/**
 * Seeded dropout as a pure function.
 *
 * @module
 */

import { Tensor } from "../_deps.ts";

/** Options of {@link dropout}. */
export interface DropoutOptions {
  /** Apply dropout (default `true`); when `false` the input is returned unchanged. */
  training?: boolean;
  /** Seed of the mask; the same seed gives the same mask. */
  seed?: number;
}

/**
 * Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`. The mask is a
 * fresh realized tensor, so a training step keeps the same graph structure from step to step.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { dropout } from "@symgrad/symgrad/nn";
 * const y = dropout(Tensor.ones([8]), 0.5, { seed: 1 });
 * console.log(await y.data()); // zeros and twos
 * ```
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) {
    throw new Error(`dropout: probability ${p} is out of range; expected 0 <= p <= 1`);
  }
  if (opts.training === false || p === 0) return x;
  if (p === 1) return x.mul(0);
  const u = Tensor.rand(x.shape, { seed: opts.seed, dtype: x.dtype, backend: x.backend });
  return Tensor.where(u.lt(p), 0, x.div(1 - p));
}
