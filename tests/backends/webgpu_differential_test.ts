/**
 * The CPU backend's differential tests, run against WebGPU: random programs (elementwise ops,
 * broadcasting, reductions, movement ops, matmul, conv2d) and their gradients, float32, against
 * the interpreter, for each kernel style.
 *
 * Tolerances as in cpu_differential_test.ts for float32 (rtol 1e-3, atol 2e-3): the interpreter
 * rounds after every op; WebGPU rounds after every op too but sums in another order and its
 * exp/log/sin are a few ULP off (sin within 2^-11 absolute on [-π, π]); recipes keep values
 * below ~100 and reductions below a few hundred terms, so differences stay below ~2e-3.
 * Gradients pass through at most twice as many ops and get twice the tolerance.
 *
 * @module
 */

import fc from "fast-check";
import { gradients, type Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { build, type Recipe, recipe } from "./cpu_random_graphs.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const WEBGPU_BACKENDS = webgpuBackends();
const F32 = { rtol: 1e-3, atol: 2e-3 };
const F32_GRAD = { rtol: 2e-3, atol: 4e-3 };

async function compareForward(r: Recipe, backend: string) {
  const got = build(r, backend, "float32").out;
  const want = build(r, "interpreter", "float32").out;
  await assertClose(await got.data(), await want.data(), { ...F32, msg: "forward" });
}

async function compareGradients(r: Recipe, backend: string) {
  const grads = (on: string): Tensor[] => {
    const { out, inputs } = build(r, on, "float32");
    const weight = out.size === 1 ? out : out.mul(out.sin().add(2));
    return gradients(weight.sum(), [...inputs]);
  };
  const got = grads(backend);
  const want = grads("interpreter");
  for (let i = 0; i < got.length; i++) {
    await assertClose(await got[i].data(), await want[i].data(), {
      ...F32_GRAD,
      msg: `gradient ${i}`,
    });
  }
}

Deno.test(
  { name: "webgpu is close to the interpreter on random programs", ignore: !gpu },
  async (t) => {
    for (const backend of WEBGPU_BACKENDS) {
      await t.step(backend, async () => {
        await fc.assert(fc.asyncProperty(recipe(), (r) => compareForward(r, backend)), {
          numRuns: 30,
        });
      });
    }
  },
);

Deno.test({ name: "webgpu gradients are close to the interpreter's", ignore: !gpu }, async (t) => {
  for (const backend of WEBGPU_BACKENDS) {
    await t.step(backend, async () => {
      await fc.assert(fc.asyncProperty(recipe(6), (r) => compareGradients(r, backend)), {
        numRuns: 25,
      });
    });
  }
});
