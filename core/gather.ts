/**
 * `gather` (PyTorch's `torch.gather`) from primitives: each output element sums, over the
 * gathered axis, the input where the position equals its index and `-0` elsewhere. Exactly one
 * term is the input (`x + -0 = x` for every `x`, so the value is exact, infinities and NaN
 * included; a gathered `-0` comes back as `+0`, as sums start from `+0`), the gradient of `where` scatters into the chosen positions (repeated indices add
 * up, as PyTorch's scatter-add), and the whole selection fuses into one reduction kernel.
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";
import { fmtShape } from "./shape.ts";

/**
 * `out[p] = x[p with axis ← index[p]]` for every position `p` of `index` (int32, same rank as
 * `x`, extents at most `x`'s off the axis). `iota` is `[0, …, n − 1]` (int32) for the axis
 * extent `n`. An index outside `[0, n)` gives NaN (indices known on the host are checked by the
 * caller).
 */
export function gatherNode(x: Node, axis: number, index: Node, iota: Node): Node {
  const r = x.shape.length;
  const n = x.shape[axis];
  const bad = index.shape.length !== r ||
    index.shape.some((d, i) => i !== axis && d > x.shape[i]);
  if (index.dtype !== "int32" || bad) {
    throw new Error(
      `gather: index ${index.dtype}${fmtShape(index.shape)} does not fit input ` +
        `${fmtShape(x.shape)} along axis ${axis}; expected an int32 index of rank ${r} with ` +
        `extents at most the input's off the axis`,
    );
  }
  // The input restricted to the index's extents off the axis.
  const xs = ir.slice(
    x,
    x.shape.map(() => 0),
    x.shape.map((d, i) => (i === axis ? d : index.shape[i])),
  );
  // Move the axis last: x → [R..., n], index → [R..., m].
  const perm = [...Array(r).keys()].filter((i) => i !== axis).concat(axis);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const xp = ir.permute(xs, perm), ip = ir.permute(index, perm);
  const rest = ip.shape.slice(0, -1), m = ip.shape[r - 1];
  const grid = [...rest, m, n];
  const values = ir.expand(ir.reshape(xp, [...rest, 1, n]), grid);
  const wanted = ir.expand(ir.reshape(ip, [...rest, m, 1]), grid);
  const positions = ir.expand(ir.reshape(iota, [...rest.map(() => 1), 1, n]), grid);
  const chosen = ir.where(
    ir.binary("cmpeq", wanted, positions),
    values,
    ir.constNode(-0, grid, x.dtype),
  );
  const picked = ir.reshape(ir.reduce("reduce_sum", chosen, [r]), [...rest, m]);
  const inRange = ir.where(
    ir.binary("cmplt", ip, ir.constNode(0, ip.shape, "int32")),
    ir.constNode(0, ip.shape, "bool"),
    ir.binary("cmplt", ip, ir.constNode(n, ip.shape, "int32")),
  );
  const out = ir.where(inRange, picked, ir.constNode(NaN, ip.shape, x.dtype));
  return ir.permute(out, inverse);
}
