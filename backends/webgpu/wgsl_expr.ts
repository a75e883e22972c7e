/**
 * WGSL expressions of kernel values: index arithmetic, validity conditions and ALU operations.
 *
 * Index arithmetic is `i32`: index expressions may be negative where a `pad` condition guards
 * them, and buffers are far below 2^31 elements.
 *
 * @module
 */

import type { Cond, KernelValue } from "../../core/schedule.ts";
import type { Index } from "../../core/symbolic.ts";
import { ROUNDING_HELPERS } from "./wgsl_rounding.ts";

/**
 * C's `pow` (which PyTorch follows) in WGSL, whose `pow` is undefined for negative or zero bases:
 * `x^0 = 1^y = (-1)^±inf = 1`, NaN otherwise propagates, zero and infinite bases and infinite
 * exponents by their limits, odd integer powers keep the base's sign (-0 included), and other
 * powers of finite negative bases are NaN. NaN and infinity tests read the bits.
 */
const POW_HELPER = `fn pow_c(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a) & 0x7fffffffu;
  let bb = bitcast<u32>(b) & 0x7fffffffu;
  let inf = bitcast<f32>(0x7f800000u);
  let x = abs(a);
  if (bb == 0u || a == 1.0) { return 1.0; }
  if (ab > 0x7f800000u || bb > 0x7f800000u) { return bitcast<f32>(0x7fc00000u); }
  if (bb == 0x7f800000u) {
    if (x == 1.0) { return 1.0; }
    return select(0.0, inf, (x > 1.0) == (b > 0.0));
  }
  let integer = floor(b) == b;
  let odd = integer && floor(b * 0.5) * 2.0 != b;
  var r = select(0.0, inf, (ab == 0u) == (b < 0.0));
  if (ab != 0u && ab != 0x7f800000u) {
    if (a < 0.0 && !integer) { return bitcast<f32>(0x7fc00000u); }
    r = pow(x, b);
  }
  return select(r, -r, odd && (bitcast<u32>(a) >> 31u) == 1u);
}
`;

/**
 * Helpers for floor division and non-negative remainders of possibly negative indices, pow, and
 * the rounding and integer-division ops.
 */
export const INDEX_HELPERS =
  `fn fdiv(a: i32, d: i32) -> i32 { return select(a / d, (a - d + 1) / d, a < 0); }
fn fmod(a: i32, d: i32) -> i32 { return ((a % d) + d) % d; }
` + POW_HELPER + ROUNDING_HELPERS;

/** The WGSL name of loop variable `l`. */
export const loopName = (l: number): string => `i${l}`;

/** An index expression as WGSL `i32`. */
export function indexSource(x: Index): string {
  const atom = (a: Index["terms"][number]["atom"]): string => {
    switch (a.kind) {
      case "loop":
        return loopName(a.loop);
      case "div":
        return a.x.min >= 0
          ? `(${indexSource(a.x)} / ${a.d})`
          : `fdiv(${indexSource(a.x)}, ${a.d})`;
      case "mod":
        return a.x.min >= 0
          ? `(${indexSource(a.x)} % ${a.d})`
          : `fmod(${indexSource(a.x)}, ${a.d})`;
    }
  };
  const parts = x.terms.map((t) =>
    t.coef === 1 ? atom(t.atom) : `${t.coef < 0 ? `(${t.coef})` : t.coef} * ${atom(t.atom)}`
  );
  if (x.c !== 0 || parts.length === 0) parts.push(x.c < 0 ? `(${x.c})` : String(x.c));
  return parts.length === 1 ? parts[0] : `(${parts.join(" + ")})`;
}

/** A `pad` validity condition as a WGSL boolean (bounds that always hold are left out). */
export function condSource(c: Cond): string {
  const e = indexSource(c.index);
  const parts: string[] = [];
  if (c.index.min < c.lo) parts.push(`${c.lo} <= ${e}`);
  if (c.index.max >= c.hi) parts.push(`${e} < ${c.hi}`);
  return parts.join(" && ") || "true";
}

/** Whether an `f32` is NaN, from its bits (`x != x` may be folded to false by the compiler). */
const isNan = (x: string) => `((bitcast<u32>(${x}) & 0x7fffffffu) > 0x7f800000u)`;

/** Whether an `f32` is ±Infinity or NaN, from its bits. */
const nonFinite = (x: string) => `((bitcast<u32>(${x}) & 0x7f800000u) == 0x7f800000u)`;

/**
 * `a + b` with IEEE results for infinite and NaN operands. WGSL lets compilers assume there are
 * none, and Mesa folds `x + -x` to 0 and `(x + y) - x` to `y` (wrong for x = ±Infinity or NaN):
 * where an operand is not finite, the sum is chosen from the bits instead (the non-finite
 * operand; NaN for NaN or opposite infinities).
 */
export function addExpr(a: string, b: string): string {
  const both = `select(bitcast<f32>(0x7fc00000u), ${a}, ` +
    `bitcast<u32>(${a}) == bitcast<u32>(${b}) && !${isNan(a)})`;
  const special = `select(select(${b}, ${a}, ${nonFinite(a)}), ${both}, ` +
    `${nonFinite(a)} && ${nonFinite(b)})`;
  return `select(${a} + ${b}, ${special}, ${nonFinite(a)} || ${nonFinite(b)})`;
}

/** `max` that propagates NaN like the interpreter (WGSL leaves NaN operands unspecified). */
export function maxExpr(a: string, b: string): string {
  return `select(select(max(${a}, ${b}), ${b}, ${isNan(b)}), ${a}, ${isNan(a)})`;
}

/**
 * An `f32` name or literal as `i32`: truncated toward zero and saturated, NaN to 0, as the host
 * backends do (2147483520 is the largest float32 below 2^31).
 */
function f32ToI32(x: string): string {
  const inRange = `i32(clamp(${x}, -2147483648.0f, 2147483520.0f))`;
  return `select(select(${inRange}, 2147483647, ${x} >= 2147483648.0f), 0, ${isNan(x)})`;
}

/** The WGSL expression of an ALU value; `arg` names operands, `dtypeOf` gives their dtypes. */
export function aluSource(
  v: KernelValue & { op: "alu" },
  arg: (i: number) => string,
  dtypeOf: (i: number) => string,
): string {
  const [a, b, c] = v.args.map(arg);
  switch (v.alu) {
    case "neg":
      return `-${a}`;
    case "exp":
      return `exp(${a})`;
    case "log":
      return `log(${a})`;
    case "sqrt":
      return `sqrt(${a})`;
    case "recip":
      return `1.0f / ${a}`;
    case "sin":
      return `sin(${a})`;
    case "sigmoid":
      return `1.0f / (1.0f + exp(-${a}))`;
    case "tanh":
      // tanh(±15) rounds to ±1 in float32; clamping keeps exp-based versions from inf/inf.
      // clamp(NaN) may return a bound: NaN is passed through by its bits.
      return `select(tanh(clamp(${a}, -15.0f, 15.0f)), ${a}, ${isNan(a)})`;
    case "add":
      // i32 `+` wraps around as two's complement and has no special values.
      return v.dtype === "int32" ? `${a} + ${b}` : addExpr(a, b);
    case "mul":
      return `${a} * ${b}`;
    case "max":
      return v.dtype === "int32" ? `max(${a}, ${b})` : maxExpr(a, b);
    case "cmplt":
      return `select(0u, 1u, ${a} < ${b})`;
    case "cmpeq":
      return `select(0u, 1u, ${a} == ${b})`;
    case "pow":
      return `pow_c(${a}, ${b})`;
    case "floor":
      return `floor(${a})`;
    case "round":
      return `round(${a})`;
    case "floor_div":
      return v.dtype === "int32" ? `floor_div_i32(${a}, ${b})` : `floor_div_f32(${a}, ${b})`;
    case "fmod":
      return v.dtype === "int32" ? `fmod_i32(${a}, ${b})` : `fmod_f32(${a}, ${b})`;
    case "where":
      return `select(${c}, ${b}, ${a} != 0u)`;
    case "cast": {
      const from = dtypeOf(v.args[0]);
      if (v.dtype === "bool") {
        const zero = from === "bool" ? "0u" : from === "int32" ? "0" : "0.0f";
        return `select(0u, 1u, ${a} != ${zero})`;
      }
      if (v.dtype === "int32") return from === "bool" ? `i32(${a})` : f32ToI32(a);
      return from === "float32" ? a : `f32(${a})`;
    }
  }
}
