import fc from "fast-check";
/**
 * Shared helpers of the core tests: everything runs on the reference interpreter explicitly, so
 * the tests do not depend on which backend is the default.
 *
 * @module
 */

import type { Arbitrary } from "fast-check";
import { type NestedArray, Tensor } from "../../mod.ts";
import { tensor, type TensorOptions } from "../../testing/mod.ts";

/** The backend every value test of the core runs on. */
export const BACKEND = "interpreter";

/** A float64 tensor on the interpreter. */
export function f64(data: NestedArray | Float64Array, shape?: number[]): Tensor {
  return Tensor.from(data, { dtype: "float64", backend: BACKEND, shape });
}

/** A float32 tensor on the interpreter. */
export function f32(data: NestedArray, shape?: number[]): Tensor {
  return Tensor.from(data, { dtype: "float32", backend: BACKEND, shape });
}

/** Float64 tensors on the interpreter (see the testing module's `tensor`). */
export function t64(opts: TensorOptions = {}): Arbitrary<Tensor> {
  return tensor({ dtype: "float64", backend: BACKEND, ...opts });
}

/** The tensor's values as a plain array. */
export async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

/** Row-major flat index of `idx` in `shape`. */
export function flatIndex(idx: readonly number[], shape: readonly number[]): number {
  return idx.reduce((acc, i, k) => acc * shape[k] + i, 0);
}

/** Every multi-index of `shape` in row-major order. */
export function indices(shape: readonly number[]): number[][] {
  const out: number[][] = [[]];
  for (const d of shape) {
    const next: number[][] = [];
    for (const prefix of out) for (let i = 0; i < d; i++) next.push([...prefix, i]);
    out.splice(0, out.length, ...next);
  }
  return out;
}

/** fast-check settings shared by the core tests: few runs, fixed budget, reproducible seeds. */
export const RUNS = { numRuns: 25 } as const;

/** Each tensor of `tensors` with a random permutation of its axes. */
export function withPermutation(tensors: Arbitrary<Tensor>): Arbitrary<[Tensor, number[]]> {
  return tensors.chain((x) =>
    fc.tuple(
      fc.constant(x),
      fc.shuffledSubarray(x.shape.map((_, i) => i), { minLength: x.ndim, maxLength: x.ndim }),
    )
  );
}

/** A tensor with one `[start, stop, step]` slice per axis (non-empty, steps 1 to 3). */
export function withSliceSpecs(
  tensors: Arbitrary<Tensor>,
): Arbitrary<[Tensor, [number, number, number][]]> {
  return tensors.chain((x) =>
    fc.tuple(
      fc.constant(x),
      fc.tuple(
        ...x.shape.map((d) =>
          fc.tuple(fc.nat(d - 1), fc.nat(d), fc.integer({ min: 1, max: 3 })).map((
            [s, len, step],
          ) => [s, Math.min(d, s + 1 + len), step] as [number, number, number])
        ),
      ),
    )
  );
}
