// avgPool2d with countIncludePad and ceilMode against torch's avg_pool2d (values and gradients,
// padding edges, partial ceil-mode windows), the nn layer, errors, and the default path intact.

import { strict as assert } from "node:assert";
import { gradients, Tensor } from "../../mod.ts";
import { AvgPool2d } from "../../nn/mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { API_FIXTURES, inputsOf, nums, weightsOf } from "../helpers/api_fixtures.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { values } from "./helpers.ts";

const backends = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];
type Pair = number | [number, number];

Deno.test("avgPool2d matches torch avg_pool2d (count_include_pad, ceil_mode)", async (t) => {
  for (const c of API_FIXTURES.avgPool2d) {
    for (const backend of backends) {
      const dtype = backend.startsWith("webgpu") ? "float32" : "float64";
      await t.step(`${c.name} on ${backend}`, async () => {
        const [x] = inputsOf(c, backend, dtype);
        const opts = {
          stride: c.stride as Pair,
          padding: c.padding as Pair,
          countIncludePad: c.countIncludePad as boolean,
          ceilMode: c.ceilMode as boolean,
        };
        const y = x.avgPool2d(c.kernel as Pair, opts);
        assert.deepEqual(y.shape, c.output.shape);
        // At most 9 values in [-1, 1] summed, then one division: float64 agrees to ~1e-15; float32
        // rounds the inputs, each partial sum and the quotient (a few ulps of 1 at most).
        const tol = dtype === "float64" ? { rtol: 1e-12, atol: 1e-14 } : { rtol: 1e-5, atol: 1e-6 };
        await assertClose(y, nums(c.output.data), tol);
        const [g] = gradients(y.mul(weightsOf(c, backend, dtype)).sum(), [x]);
        await assertClose(g, nums(c.grads[0]), tol);
        const layer = new AvgPool2d(c.kernel as Pair, opts);
        await assertClose(layer.forward(x), nums(c.output.data), tol);
      });
    }
  }
});

Deno.test("avgPool2d countIncludePad: false divides edge windows by their real elements", async () => {
  const x = Tensor.from([[[[1, 2], [3, 4]]]], { dtype: "float64", backend: "interpreter" });
  const counted = x.avgPool2d(2, { stride: 1, padding: 1, countIncludePad: false });
  assert.deepEqual(await values(counted), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
  const zeros = x.avgPool2d(2, { stride: 1, padding: 1 });
  assert.deepEqual(await values(zeros), [0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1]);
  // ceilMode keeps the last partial window [3] of a 3-wide axis with kernel 2, stride 2.
  const row = Tensor.from([[[1, 2, 3]]], { dtype: "float64", backend: "interpreter" });
  assert.deepEqual(await values(row.avgPool2d([1, 2], { ceilMode: true })), [1.5, 3]);
  assert.deepEqual(await values(row.avgPool2d([1, 2])), [1.5]);
  // Rank 2 and 3 inputs pool their last two axes as well.
  assert.deepEqual(row.reshape([1, 3]).avgPool2d([1, 2], { ceilMode: true }).shape, [1, 2]);
  await gradcheck(
    (a) => a.avgPool2d(3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
    [Tensor.rand([1, 2, 5, 4], { dtype: "float64", backend: "interpreter", seed: 4, low: -1 })],
  );
  assert.throws(
    () => x.avgPool2d(2, { padding: 2, countIncludePad: false }),
    /avgPool2d: kernel \[2, 2\] with stride \[2, 2\] and padding \[2, 2\].*no input elements/,
  );
});
