/**
 * The affine map of a fully connected layer as a pure function.
 *
 * @module
 */

import { fmtShape, markComposite, type Tensor } from "../_deps.ts";

/**
 * `x · weightᵀ + bias` over the last axis of `x`, as PyTorch's `F.linear`: weight
 * `[out, in]`, bias `[out]`, input `[..., in]`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { linear } from "@symgrad/symgrad/nn";
 * const w = Tensor.from([[1, 2], [3, 4]]);
 * console.log(await linear(Tensor.from([1, 1]), w, Tensor.from([0, 1])).data()); // [3, 8]
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new Error(
      `linear: input ${fmtShape(x.shape)} and weight ${fmtShape(weight.shape)} do not match; ` +
        `expected input [..., in] and weight [out, in]`,
    );
  }
  const y = x.matmul(weight.transpose());
  const out = bias ? y.add(bias) : y;
  if (x.ndim === 2 && [weight, bias ?? x].every((t) => t.dtype === x.dtype)) {
    markComposite(out.node, "linear", [x.node, weight.node, bias?.node ?? null], {});
  }
  return out;
}
