/**
 * WGSL building blocks shared by the kernel renderers: storage types, literals, index maps.
 *
 * All index arithmetic is `u32`: buffers are bounded by `maxStorageBufferBindingSize` (at most
 * 4 GiB), so element indices always fit.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import { contiguousStrides, fmtShape, type Shape } from "../../core/shape.ts";

/** The WGSL element type a dtype is stored as (bool as `u32`: WGSL has no 1-byte storage). */
export function storageType(dtype: DType, where: string): "f32" | "u32" {
  if (dtype === "float32") return "f32";
  if (dtype === "bool") return "u32";
  throw new Error(
    `webgpu: ${where} has dtype ${dtype}, which WebGPU cannot store; expected float32 or bool ` +
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
  return dtype === "bool" ? (v ? "1u" : "0u") : f32Literal(v);
}

/** A `u32` literal. */
export function u32(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new Error(`webgpu: index ${n} does not fit in u32; expected a smaller tensor`);
  }
  return `${n}u`;
}

/**
 * The per-axis coordinates of the row-major flat index `flat` over `shape`, as WGSL expressions.
 * `flat` must be below the element count, so the first axis needs no modulo.
 */
export function coordinates(flat: string, shape: Shape): string[] {
  const strides = contiguousStrides(shape);
  return shape.map((d, i) => {
    if (d === 1) return "0u";
    const q = strides[i] === 1 ? flat : `(${flat} / ${u32(strides[i])})`;
    return i === 0 ? q : `(${q} % ${u32(d)})`;
  });
}

/** `Σ coords[i] · strides[i]` without zero terms or unit factors. */
export function dot(coords: readonly string[], strides: readonly number[]): string {
  const terms: string[] = [];
  coords.forEach((c, i) => {
    if (strides[i] === 0 || c === "0u") return;
    terms.push(strides[i] === 1 ? c : `${c} * ${u32(strides[i])}`);
  });
  return terms.length === 0 ? "0u" : terms.join(" + ");
}

/** The exact, human-readable description of a shape for error messages. */
export function describe(dtype: DType, shape: Shape): string {
  return `${dtype}${fmtShape(shape)}`;
}

/** The workgroup id as one linear number (dispatches are split over x and y). */
export const LINEAR_WORKGROUP = "(wid.x + wid.y * nwg.x)";

/** Builtins every kernel receives. */
export const KERNEL_PARAMS = "@builtin(workgroup_id) wid: vec3<u32>, " +
  "@builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>";
