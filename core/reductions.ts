/**
 * Reductions composed from the primitive sum and max, as `Tensor`'s methods build them: mean,
 * variance and standard deviation, `logsumexp`, softmax and log-softmax (stable forms).
 *
 * @module
 */

import { markComposite } from "./composite.ts";
import { isFloat } from "./dtype.ts";
import { fmtShape, normalizeAxes } from "./shape.ts";
import type { TensorLike } from "./tensor_like.ts";

/** Axes to reduce (default: all). */
type Axes = number | readonly number[] | undefined;

/** The number of elements each output of a reduction over `axes` of `t` sums. */
function count<T extends TensorLike<T>>(t: T, op: string, axes: Axes): number {
  return normalizeAxes(op, axes, t.ndim).reduce((n, a) => n * t.shape[a], 1);
}

/** Mean of `t` over `axes` (see `Tensor.mean`). */
export function mean<T extends TensorLike<T>>(t: T, axes: Axes, keepdims: boolean): T {
  if (t.dtype === "int32") {
    throw new Error(
      `mean: expected a float or bool tensor, got int32${fmtShape(t.shape)}; ` +
        `cast it first (.cast("float32")), as PyTorch asks`,
    );
  }
  const out = t.sum(axes, { keepdims }).div(count(t, "mean", axes));
  if (isFloat(t.dtype)) {
    const ax = normalizeAxes("mean", axes, t.ndim);
    markComposite(out.node, "mean", [t.node], { axes: ax, keepdims });
  }
  return out;
}

/** Variance of `t` over `axes` with Bessel's `correction` (see `Tensor.var`). */
export function variance<T extends TensorLike<T>>(
  t: T,
  axes: Axes,
  correction: number,
  keepdims: boolean,
): T {
  const n = count(t, "var", axes);
  const centered = t.sub(t.mean(axes, { keepdims: true }));
  return centered.square().sum(axes, { keepdims }).div(Math.max(0, n - correction));
}

/** `log(sum(exp(t)))` over `axes`, computed stably. */
export function logsumexp<T extends TensorLike<T>>(t: T, axes: Axes, keepdims: boolean): T {
  const m = t.max(axes, { keepdims: true }).detach();
  const out = t.sub(m).exp().sum(axes, { keepdims: true }).log().add(m);
  if (keepdims) return out;
  const ax = normalizeAxes("reduce", axes, t.ndim);
  return out.reshape(t.shape.filter((_, i) => !ax.includes(i)));
}

/** Softmax of `t` along `axis`. */
export function softmax<T extends TensorLike<T>>(t: T, axis: number): T {
  const e = t.sub(t.max(axis, { keepdims: true }).detach()).exp();
  const out = e.div(e.sum(axis, { keepdims: true }));
  const [a] = normalizeAxes("softmax", axis, t.ndim);
  if (isFloat(t.dtype)) markComposite(out.node, "softmax", [t.node], { axis: a });
  return out;
}

/** Log-softmax of `t` along `axis`. */
export function logSoftmax<T extends TensorLike<T>>(t: T, axis: number): T {
  // (x - m) - log Σ exp(x - m), not x - logsumexp(x): rounding m + log Σ to float32 loses
  // the low bits of log Σ when |m| is large (1e4: an ulp of 2^-10).
  const shifted = t.sub(t.max(axis, { keepdims: true }).detach());
  const out = shifted.sub(shifted.exp().sum(axis, { keepdims: true }).log());
  const [a] = normalizeAxes("logSoftmax", axis, t.ndim);
  if (isFloat(t.dtype)) markComposite(out.node, "log_softmax", [t.node], { axis: a });
  return out;
}
