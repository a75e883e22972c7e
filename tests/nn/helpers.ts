/**
 * Shared helpers of the nn parity tests: fixture loading, the backends to run on, and a
 * comparison that records the largest error seen.
 *
 * @module
 */

import { backendNames, getBackend, Tensor } from "../../mod.ts";
import type { DType } from "../../mod.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

/** A tensor as stored in the fixtures. */
export interface FixtureTensor {
  shape: number[];
  dtype: "float64" | "int64";
  data: number[];
}

/** Reads `tests/fixtures/<name>.json`. */
export function loadFixture<T = Record<string, unknown>>(name: string): { cases: T[] } {
  const url = new URL(`../fixtures/${name}.json`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url));
}

/** A fresh leaf tensor holding fixture data as `dtype` on `backend`. */
export function toTensor(t: FixtureTensor, dtype: DType, backend: string): Tensor {
  return Tensor.from(t.data, { shape: t.shape, dtype, backend });
}

/** Tolerances of the issue: 1e-9 in float64, 1e-4 in float32 (relative above magnitude 1). */
export const TOLERANCE: Record<"float32" | "float64", number> = { float64: 1e-9, float32: 1e-4 };

/** A (backend, dtype) pair the parity tests run on. */
export interface Target {
  backend: string;
  dtype: "float32" | "float64";
}

/**
 * Every registered backend in float64 and float32, except WebGPU: float32 only, and only when
 * an adapter exists (a message says when it is skipped).
 */
export async function targets(): Promise<Target[]> {
  const out: Target[] = [];
  for (const backend of backendNames()) {
    if (backend === "webgpu") {
      if (!(await hasWebGpu())) continue;
      try {
        await getBackend("webgpu");
      } catch (e) {
        console.warn(`webgpu parity skipped: ${(e as Error).message}`);
        continue;
      }
      out.push({ backend, dtype: "float32" });
      continue;
    }
    out.push({ backend, dtype: "float64" }, { backend, dtype: "float32" });
  }
  return out;
}

/** Largest scaled error seen per target, for the report printed at the end of a test file. */
export const worst = new Map<string, number>();

/**
 * Asserts `|actual - expected| <= tol · max(1, |expected|)` elementwise, shapes equal, and
 * records the largest scaled error under `key`.
 */
export async function expectClose(
  actual: Tensor,
  expected: FixtureTensor,
  tol: number,
  what: string,
  key: string,
): Promise<void> {
  if (actual.shape.join(",") !== expected.shape.join(",")) {
    throw new Error(
      `${what}: shape [${actual.shape.join(", ")}], expected [${expected.shape.join(", ")}]`,
    );
  }
  const got = await actual.data();
  let max = 0, at = -1;
  expected.data.forEach((e, i) => {
    const err = Math.abs(got[i] - e) / Math.max(1, Math.abs(e));
    if (!(err <= max)) [max, at] = [err, i];
  });
  worst.set(key, Math.max(worst.get(key) ?? 0, max));
  if (!(max <= tol)) {
    throw new Error(
      `${what}: element ${at} is ${got[at]}, expected ${
        expected.data[at]
      } (scaled error ${max} > ${tol})`,
    );
  }
}

/** Prints the recorded worst errors. */
export function reportWorst(label: string): void {
  const lines = [...worst].filter(([k]) => k.startsWith(label)).map(([k, v]) =>
    `  ${k}: ${v.toExponential(2)}`
  );
  console.log(`${label} max scaled errors:\n${lines.join("\n")}`);
}

/**
 * Runs `check` as one step per target and case (named `<case> on <label> <backend>/<dtype>`,
 * with that key for {@link expectClose}), then prints the worst errors under `label`.
 */
export async function forEachTargetCase<C extends { name: string }>(
  t: Deno.TestContext,
  label: string,
  cases: readonly C[],
  check: (c: C, target: Target, key: string) => Promise<void>,
): Promise<void> {
  for (const target of await targets()) {
    const key = `${label} ${target.backend}/${target.dtype}`;
    for (const c of cases) await t.step(`${c.name} on ${key}`, () => check(c, target, key));
  }
  reportWorst(label);
}
