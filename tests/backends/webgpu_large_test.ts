/**
 * WebGPU past the sizes where one dispatch dimension or one invocation's loops run out: every
 * element of elementwise kernels, reductions and contractions at 2^24 + 1 and 3 · 2^23
 * elements, checked against a host computation, for each kernel style (cooperative and
 * serial; see tests/helpers/webgpu.ts).
 *
 * Tolerances. Elementwise results are single float32 roundings and must be equal. A sum of n
 * terms is compensated on WebGPU: its error is at most 2u|S| + 2n·u²·Σ|x| with u = 2^-24
 * (Higham, Accuracy and Stability of Numerical Algorithms, §4.3); the float64 host sum adds
 * n·2^-53·Σ|x|. A naive float32 sum would be off by up to (n - 1)·u·Σ|x|, typically √n·u·Σ|x|,
 * which these bounds reject for the lengths used. Maxima are exact.
 *
 * 2^24 + 1 = 97 · 257 · 673 has no factor below 64, so the flat elementwise style (last loop
 * shorter than 64) is exercised at 3 · 2^23 only.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
/** The forced styles (the default is one of them on every adapter). */
const STYLES = webgpuBackends().slice(1);
const U = 2 ** -24;

/** Deterministic float32 values in [-0.5, 0.5) (a multiplicative hash of the index). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.imul(i + seed, 0x9e3779b1) >>> 8) / 2 ** 24 - 0.5;
  return out;
}

/** Two shapes [R, C] of each size: 2^24 + 1 = 24929 · 673 and 3 · 2^23 = 24576 · 1024. */
const SIZES: readonly (readonly [number, number])[] = [[97 * 257, 673], [3 * 2 ** 13, 1024]];

/** The index of the first element of `got` that is not `want(i)`, with both values. */
function firstMismatch(got: ArrayLike<number>, want: (i: number) => number): string | undefined {
  for (let i = 0; i < got.length; i++) {
    const w = want(i);
    if (!(got[i] === w || (got[i] !== got[i] && w !== w))) {
      let bad = 0;
      for (let j = i; j < got.length; j++) if (got[j] !== want(j)) bad++;
      return `element ${i} of ${got.length}: got ${got[i]}, expected ${w} (${bad} differ)`;
    }
  }
  return undefined;
}

/**
 * Checks compensated sums `got[o]` against float64 sums `exact[o]` of `n` terms each (whose
 * magnitudes sum to `abs[o]`); `products`: each term is a product that float32 rounds first,
 * adding u per term of Σ|x|.
 */
function checkSums(
  got: ArrayLike<number>,
  exact: Float64Array,
  abs: Float64Array,
  n: number,
  products = false,
) {
  assert.equal(got.length, exact.length);
  let worst = 0, at = -1;
  for (let o = 0; o < got.length; o++) {
    const perTerm = (products ? U : 0) + 2 * n * U * U + n * 2 ** -53;
    const tol = 2 * U * Math.abs(exact[o]) + perTerm * abs[o];
    const ratio = Math.abs(got[o] - exact[o]) / tol;
    if (!(ratio <= worst)) [worst, at] = [ratio, o];
  }
  assert.ok(
    worst <= 1,
    `sum ${at} of ${got.length}: got ${got[at]}, exact ${exact[at]} (error ${worst} × bound)`,
  );
}

/** One test per kernel style; `body` runs once per size. */
function largeTest(name: string, body: (backend: string, r: number, c: number) => Promise<void>) {
  Deno.test(
    { name: `webgpu at 2^24 + 1 and 3 · 2^23 elements: ${name}`, ignore: !gpu },
    async (t) => {
      for (const backend of STYLES) {
        await t.step(backend, async () => {
          for (const [r, c] of SIZES) await body(backend, r, c);
        });
      }
    },
  );
}

largeTest("elementwise kernels", async (backend, r, c) => {
  const n = r * c;
  const xs = values(n, 1);
  const bs = values(c, 2);
  const x = Tensor.from(xs, { shape: [n], backend });
  // One long row (a workgroup, or an invocation, walks it in segments).
  const flat = await x.mul(2).add(x).data();
  assert.equal(firstMismatch(flat, (i) => Math.fround(3 * xs[i])), undefined);
  // Rows of a broadcast: an invocation or a workgroup per row.
  const b = Tensor.from(bs, { shape: [c], backend });
  const rows = await x.reshape([r, c]).add(b).data();
  assert.equal(firstMismatch(rows, (i) => Math.fround(xs[i] + bs[i % c])), undefined);
  if (n % 3 === 0) {
    // Rows of 3: an invocation per element.
    const s = Tensor.from(bs.subarray(0, 3), { shape: [3], backend });
    const short = await x.reshape([n / 3, 3]).mul(s).data();
    assert.equal(firstMismatch(short, (i) => Math.fround(xs[i] * bs[i % 3])), undefined);
  }
});

largeTest("reductions with many outputs", async (backend, r, c) => {
  const xs = values(r * c, 3);
  const x = Tensor.from(xs, { shape: [r, c], backend });
  for (const axis of [0, 1]) {
    const outs = axis === 1 ? r : c;
    const exact = new Float64Array(outs), abs = new Float64Array(outs);
    const max = new Float32Array(outs).fill(-Infinity);
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) {
        const v = xs[i * c + j], o = axis === 1 ? i : j;
        exact[o] += v;
        abs[o] += Math.abs(v);
        if (v > max[o]) max[o] = v;
      }
    }
    checkSums(await x.sum(axis).data(), exact, abs, axis === 1 ? c : r);
    const got = await x.max(axis).data();
    assert.equal(firstMismatch(got, (o) => max[o]), undefined);
  }
});

largeTest("one long reduction", async (backend, r, c) => {
  const n = r * c;
  const xs = values(n, 4);
  let exact = 0, abs = 0, max = -Infinity;
  for (let i = 0; i < n; i++) {
    exact += xs[i];
    abs += Math.abs(xs[i]);
    if (xs[i] > max) max = xs[i];
  }
  const x = Tensor.from(xs, { shape: [n], backend });
  checkSums(await x.sum().data(), Float64Array.of(exact), Float64Array.of(abs), n);
  assert.deepEqual([...await x.max().data()], [max]);
});

largeTest("a matmul with as many outputs", async (backend, r, c) => {
  const k = 16;
  const as = values(r * k, 5), bs = values(k * c, 6);
  const a = Tensor.from(as, { shape: [r, k], backend });
  const b = Tensor.from(bs, { shape: [k, c], backend });
  const got = await a.matmul(b).data();
  const exact = new Float64Array(r * c), abs = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let p = 0; p < k; p++) {
      const av = as[i * k + p];
      for (let j = 0; j < c; j++) {
        // Products of float32 values are exact in float64; WebGPU rounds each one.
        const v = av * bs[p * c + j];
        exact[i * c + j] += v;
        abs[i * c + j] += Math.abs(v);
      }
    }
  }
  checkSums(got, exact, abs, k, true);
});

largeTest("a conv2d with as many outputs", async (backend, r, c) => {
  // One input channel, one output channel, 3 × 3 with padding 1: an [r, c] output.
  const xs = values(r * c, 7), ws = values(9, 8);
  const x = Tensor.from(xs, { shape: [1, 1, r, c], backend });
  const w = Tensor.from(ws, { shape: [1, 1, 3, 3], backend });
  const got = await x.conv2d(w, { padding: 1 }).data();
  const exact = new Float64Array(r * c), abs = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    for (let j = 0; j < c; j++) {
      for (let di = 0; di < 3; di++) {
        for (let dj = 0; dj < 3; dj++) {
          const y = i + di - 1, z = j + dj - 1;
          if (y < 0 || y >= r || z < 0 || z >= c) continue;
          const v = xs[y * c + z] * ws[di * 3 + dj];
          exact[i * c + j] += v;
          abs[i * c + j] += Math.abs(v);
        }
      }
    }
  }
  checkSums(got, exact, abs, 9, true);
});

Deno.test(
  { name: "webgpu: a contraction over a long axis (2^20 + 1)", ignore: !gpu },
  async (t) => {
    // [4, K] @ [K, 4]: the cooperative style tiles it, one workgroup walking K unless split.
    const m = 4, k = 2 ** 20 + 1;
    const as = values(m * k, 9), bs = values(k * m, 10);
    const exact = new Float64Array(m * m), abs = new Float64Array(m * m);
    for (let i = 0; i < m; i++) {
      for (let p = 0; p < k; p++) {
        for (let j = 0; j < m; j++) {
          const v = as[i * k + p] * bs[p * m + j];
          exact[i * m + j] += v;
          abs[i * m + j] += Math.abs(v);
        }
      }
    }
    for (const backend of STYLES) {
      await t.step(backend, async () => {
        const a = Tensor.from(as, { shape: [m, k], backend });
        const b = Tensor.from(bs, { shape: [k, m], backend });
        checkSums(await a.matmul(b).data(), exact, abs, k, true);
      });
    }
  },
);
