/**
 * WebGPU float32 sums are compensated in every kernel style: each is within 2u|S| (plus
 * 2n·u²·Σ|x|, u = 2^-24) of the exact sum, where a naive float32 sum of 1e8 and 2^20 ones
 * loses all the ones (the interpreter's left-to-right sum is off by 2^20). Non-finite terms
 * give the interpreter's result: compensation must not turn ±Infinity into NaN.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const BACKENDS = webgpuBackends();
const U = 2 ** -24;
const K = 2 ** 20;

/** `rows` rows of 1e8 followed by K ones (the big term at `at` of each row). */
function bigAndOnes(rows: number, at = 0): Float32Array {
  const out = new Float32Array(rows * (K + 1)).fill(1);
  for (let r = 0; r < rows; r++) out[r * (K + 1) + at] = 1e8;
  return out;
}

/** The [cols, rows] transpose of a row-major [rows, cols] array. */
function transpose(x: Float32Array, rows: number): Float32Array {
  const cols = x.length / rows;
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** Asserts `got` is within the compensated bound of `exact` (float32-representable here). */
function assertNear(got: ArrayLike<number>, exact: number, n: number, msg: string) {
  const tol = 2 * U * Math.abs(exact) + 2 * n * U * U * (1e8 + K);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i] - exact) <= tol,
      `${msg}: element ${i} is ${got[i]}, exact ${exact} (tolerance ${tol})`,
    );
  }
}

const EXACT = 1e8 + K; // 101048576 = 8 · 12631072: a float32

Deno.test({ name: "webgpu: sums of 1e8 and 2^20 ones are accurate", ignore: !gpu }, async (t) => {
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const one = Tensor.from(bigAndOnes(1), { backend });
      assertNear(await one.sum().data(), EXACT, K + 1, "one long sum");
      const mid = Tensor.from(bigAndOnes(1, K / 2), { backend });
      assertNear(await mid.sum().data(), EXACT, K + 1, "the big term in the middle");
      // Four rows: few outputs (split into parts), along the contiguous axis and across it.
      const rows = Tensor.from(bigAndOnes(4, 7), { shape: [4, K + 1], backend });
      assertNear(await rows.sum(1).data(), EXACT, K + 1, "rows");
      const columns = Tensor.from(transpose(bigAndOnes(4, 7), 4), { shape: [K + 1, 4], backend });
      assertNear(await columns.sum(0).data(), EXACT, K + 1, "columns");
      // A contraction: [4, K + 1] @ ones [K + 1, 4] (tiled in workgroup memory where it can).
      const ones = Tensor.ones([K + 1, 4], { backend });
      assertNear(await rows.matmul(ones).data(), EXACT, K + 1, "matmul");
    });
  }
});

Deno.test({ name: "webgpu: sums with ±Infinity and NaN terms", ignore: !gpu }, async (t) => {
  const n = 3 * 2 ** 16;
  const cases: [string, (x: Float32Array) => void, number][] = [
    ["+Infinity among finite terms", (x) => (x[n / 2] = Infinity), Infinity],
    ["-Infinity among finite terms", (x) => (x[n - 1] = -Infinity), -Infinity],
    ["+Infinity and -Infinity", (x) => ((x[1] = Infinity), (x[n - 2] = -Infinity)), NaN],
    ["a NaN", (x) => (x[12345] = NaN), NaN],
    ["overflow to +Infinity", (x) => x.fill(3e38), Infinity],
    ["overflow to -Infinity", (x) => x.fill(-3e38, 0, n / 2), -Infinity],
  ];
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      for (const [what, edit, want] of cases) {
        const x = new Float32Array(n).map((_, i) => (i % 7) - 3);
        edit(x);
        const ref = await Tensor.from(x, { backend: "interpreter" }).sum().data();
        assert.ok(Object.is(ref[0], want), `${what}: interpreter gives ${ref[0]}`);
        for (const shape of [[n], [3, n / 3], [n / 3, 3]]) {
          const t = Tensor.from(x, { shape, backend });
          const got = await t.sum().data();
          assert.ok(Object.is(got[0], want), `${what}, [${shape}]: got ${got[0]}, want ${want}`);
        }
        // Row sums: the row holding the special term takes its value, the others stay finite.
        const rows = await Tensor.from(x, { shape: [3, n / 3], backend }).sum(1).data();
        const refRows = await Tensor.from(x, { shape: [3, n / 3], backend: "interpreter" })
          .sum(1).data();
        assert.deepEqual([...rows].map(String), [...refRows].map(String), `${what}: rows`);
      }
    });
  }
});
