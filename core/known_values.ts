/**
 * The element values of a tensor when they are known on the host without running anything:
 * a leaf created from host data and not yet uploaded, or a constant. Argument checks use it to
 * reject bad values (class indices, say) at once, with the value and its position.
 *
 * @module
 */

import type { Node, OpAttrs } from "./ir.ts";
import { storageOf } from "./realize.ts";

/** Host-known elements of a tensor: every element, or one value that all elements equal. */
export interface KnownValues {
  /** The elements in row-major order, or the single value when `uniform`. */
  readonly values: ArrayLike<number>;
  /** Whether every element equals `values[0]` (a constant). */
  readonly uniform: boolean;
}

/**
 * The values of `t` when they are on the host now, else `undefined` (computed or uploaded
 * tensors: their values are only known after a realization).
 */
export function knownValues(t: { readonly node: Node }): KnownValues | undefined {
  const n = t.node;
  if (n.op === "const") return { values: [(n.attrs as OpAttrs["const"]).value], uniform: true };
  if (n.op !== "buffer") return undefined;
  const host = storageOf(n)?.peekHost();
  return host === undefined ? undefined : { values: host, uniform: false };
}
