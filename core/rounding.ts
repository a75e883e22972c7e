/**
 * Rounding and integer division built from the primitives `floor`, `round`, `floor_div` and
 * `fmod`, with PyTorch's values (signed zeros, NaN and ±Infinity included):
 *
 * - `ceil(x) = -floor(-x)` and `trunc(x) = x < 0 ? ceil(x) : floor(x)` are exact;
 * - `remainder(a, b)` (the sign of `b`, Python's `%`) is PyTorch's own formula: `m = fmod(a, b)`,
 *   plus `b` where `m` is nonzero and its sign differs from `b`'s;
 * - the truncated quotient that `fmod`'s gradient needs is `floor_div(a, b)` plus one where
 *   `remainder` adds `b`.
 *
 * int32 operands stay int32 and are exact (see the primitives for division by zero).
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";

const zeroLike = (x: Node) => ir.constNode(0, x.shape, x.dtype);
const lt = (a: Node, b: Node) => ir.binary("cmplt", a, b);
const eq = (a: Node, b: Node) => ir.binary("cmpeq", a, b);

/** The integer at or above each element of a float node. */
export function ceilNode(x: Node): Node {
  return ir.unary("neg", ir.unary("floor", ir.unary("neg", x)));
}

/** Each element of a float node rounded toward zero. */
export function truncNode(x: Node): Node {
  return ir.where(lt(x, zeroLike(x)), ceilNode(x), ir.unary("floor", x));
}

/**
 * `keep` where `m = fmod(a, b)` is zero or has the sign of `b` (where floor and trunc of `a / b`
 * agree), else `fix`. Nested `where`s over values, not over bools (ONNX Runtime has no `Where`
 * for bools).
 */
function bySign(m: Node, b: Node, keep: Node, fix: Node): Node {
  const zero = zeroLike(m);
  return ir.where(eq(m, zero), keep, ir.where(eq(lt(m, zero), lt(b, zero)), keep, fix));
}

/** PyTorch's `remainder` of two nodes of one shape and dtype: the sign of `b`. */
export function remainderNode(a: Node, b: Node): Node {
  const m = ir.binary("fmod", a, b);
  return bySign(m, b, m, ir.binary("add", m, b));
}

/** The quotient `a / b` truncated toward zero (for `fmod`'s gradient). */
export function truncDivNode(a: Node, b: Node): Node {
  const m = ir.binary("fmod", a, b);
  const one = ir.constNode(1, a.shape, a.dtype);
  const fix = bySign(m, b, zeroLike(a), one);
  return ir.binary("add", ir.binary("floor_div", a, b), fix);
}
