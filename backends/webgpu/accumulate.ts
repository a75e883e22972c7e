/**
 * WGSL of reduction accumulators: a running maximum, or a compensated (Neumaier) sum.
 *
 * A float32 sum of n terms accumulated naively is off by up to (n - 1)·2^-24·Σ|x| (1e8 plus
 * 2^20 ones loses every one). A Neumaier sum carries the rounding error of each addition in a
 * second float, so that its error is at most 2^-24·|Σx| + O(n·2^-48)·Σ|x|: the lanes, the tree
 * that combines them and the partial results of split reductions all carry (sum, compensation)
 * pairs, and the pair is rounded to one float32 only when the result is stored.
 *
 * Compilers may simplify float expressions algebraically (Mesa folds `((s + v) - s) - v` to 0),
 * which would cancel the compensation: the rounded sum passes through a bitcast with a zero the
 * compiler cannot know (`nwg.z - 1`, one for our 2-D dispatches) before its error is computed.
 * Once the sum overflows to ±Infinity or becomes NaN the compensation is NaN (∞ - ∞), so the
 * result is then the sum alone.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import { f32Literal } from "./wgsl.ts";
import { addExpr, maxExpr } from "./wgsl_expr.ts";

/** Accumulator code for one reduce op; a state named `n` is the variables `n` (and `n_c`). */
export interface Accumulator {
  /** The WGSL type of a state's words (in workgroup memory and partial-result buffers). */
  readonly type: "f32" | "i32";
  /** Words one state takes in workgroup memory and in partial-result buffers. */
  readonly words: 1 | 2;
  /** Declares state `n` holding the identity. */
  decl(n: string): string;
  /** Adds the f32 expression `v` into state `n` (statements). */
  add(n: string, v: string): string;
  /** Adds state `m` into state `n` (statements). */
  merge(n: string, m: string): string;
  /** Declares state `n` read from `arr` at state index `i`. */
  get(n: string, arr: string, i: string): string;
  /** Writes state `n` into `arr` at state index `i` (statements). */
  put(n: string, arr: string, i: string): string;
  /** The f32 result of state `n`. */
  value(n: string): string;
}

/** Whether an f32 is ±Infinity or NaN, from its bits (comparisons may be folded away). */
const nonFinite = (x: string) => `((bitcast<u32>(${x}) & 0x7f800000u) == 0x7f800000u)`;

const MAX: Accumulator = {
  type: "f32",
  words: 1,
  decl: (n) => `var ${n} = ${f32Literal(-Infinity)};`,
  add: (n, v) => `${n} = ${maxExpr(n, v)};`,
  merge: (n, m) => `${n} = ${maxExpr(n, m)};`,
  get: (n, arr, i) => `var ${n} = ${arr}[${i}];`,
  put: (n, arr, i) => `${arr}[${i}] = ${n};`,
  value: (n) => n,
};

/** Neumaier's update of (`n`, `n_c`) by `v`; `v` must be a name or literal. */
function twoSum(n: string, v: string): string {
  return `{
  let sum_t = ${addExpr(n, v)};
  let sum_o = bitcast<f32>(bitcast<u32>(sum_t) ^ (nwg.z - 1u));
  ${n}_c += select((${v} - sum_o) + ${n}, (${n} - sum_o) + ${v}, abs(${n}) >= abs(${v}));
  ${n} = sum_t;
}`;
}

const SUM: Accumulator = {
  type: "f32",
  words: 2,
  decl: (n) => `var ${n} = 0.0f;\nvar ${n}_c = 0.0f;`,
  add: (n, v) => `{\n  let sum_x = ${v};\n  ${twoSum(n, "sum_x").replaceAll("\n", "\n  ")}\n}`,
  merge: (n, m) => `${twoSum(n, m)}\n${n}_c += ${m}_c;`,
  get: (n, arr, i) => `var ${n} = ${arr}[2 * (${i})];\nvar ${n}_c = ${arr}[2 * (${i}) + 1];`,
  put: (n, arr, i) => `${arr}[2 * (${i})] = ${n};\n${arr}[2 * (${i}) + 1] = ${n}_c;`,
  value: (n) => `select(${n} + ${n}_c, ${n}, ${nonFinite(n)})`,
};

/** An exact int32 accumulator: WGSL's i32 `+` wraps around as two's complement, as on CPU. */
function int32Accumulator(op: "sum" | "max"): Accumulator {
  const add = (n: string, v: string) =>
    op === "max" ? `${n} = max(${n}, ${v});` : `${n} = ${n} + ${v};`;
  return {
    type: "i32",
    words: 1,
    decl: (n) => `var ${n}: i32 = ${op === "max" ? "i32(-2147483648)" : "i32(0)"};`,
    add,
    merge: add,
    get: (n, arr, i) => `var ${n} = ${arr}[${i}];`,
    put: (n, arr, i) => `${arr}[${i}] = ${n};`,
    value: (n) => n,
  };
}

/** The accumulator of a kernel's reduce op on values of `dtype`. */
export function accumulator(op: "sum" | "max", dtype: DType = "float32"): Accumulator {
  if (dtype === "int32") return int32Accumulator(op);
  return op === "max" ? MAX : SUM;
}
