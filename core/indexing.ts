/**
 * Indexing as `Tensor`'s methods build it: `gather`, `indexSelect`, and `argmax` / `argmin`
 * from comparisons against the shared `[0, n)` leaf, with PyTorch's semantics.
 *
 * @module
 */

import { gatherNode } from "./gather.ts";
import * as ir from "./ir.ts";
import { knownValues } from "./known_values.ts";
import { fmtShape, normalizeAxes, type Shape } from "./shape.ts";
import type { TensorKit, TensorLike } from "./tensor_like.ts";

/** Throws for an index value known on the host that is outside `[0, n)`. */
function checkIndexValues<T extends TensorLike<T>>(
  op: string,
  index: T,
  n: number,
  axis: number,
  shape: Shape,
): void {
  const known = knownValues(index);
  if (known === undefined || index.dtype !== "int32") return;
  for (let k = 0; k < known.values.length; k++) {
    const v = known.values[k];
    if (!(v >= 0 && v < n)) {
      throw new Error(
        `${op}: index ${v} at flat position ${k} is out of range for axis ${axis} of extent ${n} ` +
          `(input ${fmtShape(shape)}); expected an integer in [0, ${n})`,
      );
    }
  }
}

/** PyTorch's `gather` of `t` along `axis` (see `Tensor.gather`). */
export function gather<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  axis: number,
  index: T,
): T {
  const [a] = normalizeAxes("gather", axis, t.ndim);
  if (index.backend !== t.backend) {
    throw new Error(
      `gather: index lives on ${index.backend} and the input on ${t.backend}; expected one ` +
        `backend`,
    );
  }
  const n = t.shape[a];
  const iota = kit.indexRange(n, "int32", t.backend);
  const x = t.dtype === "bool" ? ir.cast(t.node, "float32") : t.node;
  const out = gatherNode(x, a, index.node, iota.node); // checks shapes
  checkIndexValues("gather", index, n, a, t.shape);
  return kit.wrap(out, t.backend);
}

/** PyTorch's `index_select` of `t` along `axis` (see `Tensor.indexSelect`). */
export function indexSelect<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  axis: number,
  index: T,
): T {
  const [a] = normalizeAxes("indexSelect", axis, t.ndim);
  if (index.ndim !== 1) {
    throw new Error(
      `indexSelect: expected a 1-D index, got ${index.dtype}${fmtShape(index.shape)}`,
    );
  }
  checkIndexValues("indexSelect", index, t.shape[a], a, t.shape);
  const shape = t.shape.map((d, i) => (i === a ? index.shape[0] : d));
  const spread = index.reshape(t.shape.map((_, i) => (i === a ? index.shape[0] : 1)))
    .expand(shape);
  return gather(t, kit, a, spread);
}

/** `argmax` / `argmin` of `x` along `axis`: the first NaN, else the first extreme element. */
export function argExtreme<T extends TensorLike<T>>(
  x: T,
  kit: TensorKit<T>,
  op: "argmax" | "argmin",
  axis: number,
  opts: { keepdims?: boolean },
): T {
  const [a] = normalizeAxes(op, axis, x.ndim);
  const n = x.shape[a];
  if (n === 0) {
    throw new Error(
      `${op}: cannot take the ${op} over empty axis ${a} of shape ${fmtShape(x.shape)}; ` +
        `expected a nonempty axis`,
    );
  }
  const v = x.detach();
  const extreme = op === "argmax" ? v.max(a, { keepdims: true }) : v.min(a, { keepdims: true });
  const idx = kit.indexRange(n, "int32", x.backend)
    .reshape(x.shape.map((d, i) => (i === a ? d : 1)));
  // A NaN makes the extreme NaN, which equals no element: NaN positions are the hits then.
  const hits = kit.where(v.eq(extreme), idx, kit.where(v.ne(v), idx, n));
  // Some row always hits; the clamp keeps the index in range even where a GPU compiler assumes
  // no NaN and folds the comparisons (it costs one op in the fused reduction).
  return hits.min(a, opts).minimum(n - 1);
}
