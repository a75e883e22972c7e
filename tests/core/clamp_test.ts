// clamp / clip against torch 1.13 (values and gradients, boundaries inclusive, min > max,
// infinities), NaN propagation, tensor bounds, JVP and one fused kernel.

import { strict as assert } from "node:assert";
import { backendStats, gradients, jvp, Tensor } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { API_FIXTURES, inputsOf, nums, weightsOf } from "../helpers/api_fixtures.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { values } from "./helpers.ts";

const backends = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];

Deno.test("clamp matches torch: values and gradients at and beyond the bounds", async (t) => {
  for (const c of API_FIXTURES.clamp) {
    for (const backend of backends) {
      for (const dtype of ["float64", "float32"] as const) {
        if (dtype === "float64" && backend.startsWith("webgpu")) continue;
        await t.step(`${c.name} on ${backend} ${dtype}`, async () => {
          const xs = inputsOf(c, backend, dtype);
          const y = xs.length === 1
            ? xs[0].clamp(c.min as number | null, c.max as number | null)
            : xs[0].clamp(xs[1], xs[2]);
          // Every value is exact (a copy of x or a bound); float32 rounds the random bounds.
          const tol = dtype === "float64" ? { rtol: 0, atol: 0 } : { rtol: 1e-7, atol: 0 };
          await assertClose(y, nums(c.output.data), tol);
          const gs = gradients(y.mul(weightsOf(c, backend, dtype)).sum(), xs);
          for (const [i, g] of gs.entries()) await assertClose(g, nums(c.grads[i]), tol);
        });
      }
    }
  }
});

Deno.test("clamp propagates NaN from the input and from tensor bounds; NaN gets no gradient", async () => {
  const x = Tensor.from([NaN, 0.5, 2], { dtype: "float64", backend: "interpreter" });
  const y = x.clamp(-1, 1);
  assert.deepEqual(await values(y), [NaN, 0.5, 1]);
  assert.deepEqual(await values(gradients(y.sum(), [x])[0]), [0, 1, 0]);
  const lo = Tensor.from([NaN, NaN, 0], { dtype: "float64", backend: "interpreter" });
  assert.deepEqual(await values(x.clamp(lo)), [NaN, NaN, 2]);
  assert.deepEqual(await values(x.clip(lo, 1)), [NaN, NaN, 1]);
  assert.deepEqual(await values(x.clamp(NaN, 1)), [NaN, NaN, NaN]);
  const [gx, glo] = gradients(x.clamp(lo).sum(), [x, lo]);
  assert.deepEqual(await values(gx), [0, 0, 1]);
  assert.deepEqual(await values(glo), [0, 0, 0]);
});

Deno.test("le and ge are false where an operand is NaN (as torch)", async () => {
  const x = Tensor.from([NaN, 1, 2], { backend: "interpreter" });
  assert.deepEqual(await values(x.ge(1).cast("float32")), [0, 1, 1]);
  assert.deepEqual(await values(x.le(1).cast("float32")), [0, 1, 0]);
  assert.deepEqual(await values(x.ge(NaN).cast("float32")), [0, 0, 0]);
});

Deno.test("clamp: gradcheck away from the kinks, JVP, broadcast bounds, one kernel", async () => {
  const x = Tensor.from([-1.7, -0.3, 0.4, 1.9], { dtype: "float64", backend: "interpreter" });
  const lo = Tensor.from([-1, 0], { dtype: "float64", backend: "interpreter" }).reshape([1, 2]);
  const x2 = x.reshape([2, 2]);
  await gradcheck((a, l) => a.clamp(l, 1.5), [x2, lo], { order: 2 });
  const [, tangent] = jvp((a: Tensor) => a.clamp(-1, 1), [x], [Tensor.ones([4], {
    dtype: "float64",
    backend: "interpreter",
  })]);
  assert.deepEqual(await values(tangent as Tensor), [0, 1, 1, 0]);
  const c = Tensor.randn([64], { backend: "cpu", seed: 3 });
  await c.realize();
  const before = (await backendStats("cpu")).kernelsRun;
  await c.mul(2).clamp(-1, 1).add(1).data();
  assert.equal((await backendStats("cpu")).kernelsRun - before, 1);
  assert.throws(() => c.clamp(), /clamp: got neither min nor max/);
});
