/**
 * Element types of tensors and the typed arrays that hold them.
 *
 * `int32` arithmetic wraps around as two's complement (as C, WGSL and PyTorch do); a cast from a
 * float to `int32` truncates toward zero and saturates: NaN becomes 0, values at or beyond
 * ±2^31 (±Infinity included) become 2^31 - 1 or -2^31 (as XLA and WGSL; PyTorch leaves these
 * cases undefined).
 *
 * @module
 */

/**
 * The element type of a tensor. `bool` is produced by comparisons and consumed by `where`;
 * `int32` holds indices (argmax, class targets) and integer arithmetic.
 */
export type DType = "float32" | "float64" | "int32" | "bool";

/** Every dtype, in a fixed order. */
export const DTYPES: readonly DType[] = ["float32", "float64", "int32", "bool"];

/** A typed array that can hold the elements of some dtype. */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * Checks that `dtype` names a dtype, throwing an error that names `op`, the name given and the
 * dtypes that exist.
 */
export function checkDtype(op: string, dtype: unknown): DType {
  if (typeof dtype === "string" && (DTYPES as readonly string[]).includes(dtype)) {
    return dtype as DType;
  }
  throw new Error(
    `${op}: unknown dtype ${JSON.stringify(dtype) ?? String(dtype)}; expected one of ` +
      DTYPES.join(", "),
  );
}

/** Allocates a zero-filled typed array for `size` elements of `dtype`. */
export function allocArray(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(size);
    case "float64":
      return new Float64Array(size);
    case "int32":
      return new Int32Array(size);
    case "bool":
      return new Uint8Array(size);
  }
  return checkDtype("allocArray", dtype) as never;
}

/** The dtype whose typed array `buf` is. */
export function dtypeOfArray(buf: TypedArray): DType {
  return buf instanceof Float32Array
    ? "float32"
    : buf instanceof Float64Array
    ? "float64"
    : buf instanceof Int32Array
    ? "int32"
    : "bool";
}

/** Bytes per element of `dtype` in host memory. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4;
}

/** Whether `dtype` is a floating-point type. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float64";
}

/**
 * The dtype two operands are promoted to, as PyTorch's `torch.promote_types` for tensors of one
 * kind: bool < int32 < float32 < float64.
 */
export function promoteTypes(a: DType, b: DType): DType {
  const rank: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };
  return rank[a] >= rank[b] ? a : b;
}

/**
 * `v` converted to an element of `dtype`: booleans as 0/1, float32 rounded, int32 truncated
 * toward zero and saturated (NaN to 0).
 */
export function castScalar(v: number, dtype: DType): number {
  switch (dtype) {
    case "bool":
      return v ? 1 : 0;
    case "float32":
      return Math.fround(v);
    case "int32":
      return Math.max(-2147483648, Math.min(2147483647, v)) | 0;
    default:
      return v;
  }
}
