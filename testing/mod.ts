/**
 * Tools for verifying tensor code: closeness assertions, gradient checks against finite
 * differences, and fast-check arbitraries for shapes, tensors, RBN parameters and random graphs.
 *
 * @example State and check an identity
 * ```ts
 * import fc from "fast-check";
 * import { assertClose, tensor } from "@symgrad/symgrad/testing";
 * await fc.assert(
 *   fc.asyncProperty(tensor({ shape: [2, 3], dtype: "float64" }), async (x) => {
 *     await assertClose(x.exp().log(), x, { rtol: 1e-12, atol: 1e-12 });
 *   }),
 *   { numRuns: 20 },
 * );
 * ```
 *
 * @module
 */

// The public entry registers the built-in backends that generated tensors run on.
import "../mod.ts";

export { assertClose } from "./assert_close.ts";
export type { CloseOptions, Numeric } from "./assert_close.ts";
export { gradcheck } from "./gradcheck.ts";
export type { GradcheckOptions } from "./gradcheck.ts";
export { broadcastableShapes, opGraph, rbnParams, shape, tensor } from "./arbitraries.ts";
export type {
  GraphStep,
  OpGraphOptions,
  RandomGraph,
  RbnParams,
  RbnParamsOptions,
  ShapeOptions,
  StepName,
  TensorOptions,
} from "./arbitraries.ts";
/** A fast-check generator of values, as returned by the arbitraries of this module. */
export type { Arbitrary } from "fast-check";
/** fast-check's random source (appears in `Arbitrary.generate`). */
export type { Random } from "fast-check";
/** fast-check's lazy stream of shrunk values (appears in `Arbitrary.shrink`). */
export type { Stream } from "fast-check";
/** fast-check's generated value with its shrinking context. */
export type { Value } from "fast-check";
