/**
 * Host data of new leaf tensors: nested arrays flattened and checked, filled, ranged and seeded
 * random arrays (`Tensor.from`, `full`, `arange`, `rand`, `randn` upload what these build).
 *
 * @module
 */

import {
  allocArray,
  castScalar,
  checkDtype,
  type DType,
  isFloat,
  type TypedArray,
} from "./dtype.ts";
import { uniformStream } from "./random.ts";
import { checkShape, fmtShape, numel, type Shape } from "./shape.ts";

/** Nested arrays of numbers or booleans, as accepted by {@link Tensor.from}. */
export type NestedArray = number | boolean | readonly NestedArray[];

let globalSeed = 0x5eed;

/** Sets the seed used by random constructors called without an explicit `seed`. */
export function manualSeed(seed: number): void {
  globalSeed = seed >>> 0;
}

/** The seed of the next random constructor called without one. */
function nextSeed(): number {
  return globalSeed++;
}

/** A value that is no number, named for errors: `a string ("a")`, `undefined`, … */
function describeValue(v: unknown): string {
  if (typeof v === "string") return `a string (${JSON.stringify(v.slice(0, 20))})`;
  if (typeof v === "bigint") return `a bigint (${v}n; convert it with Number())`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${v}`;
  return `${typeof v === "object" ? "an object" : `a ${typeof v}`} (${
    Object.prototype.toString.call(v)
  })`;
}

function flattenNested(
  data: NestedArray,
  op: string,
): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0];
  }
  const values: number[] = [];
  // One mutable index path (copied only into messages): large arrays allocate nothing per element.
  const path: number[] = [];
  const at = (p: number[]) => `element [${p.join(", ")}]`;
  const walk = (x: NestedArray): void => {
    const depth = path.length;
    if (depth === shape.length) {
      if (typeof x === "number" || typeof x === "boolean") {
        values.push(typeof x === "boolean" ? (x ? 1 : 0) : x);
        return;
      }
      throw new Error(
        Array.isArray(x)
          ? `${op}: ragged nested array: ${at(path)} is an array; expected a number like ${
            at(path.map(() => 0))
          }`
          : `${op}: ${at(path)} is ${describeValue(x)}; expected a number or a boolean`,
      );
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new Error(
        `${op}: ragged nested array: ${at(path)} is ${
          Array.isArray(x) ? `an array of ${x.length}` : describeValue(x)
        }; expected an array of ${shape[depth]} like ${at(path.map(() => 0))}`,
      );
    }
    const xs = x as readonly NestedArray[];
    path.push(0);
    for (let i = 0; i < xs.length; i++) {
      path[depth] = i;
      walk(xs[i]); // holes read as undefined and are rejected
    }
    path.pop();
  };
  walk(data);
  return { values, shape };
}

function requireFloatDtype(op: string, dtype: DType | undefined): void {
  if (dtype !== undefined && !isFloat(checkDtype(op, dtype))) {
    throw new Error(`${op}: expected a float32 or float64 dtype, got ${dtype}`);
  }
}

/** A leaf's data: its dtype, its values in row-major order and its shape. */
export interface HostData {
  /** Element type. */
  readonly dtype: DType;
  /** Values in row-major order. */
  readonly values: TypedArray;
  /** Shape. */
  readonly shape: Shape;
}

/** The data of `Tensor.from` (see there). */
export function hostFrom(
  data: NestedArray | TypedArray | readonly number[],
  dtypeOpt: DType | undefined,
  shapeOpt: Shape | undefined,
): HostData {
  const dtype = checkDtype(
    "Tensor.from",
    dtypeOpt ??
      (data instanceof Float64Array ? "float64" : data instanceof Int32Array ? "int32" : "float32"),
  );
  let values: ArrayLike<number>;
  let inferred: number[];
  if (ArrayBuffer.isView(data)) {
    values = data as TypedArray;
    inferred = [values.length];
  } else {
    ({ values, shape: inferred } = flattenNested(data as NestedArray, "Tensor.from"));
  }
  const shape = shapeOpt ?? inferred;
  checkShape("Tensor.from", shape);
  if (numel(shape) !== values.length) {
    throw new Error(
      `Tensor.from: ${values.length} values cannot fill shape ${fmtShape(shape)} ` +
        `(${numel(shape)} elements); expected equal counts`,
    );
  }
  const arr = allocArray(dtype, values.length);
  if (dtype === "int32") {
    for (let i = 0; i < values.length; i++) arr[i] = castScalar(+values[i], dtype);
  } else {
    for (let i = 0; i < values.length; i++) arr[i] = values[i];
  }
  return { dtype, values: arr, shape };
}

/** The data of `Tensor.full`. */
export function hostFull(shape: Shape, value: number, dtypeOpt: DType | undefined): HostData {
  checkShape("Tensor.full", shape);
  const dtype = checkDtype("Tensor.full", dtypeOpt ?? "float32");
  const arr = allocArray(dtype, numel(shape));
  arr.fill(castScalar(value, dtype));
  return { dtype, values: arr, shape };
}

/** The data of `Tensor.arange(start, stop, step)`. */
export function hostArange(
  start: number,
  stop: number,
  step: number,
  dtypeOpt: DType | undefined,
): HostData {
  if (step === 0 || !Number.isFinite(step)) {
    throw new Error(
      `Tensor.arange: step must be a finite nonzero number, got ${step}`,
    );
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = checkDtype("Tensor.arange", dtypeOpt ?? "float32");
  const arr = allocArray(dtype, n);
  for (let i = 0; i < n; i++) arr[i] = start + i * step;
  return { dtype, values: arr, shape: [n] };
}

/** The data of `Tensor.rand`: seeded uniform samples in `[low, high)`. */
export function hostRand(
  shape: Shape,
  dtypeOpt: DType | undefined,
  seed: number | undefined,
  low: number,
  high: number,
): HostData {
  checkShape("Tensor.rand", shape);
  requireFloatDtype("Tensor.rand", dtypeOpt);
  const next = uniformStream(seed ?? nextSeed());
  const dtype = dtypeOpt ?? "float32";
  const arr = allocArray(dtype, numel(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * next();
  return { dtype, values: arr, shape };
}

/** The data of `Tensor.randn`: seeded normal samples (Box–Muller). */
export function hostRandn(
  shape: Shape,
  dtypeOpt: DType | undefined,
  seed: number | undefined,
  mean: number,
  std: number,
): HostData {
  checkShape("Tensor.randn", shape);
  requireFloatDtype("Tensor.randn", dtypeOpt);
  const next = uniformStream(seed ?? nextSeed());
  const dtype = dtypeOpt ?? "float32";
  const arr = allocArray(dtype, numel(shape));
  for (let i = 0; i < arr.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const t = 2 * Math.PI * next();
    arr[i] = mean + std * r * Math.cos(t);
    if (i + 1 < arr.length) arr[i + 1] = mean + std * r * Math.sin(t);
  }
  return { dtype, values: arr, shape };
}
