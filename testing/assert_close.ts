/**
 * Elementwise closeness checks for tensors and typed arrays, with failure messages that point
 * at the worst element.
 *
 * @module
 */

import type { TypedArray } from "../core/dtype.ts";
import { fmtShape, type Shape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";

/** Values {@link assertClose} accepts: a tensor, a typed array, a flat array or a number. */
export type Numeric = Tensor | TypedArray | readonly number[] | number;

/** Tolerances of {@link assertClose}: `|actual - expected| <= atol + rtol * |expected|`. */
export interface CloseOptions {
  /** Relative tolerance (default 1e-5, a few float32 roundings). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8), for elements whose expected value is near zero. */
  atol?: number;
  /** Prefix of the failure message, naming what is compared. */
  msg?: string;
}

/** Host values and shape of a {@link Numeric}. */
async function hostValues(x: Numeric): Promise<{ values: ArrayLike<number>; shape: Shape }> {
  if (x instanceof Tensor) return { values: await x.data(), shape: x.shape };
  if (typeof x === "number") return { values: [x], shape: [] };
  return { values: x, shape: [x.length] };
}

/** Row-major multi-index of flat position `flat` in `shape`. */
function unravel(flat: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/**
 * Throws unless `actual` and `expected` have the same shape (tensors) or length (arrays) and
 * every element satisfies `|a - e| <= atol + rtol * |e|`. NaN matches only NaN, and infinities
 * only equal infinities. The message names the worst element (by how far it is outside the
 * tolerance), its index, both values and the tolerance.
 *
 * @example
 * ```ts
 * import { assertClose } from "@symgrad/symgrad/testing";
 * import { Tensor } from "@symgrad/symgrad";
 * const x = Tensor.from([0.1, 0.2], { dtype: "float64" });
 * await assertClose(x.add(x), [0.2, 0.4], { rtol: 1e-12 });
 * ```
 */
export async function assertClose(
  actual: Numeric,
  expected: Numeric,
  opts: CloseOptions = {},
): Promise<void> {
  const { rtol = 1e-5, atol = 1e-8, msg } = opts;
  const prefix = msg ? `${msg}: ` : "";
  if (!(rtol >= 0) || !(atol >= 0)) {
    throw new Error(
      `assertClose: tolerances must be non-negative numbers, got rtol=${rtol} atol=${atol}`,
    );
  }
  const a = await hostValues(actual);
  const e = await hostValues(expected);
  const tensors = actual instanceof Tensor && expected instanceof Tensor;
  const sameShape = tensors
    ? a.shape.length === e.shape.length && a.shape.every((d, i) => d === e.shape[i])
    : a.values.length === e.values.length;
  if (!sameShape) {
    throw new Error(
      `${prefix}assertClose: actual has shape ${fmtShape(a.shape)} and expected ` +
        `${fmtShape(e.shape)}; expected equal shapes`,
    );
  }
  // The worst element is the one with the largest excess over its tolerance.
  let worst = -1, worstExcess = 0, bad = 0;
  for (let i = 0; i < a.values.length; i++) {
    const av = a.values[i], ev = e.values[i];
    let excess: number;
    if (Number.isNaN(av) || Number.isNaN(ev)) {
      excess = Number.isNaN(av) && Number.isNaN(ev) ? 0 : Infinity;
    } else if (!Number.isFinite(av) || !Number.isFinite(ev)) {
      excess = av === ev ? 0 : Infinity;
    } else {
      excess = Math.abs(av - ev) - (atol + rtol * Math.abs(ev));
    }
    if (excess > 0) {
      bad++;
      if (worst < 0 || excess > worstExcess) [worst, worstExcess] = [i, excess];
    }
  }
  if (worst < 0) return;
  const av = a.values[worst], ev = e.values[worst];
  const shape = tensors || actual instanceof Tensor ? a.shape : e.shape;
  const index = shape.length > 1 ? `[${unravel(worst, shape).join(", ")}]` : `[${worst}]`;
  throw new Error(
    `${prefix}assertClose: ${bad} of ${a.values.length} elements differ; worst at index ` +
      `${index}: actual ${av}, expected ${ev} (|diff| ${Math.abs(av - ev)} > tolerance ` +
      `${atol + rtol * Math.abs(ev)} = atol ${atol} + rtol ${rtol} * |expected|)`,
  );
}
