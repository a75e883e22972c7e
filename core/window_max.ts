/**
 * The maximum of each pooling window with PyTorch's choice of which element it comes from.
 *
 * PyTorch's `max_pool2d` gives a window's gradient to one element: the first maximum in row-major
 * window order, or the last NaN when the window holds one; padding never wins. This builds that
 * choice from primitives (compare, where, max-reduce over the window positions), so it fuses
 * like any elementwise graph, and the value and its derivatives (reverse, forward, higher order)
 * all follow from the same `where`: the output is the sum, over the window, of the chosen
 * element and `-0` elsewhere (`x + -0 = x` for every `x`, so the value is exact).
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";

/**
 * Maxima of `windows` (`[..., OH, OW, KH, KW]`) over their last two axes, as `[..., OH, OW]`.
 * `index` (`[OH, OW, KH, KW]`, same dtype) holds each window position's row-major index in the
 * input plane, increasing along the window in row-major order, and -1 at padding.
 */
export function windowMax(windows: Node, index: Node): Node {
  const shape = windows.shape;
  const axes = [shape.length - 2, shape.length - 1];
  const spread = (n: Node) => ir.expand(n, shape);
  const full = (v: number) => ir.constNode(v, shape, windows.dtype);
  const idx = spread(ir.reshape(index, [...shape.slice(0, -4).map(() => 1), ...index.shape]));
  const w = ir.detach(windows);
  const m = spread(ir.reduce("reduce_max", w, axes));
  const valid = ir.binary("cmplt", full(-1), idx);
  const isNan = ir.binary("cmpeq", ir.binary("cmpeq", w, w), ir.constNode(0, shape, "bool"));
  // Keys: a NaN position's index (the largest wins: the last NaN), a maximum's negated index
  // (the first maximum wins), -Infinity elsewhere. A window holds NaN or ties, never both.
  const key = ir.where(
    valid,
    ir.where(
      isNan,
      idx,
      ir.where(ir.binary("cmpeq", w, m), ir.unary("neg", idx), full(-Infinity)),
    ),
    full(-Infinity),
  );
  const chosen = ir.binary("cmpeq", key, spread(ir.reduce("reduce_max", key, axes)));
  const sum = ir.reduce("reduce_sum", ir.where(chosen, windows, full(-0)), axes);
  return ir.reshape(sum, shape.slice(0, -2));
}
