/**
 * Loads tests/fixtures/api_ops.json (torch 1.13 references written by tools/fixtures/api_ops.py)
 * and turns a case into float64 tensors; the JSON stores NaN and infinities as strings.
 *
 * @module
 */

import { Tensor } from "../../mod.ts";

/** One stored torch case: inputs, output, output weights and the gradients of sum(w · out). */
export interface ApiCase {
  name: string;
  inputs: { shape: number[]; data: (number | string)[] }[];
  output: { shape: number[]; data: (number | string)[] };
  weights: (number | string)[];
  grads: (number | string)[][];
  [key: string]: unknown;
}

/** The fixture file, by op. */
export const API_FIXTURES: Record<"einsum" | "clamp" | "cumsum" | "avgPool2d", ApiCase[]> = JSON
  .parse(
    await Deno.readTextFile(new URL("../fixtures/api_ops.json", import.meta.url)),
  );

/** Decoded numbers (strings become NaN or ±Infinity). */
export function nums(data: readonly (number | string)[]): number[] {
  return data.map(Number);
}

/** The inputs of `c` as float64 tensors on `backend`. */
export function inputsOf(c: ApiCase, backend: string, dtype: "float64" | "float32" = "float64") {
  return c.inputs.map((x) => Tensor.from(nums(x.data), { shape: x.shape, dtype, backend }));
}

/** The output weights of `c` as a tensor shaped like its output. */
export function weightsOf(c: ApiCase, backend: string, dtype: "float64" | "float32" = "float64") {
  return Tensor.from(nums(c.weights), { shape: c.output.shape, dtype, backend });
}
