/**
 * Non-overlapping pooling windows as a pure view. When the stride equals the kernel and the
 * dilation is 1, each input element lies in at most one window, so `[..., H, W]` becomes
 * `[..., OH, OW, KH, KW]` by a slice (dropping a remainder no window covers), a reshape and a
 * permute. Its gradient is then their transposes (a permute, a reshape and a pad) instead of
 * the overlapping window view's sums over the positions each element could occupy.
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";

/**
 * The windows of `x` (`[..., H, W]`, already padded) as `[..., OH, OW, KH, KW]`, or `null` when
 * they may overlap or skip elements (stride other than the kernel, or dilation other than 1).
 * Same elements in the same order as `Tensor.pool2d(kernel, stride, dilation)`.
 */
export function tiledWindows(
  x: Node,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): Node | null {
  if ([0, 1].some((d) => stride[d] !== kernel[d] || dilation[d] !== 1)) return null;
  const r = x.shape.length;
  const lead = x.shape.slice(0, -2);
  const [kh, kw] = kernel;
  const [oh, ow] = [Math.floor(x.shape[r - 2] / kh), Math.floor(x.shape[r - 1] / kw)];
  const covered = ir.slice(
    stored(x),
    x.shape.map(() => 0),
    [...lead, oh * kh, ow * kw],
  );
  const split = ir.reshape(covered, [...lead, oh, kh, ow, kw]);
  const L = lead.length;
  return ir.permute(split, [...lead.map((_, i) => i), L, L + 2, L + 1, L + 3]);
}

/**
 * `x` with its value computed once into a buffer: the scheduler inlines elementwise values into
 * every kernel that reads them, and the pool's reductions and its backward would each recompute
 * the producer of `x` (a norm and an activation, say). A reduction is always stored, so this sums
 * `x` with `-0` along a new axis of extent 2 (`x + -0 = x` for every `x`, the gradient is `g`
 * sliced back). Already stored values (inputs, reductions) are returned as they are.
 */
function stored(x: Node): Node {
  let y = x;
  while (y.op === "reshape" || y.op === "permute") y = y.inputs[0];
  if (y.op === "buffer" || (ir.REDUCE_OPS as readonly string[]).includes(y.op)) return x;
  const r = x.shape.length;
  const pads = [...x.shape.map(() => [0, 0] as const), [0, 1] as const];
  const one = [...x.shape, 1];
  const padded = ir.pad(ir.reshape(x, one), pads); // [x, 0] along the new axis
  const first = ir.pad(ir.constNode(1, one, "bool"), pads); // [true, false]
  const withZero = ir.where(first, padded, ir.constNode(-0, [...x.shape, 2], x.dtype));
  return ir.reshape(ir.reduce("reduce_sum", withZero, [r]), x.shape);
}
