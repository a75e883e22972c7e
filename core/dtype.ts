/**
 * Element types of tensors and the typed arrays that hold them.
 *
 * @module
 */

/** The element type of a tensor. `bool` is produced by comparisons and consumed by `where`. */
export type DType = "float32" | "float64" | "bool";

/** Every dtype, in a fixed order. */
export const DTYPES: readonly DType[] = ["float32", "float64", "bool"];

/** A typed array that can hold the elements of some dtype. */
export type TypedArray = Float32Array | Float64Array | Uint8Array;

/** Allocates a zero-filled typed array for `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "bool":
      return new Uint8Array(size);
  }
}

/** Bytes per element of `dtype` in host memory. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "float32" ? 4 : 1;
}

/** Whether `dtype` is a floating-point type. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}
