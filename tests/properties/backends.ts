/**
 * Runs a property on every registered backend: float64 where the backend has it, float32 with
 * looser tolerances on WebGPU (which has no float64), and a visible skip when WebGPU has no
 * adapter.
 *
 * @module
 */

import { backendNames, type DType, getBackend } from "../../mod.ts";

/** What a property needs to know about the backend it runs on. */
export interface BackendCase {
  /** Backend name. */
  backend: string;
  /** Element type the property computes in. */
  dtype: DType;
  /**
   * Tolerances for results of a few dozen operations on values of order 1: float64 rounding
   * accumulates to ~1e-14, float32 to ~1e-5.
   */
  tol: { rtol: number; atol: number };
  /** fast-check runs: fewer on WebGPU, where every realization is a device round trip. */
  runs: { numRuns: number };
}

/**
 * Runs `fn` as one step per backend; WebGPU without an adapter is ignored with a message, and so
 * is WebGPU when the property `needsFloat64`.
 */
export async function forEachBackend(
  t: Deno.TestContext,
  fn: (c: BackendCase) => Promise<void>,
  { needsFloat64 = false } = {},
): Promise<void> {
  for (const backend of backendNames()) {
    const gpu = backend === "webgpu";
    let available = true;
    if (gpu) {
      try {
        await getBackend(backend);
      } catch (e) {
        available = false;
        console.log(`skipping backend "webgpu": ${(e as Error).message.split("\n")[0]}`);
      }
    }
    const c: BackendCase = gpu
      ? { backend, dtype: "float32", tol: { rtol: 1e-4, atol: 1e-5 }, runs: { numRuns: 10 } }
      : { backend, dtype: "float64", tol: { rtol: 1e-10, atol: 1e-12 }, runs: { numRuns: 30 } };
    if (available && needsFloat64 && c.dtype !== "float64") {
      available = false;
      console.log(`skipping backend "${backend}": the property needs float64`);
    }
    await t.step({ name: `${backend} (${c.dtype})`, ignore: !available, fn: () => fn(c) });
  }
}
