/**
 * `clamp` (`clip`) built from comparisons, `where`, `maximum` / `minimum` and `detach`, with
 * PyTorch 1.13's gradients: `x` receives the gradient where `min <= x <= max` (both ends
 * inclusive), a tensor `min` where `x < min` and `min < max`, a tensor `max` where `x > max` or
 * `max < min`. NaN in `x` or in a bound gives NaN (NumPy's `clip` and torch's tensor bounds;
 * torch leaves `x` unchanged for a NaN number bound). Where the value is NaN no operand gets a
 * gradient; torch still passes one to `max` there when `max < min` or `x > max`.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** A clamp bound: a number, a tensor broadcasting against the input, or absent. */
export type ClampBound = Tensor | number | null | undefined;

type Where = (cond: Tensor, a: Tensor | number, b: Tensor | number) => Tensor;

/**
 * `min(max(x, lo), hi)` with torch's gradient masks. `where` is `Tensor.where` (passed in so this
 * file needs only the type of `Tensor`).
 */
export function clampTensor(x: Tensor, lo: ClampBound, hi: ClampBound, where: Where): Tensor {
  const hasLo = lo !== null && lo !== undefined;
  const hasHi = hi !== null && hi !== undefined;
  if (!hasLo && !hasHi) {
    throw new Error(
      `clamp: got neither min nor max for a tensor of shape [${
        x.shape.join(", ")
      }]; expected at least one bound`,
    );
  }
  for (const [name, b] of [["min", lo], ["max", hi]] as const) {
    if (typeof b === "number" || b === null || b === undefined) continue;
    if (b.backend !== x.backend) {
      throw new Error(
        `clamp: ${name} lives on ${b.backend} and the input on ${x.backend}; expected one backend`,
      );
    }
  }
  // The value: max and min propagate NaN from either operand.
  let value = x;
  if (hasLo) value = value.maximum(lo);
  if (hasHi) value = value.minimum(hi);
  // Gradient routing: each branch passes the gradient of one operand; the fall-through is the
  // value as a constant (NaN in x or a bound, or x beyond min == max: torch routes none there).
  // Logical and / or through 0/1 numbers (ONNX Runtime has no `where` on bools).
  const num = (a: Tensor) => a.cast("float32");
  const and = (a: Tensor, b: Tensor | boolean) =>
    typeof b === "boolean" ? (b ? a : a.ne(a)) : num(a).mul(num(b)).gt(0);
  const or = (a: Tensor, b: Tensor | boolean) =>
    typeof b === "boolean" ? (b ? a.eq(a) : a) : num(a).add(num(b)).gt(0);
  let out: Tensor = value.detach();
  if (hasLo && hasHi) {
    // hi < lo and "lo is not NaN", as a JS boolean when both bounds are numbers.
    const crossed = typeof hi === "number"
      ? (typeof lo === "number" ? hi < lo : lo.gt(hi))
      : hi.lt(lo);
    const loOk = typeof lo === "number" ? !Number.isNaN(lo) : lo.eq(lo);
    const ordered = typeof lo === "number"
      ? (typeof hi === "number" ? lo < hi : hi.gt(lo))
      : lo.lt(hi);
    out = where(and(and(or(x.gt(hi), crossed), x.eq(x)), loOk), hi, out);
    out = where(and(x.lt(lo), ordered), lo, out);
    out = where(and(x.ge(lo), x.le(hi)), x, out);
  } else if (hasLo) {
    out = where(x.lt(lo), lo, out);
    out = where(x.ge(lo), x, out);
  } else {
    out = where(x.gt(hi!), hi!, out);
    out = where(x.le(hi!), x, out);
  }
  return out;
}
