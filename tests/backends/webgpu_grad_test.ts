/**
 * Random graphs, their gradients and an RBN forward+backward on WebGPU, against the interpreter.
 *
 * Tolerances as in webgpu_ops_test.ts: float32 with WGSL's few-ULP transcendental functions and
 * reordered sums over at most a few thousand elements of order-1 values: rtol 1e-4, atol 1e-4.
 *
 * @module
 */

import fc from "fast-check";
import { grad, gradients, registerBackend, type Tensor } from "../../mod.ts";
import { createWebGpuBackend } from "../../backends/webgpu/backend.ts";
import { assertClose, opGraph } from "../../testing/mod.ts";
import { hasWebGpu, leaf, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const WEBGPU_BACKENDS = webgpuBackends();
const TOL = { rtol: 1e-4, atol: 1e-4 };

/** Registers `name` with one step per WebGPU backend. */
function gpuTest(name: string, body: (backend: string) => Promise<void>): void {
  Deno.test({ name, ignore: !gpu }, async (tt) => {
    for (const backend of WEBGPU_BACKENDS) await tt.step(backend, () => body(backend));
  });
}

/** Uniform values in [-1, 1) from a seed (fast-check picks the seed, so failures replay). */
function uniform(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

gpuTest("webgpu: random graphs and their gradients match", async (backend) => {
  await fc.assert(
    fc.asyncProperty(opGraph({ arity: 2, maxSteps: 6 }), fc.nat(), async (g, seed) => {
      const n = g.shape.reduce((p, d) => p * d, 1);
      const data = [uniform(n, seed), uniform(n, seed + 7)];
      const run = async (on: string) => {
        const xs = data.map((d) => leaf(d, g.shape, on));
        const y = g.apply(...xs);
        const dxs = gradients(y.mul(y).sum(), xs);
        return await Promise.all([y, ...dxs].map((t) => t.data()));
      };
      const [got, want] = [await run(backend), await run("interpreter")];
      for (let i = 0; i < got.length; i++) {
        await assertClose(got[i], want[i], { ...TOL, msg: `${g} output ${i}` });
      }
    }),
    { numRuns: 25 },
  );
});

gpuTest("webgpu: conv2d and matmul gradients match", async (backend) => {
  const x = uniform(2 * 3 * 5 * 5, 1), w = uniform(4 * 3 * 3 * 3, 2), m = uniform(4 * 6, 3);
  const run = async (on: string) => {
    const [xt, wt, mt] = [
      leaf(x, [2, 3, 5, 5], on),
      leaf(w, [4, 3, 3, 3], on),
      leaf(m, [4, 6], on),
    ];
    const loss = (a: Tensor, b: Tensor, c: Tensor) =>
      a.conv2d(b, { padding: 1 }).relu().maxPool2d(2).flatten(2).transpose().matmul(
        c.slice([null, [0, 4]]),
      ).tanh().sum();
    const gs = gradients(loss(xt, wt, mt), [xt, wt, mt]);
    return await Promise.all(gs.map((t) => t.data()));
  };
  const [got, want] = [await run(backend), await run("interpreter")];
  for (let i = 0; i < got.length; i++) {
    await assertClose(got[i], want[i], { ...TOL, msg: `gradient ${i}` });
  }
});

/**
 * Representative batch normalization written with core ops: centering calibration, batch
 * normalization with the biased variance over N, H, W, then scaling calibration.
 */
function rbn(
  x: Tensor,
  wm: Tensor,
  wv: Tensor,
  wb: Tensor,
  gamma: Tensor,
  beta: Tensor,
): Tensor {
  const eps = 1e-5;
  const km = x.mean([2, 3], { keepdims: true });
  const xcm = x.add(wm.mul(km));
  const mu = xcm.mean([0, 2, 3], { keepdims: true });
  const v = xcm.var([0, 2, 3], { keepdims: true, correction: 0 });
  const xs = xcm.sub(mu).div(v.add(eps).sqrt());
  const ks = xs.mean([2, 3], { keepdims: true });
  return gamma.mul(wv.mul(ks).add(wb).sigmoid()).mul(xs).add(beta);
}

async function rbnMatches(backend: string): Promise<void> {
  const [n, c, h, w] = [8, 4, 16, 16];
  const shapes = [[n, c, h, w], [1, c, 1, 1], [1, c, 1, 1], [1, c, 1, 1], [1, c, 1, 1], [
    1,
    c,
    1,
    1,
  ]];
  const data = shapes.map((s, i) => uniform(s.reduce((p, d) => p * d, 1), 11 + i));
  const run = async (on: string) => {
    const args = data.map((d, i) => leaf(d, shapes[i], on));
    const y = rbn(...(args as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
    const ct = leaf(uniform(n * c * h * w, 99), shapes[0], on);
    const gs = gradients(y.mul(ct).sum(), args);
    return await Promise.all([y, ...gs].map((t) => t.data()));
  };
  const [got, want] = [await run(backend), await run("interpreter")];
  // Statistics sum n·h·w = 2048 terms: order error 2048·2^-24 ≈ 1.2e-4 relative to the sum of
  // magnitudes, which the normalization divides back down to O(1e-6) per element.
  for (let i = 0; i < got.length; i++) {
    await assertClose(got[i], want[i], { ...TOL, msg: i === 0 ? "output" : `gradient ${i - 1}` });
  }
}

gpuTest("webgpu: RBN forward and backward match", rbnMatches);

Deno.test(
  { name: "webgpu: kernels past the binding limit pack their inputs", ignore: !gpu },
  async () => {
    // RBN's backward kernels read up to 14 buffers; with 4 bindings most inputs share one.
    registerBackend(
      "webgpu-4-bindings",
      () => createWebGpuBackend({ name: "webgpu-4-bindings", maxStorageBuffers: 4 }),
    );
    await rbnMatches("webgpu-4-bindings");
  },
);

gpuTest("webgpu: second derivatives match", async (backend) => {
  const f = (x: Tensor) => x.sin().mul(x).sum();
  const ddf = grad((x: Tensor) => grad(f)(x).sum());
  const d = uniform(10, 5);
  await assertClose(
    await ddf(leaf(d, [10], backend)).data(),
    await ddf(leaf(d, [10], "interpreter")).data(),
    TOL,
  );
});
