// cumsum against torch fixtures (values and gradients), exact integer sums, infinities and NaN,
// kernel counts of the blocked scan, JVP and vmap.

import { strict as assert } from "node:assert";
import { backendStats, gradients, jvp, Tensor, vmap } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { API_FIXTURES, inputsOf, nums, weightsOf } from "../helpers/api_fixtures.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { values } from "./helpers.ts";

const backends = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];

/**
 * Bound on |ours - exact| for float32: every output (and every gradient element, a reverse
 * prefix sum) is a sum of at most `n` inputs, and recursive summation of k terms errs by at most
 * γ_k·Σ|x| (Higham, Thm 4.4), γ_k ≈ k·u, u = 2⁻²⁴; rounding the float64 inputs to float32 adds
 * u·Σ|x|. The blocked scan's longest addition chain is far shorter than n (B + n/B + …), so this
 * bound, per element with its own Σ|x|, is loose but cannot be met by a wrong scan.
 */
function assertPrefixClose(got: ArrayLike<number>, want: number[], absPrefix: number[], n: number) {
  const u = 2 ** -24;
  for (let i = 0; i < want.length; i++) {
    const bound = (n + 1) * u * absPrefix[i] + 1e-30;
    assert.ok(
      Math.abs(got[i] - want[i]) <= bound,
      `element ${i}: ${got[i]} vs ${want[i]} (bound ${bound})`,
    );
  }
}

Deno.test("cumsum matches torch.cumsum: values and gradients (reverse cumsum)", async (t) => {
  for (const c of API_FIXTURES.cumsum) {
    const axis = c.axis as number;
    for (const backend of backends) {
      for (const dtype of ["float64", "float32"] as const) {
        if (dtype === "float64" && backend.startsWith("webgpu")) continue;
        await t.step(`${c.name} on ${backend} ${dtype}`, async () => {
          const [x] = inputsOf(c, backend, dtype);
          const y = x.cumsum(axis);
          assert.deepEqual(y.shape, c.output.shape);
          const w = weightsOf(c, backend, dtype);
          const [g] = gradients(y.mul(w).sum(), [x]);
          if (dtype === "float64") {
            // Prefix sums of at most 1,100 values in [-1, 1]: reordered float64 additions differ
            // by far less than 1e-12 relative to the largest partial sum.
            await assertClose(y, nums(c.output.data), { rtol: 1e-12, atol: 1e-12 });
            await assertClose(g, nums(c.grads[0]), { rtol: 1e-12, atol: 1e-12 });
            return;
          }
          const n = x.shape.at(axis)!;
          // Σ|x| along the axis (an upper bound on each prefix's Σ|x|), in float64 on the CPU.
          const abs64 = (v: Tensor) =>
            v.to("cpu").cast("float64").abs().sum(axis, { keepdims: true }).expand(v.shape);
          assertPrefixClose(await y.data(), nums(c.output.data), await values(abs64(x)), n);
          assertPrefixClose(await g.data(), nums(c.grads[0]), await values(abs64(w)), n);
        });
      }
    }
  }
});

Deno.test("cumsum: exact integer sums, infinities, NaN, empty and size-1 axes, bool", async () => {
  const opts = { backend: "cpu", dtype: "float32" } as const;
  // Integers below 2²⁴ add exactly in float32 whatever the order.
  const n = 3000;
  const ints = Tensor.arange(0, n, 1, opts);
  const got = await ints.cumsum(0).data();
  for (const i of [0, 1, 31, 32, 33, 1023, 1024, 1025, n - 1]) {
    assert.equal(got[i], (i * (i + 1)) / 2);
  }
  assert.deepEqual(await values(Tensor.from([1, Infinity, 2], opts).cumsum(0)), [
    1,
    Infinity,
    Infinity,
  ]);
  assert.deepEqual(await values(Tensor.from([Infinity, -Infinity, 1], opts).cumsum(0)), [
    Infinity,
    NaN,
    NaN,
  ]);
  assert.deepEqual(await values(Tensor.from([1, NaN, 2, 3], opts).cumsum(0)), [1, NaN, NaN, NaN]);
  // An infinity late in a long axis does not poison earlier blocks.
  const late = new Float32Array(100).fill(1);
  late[70] = Infinity;
  const lateSums = await Tensor.from(late, opts).cumsum(0).data();
  assert.equal(lateSums[69], 70);
  assert.equal(lateSums[70], Infinity);
  assert.deepEqual(Tensor.zeros([2, 0], opts).cumsum(1).shape, [2, 0]);
  assert.deepEqual(await values(Tensor.from([[5, 6]], opts).cumsum(0)), [5, 6]);
  assert.deepEqual(await values(Tensor.from([true, false, true], opts).cumsum(0)), [1, 1, 2]);
  assert.deepEqual(await values(Tensor.from(7, opts).cumsum(0)), [7]);
  assert.throws(() => ints.cumsum(1), /cumsum: axis 1 is out of range for shape \[3000\]/);
});

Deno.test("cumsum is a blocked scan: kernels grow with log32(n), not with n", async () => {
  const counts: number[] = [];
  for (const n of [32, 1024, 32768]) {
    const x = Tensor.rand([n], { backend: "cpu", seed: n });
    await x.realize();
    const before = (await backendStats("cpu")).kernelsRun;
    await x.cumsum(0).data();
    counts.push((await backendStats("cpu")).kernelsRun - before);
  }
  assert.deepEqual(counts, [1, 3, 4]);
});

Deno.test("cumsum: gradcheck, JVP and vmap", async () => {
  const x = Tensor.rand([3, 40], { dtype: "float64", backend: "interpreter", seed: 2, low: -1 });
  await gradcheck((a) => a.cumsum(1), [x]);
  const [, tangent] = jvp((a: Tensor) => a.cumsum(1), [x], [x]);
  await assertClose(tangent as Tensor, await values(x.cumsum(1)), { rtol: 1e-15, atol: 0 });
  const batched = vmap((row: Tensor) => row.cumsum(0))(x);
  await assertClose(batched, await values(x.cumsum(1)), { rtol: 1e-15, atol: 0 });
});
