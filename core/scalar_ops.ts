/**
 * The meaning of every elementwise op on one element, shared by constant folding and the
 * reference interpreter (so the two can never disagree).
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import type { BinaryOp, UnaryOp } from "./elementwise_ops.ts";

/** Each unary op on one number. */
export const UNARY_SCALAR: Readonly<Record<UnaryOp, (x: number) => number>> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  recip: (x) => 1 / x,
  sin: Math.sin,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
};

/** Each binary op on two numbers; comparisons give 1 or 0, `max` propagates NaN. */
export const BINARY_SCALAR: Readonly<Record<BinaryOp, (a: number, b: number) => number>> = {
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  max: Math.max,
  cmplt: (a, b) => (a < b ? 1 : 0),
  cmpeq: (a, b) => (a === b ? 1 : 0),
  // C's pow, which PyTorch follows: Math.pow except that 1^y and (-1)^±Infinity are 1.
  pow: (a, b) => (a === 1 || (a === -1 && Math.abs(b) === Infinity) ? 1 : Math.pow(a, b)),
};

/** `neg`, `add` and `mul` on int32 elements, wrapping around as two's complement. */
const INT32_WRAPPED: Readonly<
  Partial<Record<UnaryOp | BinaryOp, (a: number, b: number) => number>>
> = {
  neg: (a) => -a | 0,
  add: (a, b) => (a + b) | 0,
  mul: Math.imul,
};

/** Each unary op on one element of `dtype` (int32 results wrap around). */
export function unaryScalar(op: UnaryOp, dtype: DType): (x: number) => number {
  const f = dtype === "int32" ? INT32_WRAPPED[op] : undefined;
  return f === undefined ? UNARY_SCALAR[op] : (x) => f(x, 0);
}

/** Each binary op on two elements of `dtype` (int32 results wrap around). */
export function binaryScalar(op: BinaryOp, dtype: DType): (a: number, b: number) => number {
  return (dtype === "int32" ? INT32_WRAPPED[op] : undefined) ?? BINARY_SCALAR[op];
}
