/**
 * Class-index targets of the classification losses: validation and one-hot encoding.
 *
 * @module
 */

import { knownValues, Tensor } from "./_deps.ts";

/** A class-index target prepared for a loss over logits with classes on `classAxis`. */
export interface ClassTarget {
  /** The one-hot encoding, shaped and typed like the logits. */
  oneHot: Tensor;
  /** `true` where the target equals `ignoreIndex`, or `null` when no element can. */
  ignored: Tensor | null;
  /**
   * `true` where the target is no class index in `[0, C)` (and not ignored), or `null` when the
   * values were checked on the host. The loss is NaN there.
   */
  invalid: Tensor | null;
  /** The number of non-ignored elements when known on the host, else `null`. */
  count: number | null;
}

/**
 * Encodes `target` (class indices in a float tensor, shaped like `x` without `classAxis`) for
 * `x`. Values known on the host (see `knownValues`) are checked now: anything but an integer in
 * `[0, C)` or `ignoreIndex` throws an error naming the value, its position and `C`. Lazy values
 * cannot be checked before they are computed; `invalid` then marks the out-of-range ones.
 */
export function classTarget(
  op: string,
  x: Tensor,
  target: Tensor,
  classAxis: number,
  ignoreIndex: number,
): ClassTarget {
  const c = x.shape[classAxis];
  const classes = Tensor.arange(c, undefined, 1, { dtype: x.dtype, backend: x.backend })
    .reshape(x.shape.map((d, i) => (i === classAxis ? d : 1)));
  const hits = target.unsqueeze(classAxis).eq(classes);
  const oneHot = hits.cast(x.dtype);
  const known = knownValues(target);
  if (known === undefined) {
    return {
      oneHot,
      ignored: target.eq(ignoreIndex),
      invalid: oneHot.sum(classAxis).eq(0),
      count: null,
    };
  }
  let ignoredCount = 0;
  const { values, uniform } = known;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === ignoreIndex) {
      ignoredCount++;
    } else if (!(Number.isInteger(v) && v >= 0 && v < c)) {
      throw new Error(
        `${op}: target value ${v} at flat index ${i} is not a class index; expected an ` +
          `integer in [0, ${c}) for ${c} classes, or ignoreIndex ${ignoreIndex}`,
      );
    }
  }
  const size = target.size;
  const count = uniform ? (ignoredCount > 0 ? 0 : size) : size - ignoredCount;
  return {
    oneHot,
    ignored: ignoredCount > 0 ? target.eq(ignoreIndex) : null,
    invalid: null,
    count,
  };
}
