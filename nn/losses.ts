/**
 * Loss functions with PyTorch's semantics: cross-entropy with logits, and mean squared error.
 *
 * @module
 */

import { fmtShape, Tensor } from "./_deps.ts";
import { classTarget } from "./class_target.ts";

/** How per-element losses are combined. */
export type Reduction = "mean" | "sum" | "none";

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** `mean` (default), `sum` or `none`. */
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution: `(1 - ε) · target + ε / C` (default 0). */
  labelSmoothing?: number;
  /**
   * A class-index target value that contributes nothing: its loss is 0 and the mean is taken
   * over the other elements (default -100, as in PyTorch; all ignored gives a NaN mean). Not
   * used with probability targets.
   */
  ignoreIndex?: number;
}

function reduce(op: string, loss: Tensor, reduction: Reduction): Tensor {
  switch (reduction) {
    case "mean":
      return loss.mean();
    case "sum":
      return loss.sum();
    case "none":
      return loss;
    default:
      throw new Error(
        `${op}: unknown reduction ${JSON.stringify(reduction)}; expected mean, sum or none`,
      );
  }
}

/**
 * Cross-entropy between logits `x` (`[N, C, ...]` or `[C]`, classes on axis 1) and a target
 * that is either class indices (`[N, ...]`, integer values in a float tensor) or class
 * probabilities shaped like `x`, as PyTorch's `F.cross_entropy`.
 *
 * Class indices whose values are known on the host (a tensor made from an array and not yet
 * used on a backend, or a constant) are checked at once: a value that is neither an integer in
 * `[0, C)` nor `ignoreIndex` throws an error naming it. Indices computed lazily cannot be checked
 * before they run; an out-of-range or non-integer one makes its loss term NaN (and so the mean
 * or sum), never a silent finite number.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { crossEntropy } from "@symgrad/symgrad/nn";
 * const logits = Tensor.from([[0, 0], [0, 0]]);
 * console.log(await crossEntropy(logits, Tensor.from([0, 1])).item()); // ln 2 ≈ 0.693
 * ```
 *
 * @example Ignored targets
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { crossEntropy } from "@symgrad/symgrad/nn";
 * const logits = Tensor.from([[0, 0], [5, 0]]);
 * console.log(await crossEntropy(logits, Tensor.from([0, -100])).item()); // ln 2 ≈ 0.693
 * ```
 */
export function crossEntropy(x: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { reduction = "mean", labelSmoothing = 0, ignoreIndex = -100 } = opts;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new Error(
      `crossEntropy: labelSmoothing ${labelSmoothing} is out of range; expected [0, 1]`,
    );
  }
  if (!Number.isInteger(ignoreIndex)) {
    throw new Error(`crossEntropy: ignoreIndex ${ignoreIndex} is not an integer; expected one`);
  }
  if (x.ndim === 0) {
    throw new Error(`crossEntropy: input has shape []; expected [C] or [N, C, ...] logits`);
  }
  const classAxis = x.ndim === 1 ? 0 : 1;
  const c = x.shape[classAxis];
  const logp = x.logSoftmax(classAxis);
  const probabilities = target.shape.join(",") === x.shape.join(",");
  if (probabilities) {
    const smoothed = labelSmoothing > 0
      ? target.mul(1 - labelSmoothing).add(labelSmoothing / c)
      : target;
    const loss = logp.mul(smoothed).sum(classAxis).neg();
    return reduce("crossEntropy", loss, reduction);
  }
  const expected = x.shape.filter((_, i) => i !== classAxis);
  if (target.shape.join(",") !== expected.join(",")) {
    throw new Error(
      `crossEntropy: target ${fmtShape(target.shape)} fits neither class indices ${
        fmtShape(expected)
      } nor probabilities ${fmtShape(x.shape)} for input ${fmtShape(x.shape)}`,
    );
  }
  const { oneHot, ignored, invalid } = classTarget(
    "crossEntropy",
    x,
    target,
    classAxis,
    ignoreIndex,
  );
  let loss = logp.mul(oneHot).sum(classAxis).neg();
  if (labelSmoothing > 0) {
    const uniform = logp.sum(classAxis).neg().div(c);
    loss = loss.mul(1 - labelSmoothing).add(uniform.mul(labelSmoothing));
  }
  loss = Tensor.where(ignored, 0, Tensor.where(invalid, NaN, loss));
  if (reduction !== "mean") return reduce("crossEntropy", loss, reduction);
  // The mean over the elements that count; 0 / 0 = NaN when all are ignored, as in PyTorch.
  return loss.sum().div(ignored.logicalNot().cast(loss.dtype).sum());
}

/** Options of {@link mseLoss}. */
export interface MseLossOptions {
  /** `mean` (default), `sum` or `none`. */
  reduction?: Reduction;
}

/**
 * Mean squared error `(x - target)²`, reduced as PyTorch's `F.mse_loss`.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { mseLoss } from "@symgrad/symgrad/nn";
 * console.log(await mseLoss(Tensor.from([1, 2]), Tensor.from([1, 4])).item()); // 2
 * ```
 */
export function mseLoss(x: Tensor, target: Tensor, opts: MseLossOptions = {}): Tensor {
  if (x.shape.join(",") !== target.shape.join(",")) {
    throw new Error(
      `mseLoss: input ${fmtShape(x.shape)} and target ${
        fmtShape(target.shape)
      } differ; expected equal shapes`,
    );
  }
  return reduce("mseLoss", x.sub(target).square(), opts.reduction ?? "mean");
}
