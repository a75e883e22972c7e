/**
 * Class-index targets of the classification losses: validation and one-hot encoding.
 *
 * @module
 */

import { indexRange, knownValues, type Tensor } from "./_deps.ts";

/** A class-index target prepared for a loss over logits with classes on `classAxis`. */
export interface ClassTarget {
  /** The one-hot encoding, shaped and typed like the logits. */
  oneHot: Tensor;
  /** `true` where the target equals `ignoreIndex`. */
  ignored: Tensor;
  /** `true` where the target is neither a class index in `[0, C)` nor ignored: its loss is NaN. */
  invalid: Tensor;
}

/**
 * Encodes `target` (class indices in a float tensor, shaped like `x` without `classAxis`) for
 * `x`. Values known on the host (see `knownValues`) are checked now: anything but an integer in
 * `[0, C)` or `ignoreIndex` throws an error naming the value, its position and `C`. Lazy values
 * cannot be checked before they are computed; `invalid` marks the out-of-range ones. The graph
 * is the same either way, so a training step compiles once whether its target was uploaded yet
 * or not.
 */
export function classTarget(
  op: string,
  x: Tensor,
  target: Tensor,
  classAxis: number,
  ignoreIndex: number,
): ClassTarget {
  const c = x.shape[classAxis];
  const known = knownValues(target);
  for (let i = 0; known !== undefined && i < known.values.length; i++) {
    const v = known.values[i];
    if (v !== ignoreIndex && !(Number.isInteger(v) && v >= 0 && v < c)) {
      throw new Error(
        `${op}: target value ${v} at flat index ${i} is not a class index; expected an ` +
          `integer in [0, ${c}) for ${c} classes, or ignoreIndex ${ignoreIndex}`,
      );
    }
  }
  const classes = indexRange(c, x.dtype, x.backend)
    .reshape(x.shape.map((d, i) => (i === classAxis ? d : 1)));
  const oneHot = target.unsqueeze(classAxis).eq(classes).cast(x.dtype);
  const ignored = target.eq(ignoreIndex);
  return { oneHot, ignored, invalid: oneHot.sum(classAxis).eq(0) };
}
