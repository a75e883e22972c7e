/** Fusion and the compile cache of the CPU backend, asserted through its statistics. */

import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { backendStats, gradients, jit, realize, Tensor } from "../../mod.ts";
import { BatchNorm2d, LayerNorm, rbn } from "../../nn/mod.ts";
import { assertClose } from "../../testing/mod.ts";

const opts = { backend: "cpu", dtype: "float32" } as const;

/** Kernels compiled and run by `fn` on the CPU backend. */
async function measure(fn: () => Promise<unknown>): Promise<{ compiled: number; run: number }> {
  const before = await backendStats("cpu");
  await fn();
  const after = await backendStats("cpu");
  return {
    compiled: after.kernelsCompiled - before.kernelsCompiled,
    run: after.kernelsRun - before.kernelsRun,
  };
}

Deno.test("a chain of 10 elementwise ops runs as one kernel", async () => {
  const x = Tensor.rand([3, 5, 7], { ...opts, seed: 1 });
  const y = Tensor.rand([5, 1], { ...opts, seed: 2 });
  const chain = () =>
    x.add(1).mul(y).exp().neg().sigmoid().sub(0.5).mul(x).tanh().maximum(0.1).sqrt();
  const { run } = await measure(() => chain().data());
  assertEquals(run, 1);
  await assertClose(chain(), await chain().to("interpreter").data(), { rtol: 1e-5 });
});

Deno.test("a batch-norm forward runs in at most 3 kernels", async () => {
  const x = Tensor.randn([4, 3, 5, 5], { ...opts, seed: 3 });
  const gamma = Tensor.rand([1, 3, 1, 1], { ...opts, seed: 4 });
  const beta = Tensor.rand([1, 3, 1, 1], { ...opts, seed: 5 });
  const bn = () => {
    const mean = x.mean([0, 2, 3], { keepdims: true });
    const v = x.var([0, 2, 3], { keepdims: true, correction: 0 });
    return x.sub(mean).div(v.add(1e-5).sqrt()).mul(gamma).add(beta);
  };
  const { run } = await measure(() => bn().data());
  assert(run <= 3, `batch norm ran ${run} kernels`);
  await assertClose(bn(), await bn().to("interpreter").data(), { rtol: 1e-4, atol: 1e-5 });
});

Deno.test("a second identical training step compiles nothing", async () => {
  const x = Tensor.randn([8, 4], { ...opts, seed: 6 });
  const target = Tensor.randn([8, 2], { ...opts, seed: 7 });
  const loss = (w: Tensor, b: Tensor) => x.matmul(w).add(b).sub(target).square().mean();
  const step = jit((w: Tensor, b: Tensor) => {
    const [gw, gb] = gradients(loss(w, b), [w, b]);
    return [w.sub(gw.mul(0.1)), b.sub(gb.mul(0.1)), loss(w, b)];
  });
  let w = Tensor.randn([4, 2], { ...opts, seed: 8 });
  let b = Tensor.zeros([2], opts);
  const first = await measure(async () => ([w, b] = await step(w, b)));
  assert(first.compiled > 0);
  const second = await measure(async () => ([w, b] = await step(w, b)));
  assertEquals(second.compiled, 0);
  assertEquals(second.run, first.run);
});

Deno.test("movement ops become index arithmetic, not copies", async () => {
  const x = Tensor.rand([2, 3, 4], { ...opts, seed: 9 });
  const view = () =>
    x.permute(2, 0, 1).reshape([4, 6]).slice([[1, 4], [0, 6, 2]]).pad([[1, 0], [0, 1]]);
  const { run } = await measure(() => view().add(1).data());
  assertEquals(run, 1);
  await assertClose(view().add(1), await view().add(1).to("interpreter").data(), { rtol: 0 });
});

Deno.test("outputs realized together share one schedule", async () => {
  const x = Tensor.rand([16], { ...opts, seed: 10 });
  const s = x.exp().sum();
  const outs = [s, x.exp().div(s)];
  const { run } = await measure(() => realize(...outs));
  assertEquals(run, 2); // the sum, then the normalized values (exp recomputed, not stored)
});

/** Kernels one realization of `outs()` runs on the CPU, and whether it equals the interpreter. */
async function countAndCompare(outs: (backend: string) => Tensor[]): Promise<number> {
  const cpu = outs("cpu");
  const { run } = await measure(() => realize(...cpu));
  const ref = outs("interpreter");
  for (let i = 0; i < cpu.length; i++) {
    // Float32 on the CPU is bit-identical to the interpreter (fusion changes no value).
    await assertClose(cpu[i], await ref[i].data(), { rtol: 0, atol: 0 });
  }
  return run;
}

Deno.test("representative batch norm: forward in 3 kernels, with its backward in 10", async () => {
  const shape = [4, 3, 5, 5];
  const param = (backend: string, seed: number, mean: number) =>
    Tensor.randn([1, 3, 1, 1], { backend, dtype: "float32", seed, mean, std: 0.1 });
  const forward = (backend: string) => {
    const x = Tensor.randn(shape, { backend, dtype: "float32", seed: 11 }).add(3);
    const ps = [param(backend, 12, 0), param(backend, 13, 0), param(backend, 14, 0)];
    const [gamma, beta] = [param(backend, 15, 1), param(backend, 16, 0)];
    const y = rbn(x, {
      centerWeight: ps[0],
      scaleWeight: ps[1],
      scaleBias: ps[2],
      weight: gamma,
      bias: beta,
      training: true,
    }).y;
    return { x, y, params: [...ps, gamma, beta] };
  };
  assert((await countAndCompare((b) => [forward(b).y])) <= 3);
  const withGrads = (backend: string) => {
    const { x, y, params } = forward(backend);
    const g = Tensor.randn(shape, { backend, dtype: "float32", seed: 17 });
    return [y, ...gradients(y.mul(g).sum(), [x, ...params])];
  };
  const run = await countAndCompare(withGrads);
  assert(run <= 10, `forward and backward ran ${run} kernels`);
});

Deno.test("batch norm and layer norm backward passes fuse their per-channel sums", async () => {
  const shape = [4, 3, 5, 5];
  const norm = (backend: string, kind: "bn" | "ln") => {
    const x = Tensor.randn(shape, { backend, dtype: "float32", seed: 21 });
    const g = Tensor.randn(shape, { backend, dtype: "float32", seed: 22 });
    const m = kind === "bn"
      ? new BatchNorm2d(3, { backend, dtype: "float32" })
      : new LayerNorm([5, 5], { backend, dtype: "float32" });
    const y = m.forward(x);
    return [y, ...gradients(y.mul(g).sum(), [x, m.weight!, m.bias!])];
  };
  // Before fusion: 8 and 10 (the mean, the centered variance and each per-channel sum of the
  // backward were kernels of their own); the moments now take one pass.
  const bn = await countAndCompare((b) => norm(b, "bn"));
  assert(bn <= 4, `batch norm forward and backward ran ${bn} kernels`);
  const ln = await countAndCompare((b) => norm(b, "ln"));
  assert(ln <= 7, `layer norm forward and backward ran ${ln} kernels`);
  const bnForward = await countAndCompare((b) => [norm(b, "bn")[0]]);
  assert(bnForward <= 2, `batch norm forward ran ${bnForward} kernels`);
});
