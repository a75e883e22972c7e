/**
 * The helper functions that rounding and integer-division ops call from a CPU kernel: the
 * source of the very functions the interpreter and constant folding use (core/scalar_ops.ts),
 * so the host backends cannot disagree. Each helper is self-contained (arguments and `Math`).
 *
 * @module
 */

import type { Kernel } from "../../core/schedule.ts";
import { floorDivFloat, floorDivInt32, fmodInt32, roundHalfEven } from "../../core/scalar_ops.ts";

const HELPERS = { floorDivFloat, floorDivInt32, fmodInt32, roundHalfEven } as const;

/** Which helper an ALU op of a dtype calls, if any. */
function helperOf(alu: string, dtype: string): keyof typeof HELPERS | undefined {
  if (alu === "round") return "roundHalfEven";
  if (alu === "floor_div") return dtype === "int32" ? "floorDivInt32" : "floorDivFloat";
  if (alu === "fmod" && dtype === "int32") return "fmodInt32";
  return undefined;
}

/** Declarations of the helpers that the ALU values of `k` call (none for most kernels). */
export function kernelHelpers(k: Kernel): string[] {
  const names = new Set<keyof typeof HELPERS>();
  for (const v of k.values) {
    const name = v.op === "alu" ? helperOf(v.alu, v.dtype) : undefined;
    if (name !== undefined) names.add(name);
  }
  return [...names].map((name) => `const ${name} = (${HELPERS[name].toString()});`);
}
