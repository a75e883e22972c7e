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
 * NaN matches only NaN and an infinity only the same infinity (assertClose's rule, as
 * cpu_float32_exact_test.ts has for cpu): a NaN on one side only is a failure. The last test feeds
 * NaN, ±Infinity and ±0 inputs, where WGSL lets compilers assume there are none (Mesa folded
 * `x - x` and `0 · x` to 0 and lost NaN in sums before the renderers guarded against it).
 *
 * @module
 */

import fc from "fast-check";
import { rejects as assertRejects } from "node:assert/strict";
import { gradients, type Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { build, type Recipe, recipe, specialValues } from "./cpu_random_graphs.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const WEBGPU_BACKENDS = webgpuBackends();
const F32 = { rtol: 1e-3, atol: 2e-3 };
const F32_GRAD = { rtol: 2e-3, atol: 4e-3 };

type Values = (n: number, seed: number) => number[];

async function compareForward(r: Recipe, backend: string, values?: Values) {
  const got = build(r, backend, "float32", values).out;
  const want = build(r, "interpreter", "float32", values).out;
  await assertClose(await got.data(), await want.data(), { ...F32, msg: "forward" });
}

async function compareGradients(r: Recipe, backend: string, values?: Values) {
  const grads = (on: string): Tensor[] => {
    const { out, inputs } = build(r, on, "float32", values);
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

Deno.test({
  name: "webgpu agrees with the interpreter on NaN, ±Infinity and ±0 inputs",
  ignore: !gpu,
}, async (t) => {
  await t.step("a NaN on one side only fails the comparison", async () => {
    await assertRejects(() => assertClose([NaN, 1], [0, 1], F32), /1 of 2 elements differ/);
    await assertRejects(() => assertClose([0, 1], [NaN, 1], F32), /1 of 2 elements differ/);
  });
  for (const backend of WEBGPU_BACKENDS) {
    await t.step(backend, async () => {
      await fc.assert(
        fc.asyncProperty(recipe(5), async (r) => {
          await compareForward(r, backend, specialValues);
          await compareGradients(r, backend, specialValues);
        }),
        { numRuns: 40 },
      );
    });
  }
});
