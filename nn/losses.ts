/**
 * Loss functions with PyTorch's semantics: cross-entropy with logits, and mean squared error.
 *
 * @module
 */

import { type DType, fmtShape, Tensor } from "./_deps.ts";

/** How per-element losses are combined. */
export type Reduction = "mean" | "sum" | "none";

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** `mean` (default), `sum` or `none`. */
  reduction?: Reduction;
  /** Mixes the target with the uniform distribution: `(1 - ε) · target + ε / C` (default 0). */
  labelSmoothing?: number;
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
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { crossEntropy } from "@symgrad/symgrad/nn";
 * const logits = Tensor.from([[0, 0], [0, 0]]);
 * console.log(await crossEntropy(logits, Tensor.from([0, 1])).item()); // ln 2 ≈ 0.693
 * ```
 */
export function crossEntropy(x: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  const { reduction = "mean", labelSmoothing = 0 } = opts;
  if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
    throw new Error(
      `crossEntropy: labelSmoothing ${labelSmoothing} is out of range; expected [0, 1]`,
    );
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
  const classes = classIndices(c, x.dtype, x.backend)
    .reshape(x.shape.map((d, i) => (i === classAxis ? d : 1)));
  const oneHot = target.unsqueeze(classAxis).eq(classes).cast(x.dtype);
  let loss = logp.mul(oneHot).sum(classAxis).neg();
  if (labelSmoothing > 0) {
    const uniform = logp.sum(classAxis).neg().div(c);
    loss = loss.mul(1 - labelSmoothing).add(uniform.mul(labelSmoothing));
  }
  return reduce("crossEntropy", loss, reduction);
}

// One index leaf per class count, dtype and backend, shared by every call: a fresh leaf per
// call would hold one buffer per training step until a collector ran.
const classIndexLeaves = new Map<string, Tensor>();
function classIndices(c: number, dtype: DType, backend: string): Tensor {
  const key = `${c}|${dtype}|${backend}`;
  let t = classIndexLeaves.get(key);
  if (t === undefined) {
    classIndexLeaves.set(key, t = Tensor.arange(c, undefined, 1, { dtype, backend }));
  }
  return t;
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
