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
  floor: Math.floor,
  round: roundHalfEven,
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
  floor_div: (a, b) => floorDivFloat(a, b, false),
  // JavaScript's `%` is C's fmod on doubles: exact, so also the float32 result of float32 operands.
  fmod: (a, b) => a % b,
};

/**
 * `neg`, `add` and `mul` on int32 elements, wrapping around as two's complement, and the exact
 * integer `floor_div` and `fmod`.
 */
const INT32_WRAPPED: Readonly<
  Partial<Record<UnaryOp | BinaryOp, (a: number, b: number) => number>>
> = {
  neg: (a) => -a | 0,
  add: (a, b) => (a + b) | 0,
  mul: Math.imul,
  floor_div: floorDivInt32,
  fmod: fmodInt32,
};

/** Each unary op on one element of `dtype` (int32 results wrap around). */
export function unaryScalar(op: UnaryOp, dtype: DType): (x: number) => number {
  const f = dtype === "int32" ? INT32_WRAPPED[op] : undefined;
  return f === undefined ? UNARY_SCALAR[op] : (x) => f(x, 0);
}

/** Each binary op on two elements of `dtype` (int32 results wrap around). */
export function binaryScalar(op: BinaryOp, dtype: DType): (a: number, b: number) => number {
  if (op === "floor_div" && dtype === "float32") return (a, b) => floorDivFloat(a, b, true);
  return (dtype === "int32" ? INT32_WRAPPED[op] : undefined) ?? BINARY_SCALAR[op];
}

// The helpers below are self-contained (they use only their arguments and `Math`): the CPU
// backend embeds their source in its kernels, so both host backends run the same code.

/** The integer nearest to `x`, ties to even (as PyTorch's `round`); keeps -0, NaN, ±Infinity. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +Infinity; exact for every double
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * PyTorch's float `floor_divide` (`div_floor_floating`): the quotient of `a - fmod(a, b)` by `b`,
 * one less where the remainder's sign differs from `b`'s, rounded to the nearest integer;
 * a signed zero for a zero quotient and IEEE `a / b` where `b` is zero. With `f32`, every
 * operation rounds to float32 as PyTorch's float32 arithmetic does.
 */
export function floorDivFloat(a: number, b: number, f32: boolean): number {
  const r = f32 ? Math.fround : (x: number) => x;
  if (b === 0) return a / b;
  const mod = a % b;
  let div = r(r(a - mod) / b);
  if (mod !== 0 && (b < 0) !== (mod < 0)) div = r(div - 1);
  if (div === 0) return (a < 0 || Object.is(a, -0)) !== b < 0 ? -0 : 0;
  let fd = Math.floor(div);
  if (div - fd > 0.5) fd = r(fd + 1);
  return fd;
}

/** int32 floor division: exact, 0 where `b` is zero, `-2^31 / -1` wraps to `-2^31`. */
export function floorDivInt32(a: number, b: number): number {
  if (b === 0) return 0;
  // The double quotient of two int32s truncates to the exact integer quotient.
  const q = Math.trunc(a / b), m = a % b;
  return (m !== 0 && (m < 0) !== (b < 0) ? q - 1 : q) | 0;
}

/** int32 truncated remainder (C's `%`, sign of `a`), 0 where `b` is zero. */
export function fmodInt32(a: number, b: number): number {
  return b === 0 ? 0 : (a % b) | 0;
}
