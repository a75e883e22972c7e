/**
 * The names of the IR's elementwise primitives, in a module of their own so that the IR and
 * the scalar meaning of each op (core/scalar_ops.ts) both import them without importing each
 * other.
 *
 * @module
 */

/** Elementwise ops of one float operand (`neg` also takes int32). */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "recip",
  "sin",
  "sigmoid",
  "tanh",
  "floor",
  "round",
] as const;
/** An elementwise op of one float operand. */
export type UnaryOp = typeof UNARY_OPS[number];

/** Elementwise ops of two operands of equal shape and dtype; `cmplt`/`cmpeq` return `bool`. */
export const BINARY_OPS = [
  "add",
  "mul",
  "max",
  "cmplt",
  "cmpeq",
  "pow",
  "floor_div",
  "fmod",
] as const;
/** An elementwise op of two operands. */
export type BinaryOp = typeof BINARY_OPS[number];
