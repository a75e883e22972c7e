/**
 * WGSL building blocks shared by the kernel renderers: storage types, literals and the builtins
 * every kernel receives.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";

/** The WGSL element type a dtype is stored as (bool as `u32`: WGSL has no 1-byte storage). */
export function storageType(dtype: DType, where: string): "f32" | "u32" | "i32" {
  if (dtype === "float32") return "f32";
  if (dtype === "bool") return "u32";
  if (dtype === "int32") return "i32";
  throw new Error(
    `webgpu: ${where} has dtype ${dtype}, which WebGPU cannot store; expected float32, int32 or ` +
      `bool ` +
      `(cast to float32, or use the "cpu" or "interpreter" backend for float64)`,
  );
}

/** A WGSL `f32` expression with exactly the value of the float32 number `v`. */
export function f32Literal(v: number): string {
  const f = Math.fround(v);
  if (!Number.isFinite(f) || Object.is(f, -0)) {
    const bits = new Uint32Array(new Float32Array([f]).buffer)[0];
    return `bitcast<f32>(0x${bits.toString(16)}u)`;
  }
  // The shortest round-tripping decimal for a float64 also round-trips through float32.
  const s = String(f);
  return f < 0 ? `(${s}f)` : `${s}f`;
}

/** A literal of `dtype` for the number `v` (bool: `0u` or `1u`). */
export function literal(v: number, dtype: DType): string {
  // i32(-2147483648) converts an abstract integer; the literal -2147483648i would not parse.
  if (dtype === "int32") return `i32(${v | 0})`;
  return dtype === "bool" ? (v ? "1u" : "0u") : f32Literal(v);
}

/** A `u32` literal. */
export function u32(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`webgpu: index ${n} does not fit in u32; expected a smaller tensor`);
  }
  return `${n}u`;
}

/** The workgroup id as one linear number (dispatches are split over x and y). */
export const LINEAR_WORKGROUP = "(wid.x + wid.y * nwg.x)";

/** Builtins every kernel receives. */
export const KERNEL_PARAMS = "@builtin(workgroup_id) wid: vec3<u32>, " +
  "@builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>";
