/**
 * The CPU backend's WebAssembly SIMD kernels against its JavaScript kernels for the same
 * programs, in one run: a fused normalization-style elementwise kernel and its per-channel
 * reduction over [64, 8, 28, 28], and the MNIST training step (all kernels; contractions take
 * the wasm GEMM on both sides). Each side is its own backend, compiled with the SIMD path on or
 * off. `deno run --allow-read --allow-env bench/simd.ts [--threads N]`
 *
 * @module
 */

import { CpuBackend, jit, registerBackend, setCpuSimd, Tensor } from "../mod.ts";
import { CASES } from "./cases.ts";
import { type StepTimes, timeStep } from "./timing.ts";

const at = Deno.args.indexOf("--threads");
const threads = at >= 0 ? Number(Deno.args[at + 1]) : 1;
registerBackend("cpu-js", () => new CpuBackend({ threads }));
registerBackend("cpu-simd", () => new CpuBackend({ threads }));

/** Times `build(backend)` on the JavaScript kernels, then on the SIMD kernels. */
async function pair(
  label: string,
  build: (
    backend: string,
  ) => Promise<{ step: () => Promise<Tensor[]> | Tensor[] }>,
): Promise<void> {
  const times: StepTimes[] = [];
  for (
    const [backend, simd] of [["cpu-js", false], ["cpu-simd", true]] as const
  ) {
    setCpuSimd(simd);
    const { step } = await build(backend);
    times.push(await timeStep(backend, step));
  }
  setCpuSimd(undefined);
  const [js, simd] = times;
  console.log(
    `${label}: javascript ${js.median_ms.toFixed(2)} ms, wasm simd ${
      simd.median_ms.toFixed(2)
    } ms ` +
      `(${simd.kernels} kernels), ratio ${(js.median_ms / simd.median_ms).toFixed(2)}`,
  );
}

const SHAPE = [64, 8, 28, 28];

/** Inputs of the normalization-style kernels: x, per-channel mean, rstd, gamma, beta. */
async function normInputs(backend: string): Promise<Tensor[]> {
  const x = Tensor.randn(SHAPE, { backend, seed: 1 });
  const stats = [2, 3, 4, 5].map((seed) => Tensor.randn([8, 1, 1], { backend, seed }));
  for (const t of [x, ...stats]) await t.realize();
  return [x, ...stats];
}

/** About 20 arithmetic ops per element: normalize, affine, leaky ReLU, a residual, a clamp. */
function normBody(
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  g: Tensor,
  b: Tensor,
): Tensor {
  const y = x.sub(mean).mul(rstd.abs().add(0.5)).mul(g).add(b);
  return y.maximum(y.mul(0.01)).add(x.mul(0.1)).mul(1.5).sub(0.25).minimum(6)
    .maximum(-6);
}

console.log(`CPU backend, ${threads} thread(s)`);
await pair(
  `elementwise ${SHAPE.join("x")}, ~20 arithmetic ops/element`,
  async (backend) => {
    const [x, m, r, g, b] = await normInputs(backend);
    return { step: jit(() => [normBody(x, m, r, g, b)]) };
  },
);
await pair(`the same with SiLU (one exp per element)`, async (backend) => {
  const [x, m, r, g, b] = await normInputs(backend);
  return {
    step: jit(() => {
      const y = normBody(x, m, r, g, b);
      return [y.mul(y.sigmoid())];
    }),
  };
});
await pair(
  `per-channel sum and sum of squares of the same body`,
  async (backend) => {
    const [x, m, r, g, b] = await normInputs(backend);
    return {
      step: jit(() => {
        const y = normBody(x, m, r, g, b);
        return [y.sum([0, 2, 3]), y.mul(y).sum([0, 2, 3])];
      }),
    };
  },
);
const mnist = CASES.find((c) => c.id.startsWith("mnist_step"))!;
await pair(mnist.label, (backend) => mnist.setup(backend));
