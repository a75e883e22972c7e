/**
 * Memory rules of the WebGPU backend (the same as the CPU backend's) and moving tensors between
 * backends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { backendStats, grad, Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const opts = { backend: "webgpu", dtype: "float32" } as const;

Deno.test(
  { name: "webgpu: 200 training steps leave live buffers flat", ignore: !gpu },
  async () => {
    const x = Tensor.randn([16, 8], { ...opts, seed: 1 });
    const y = Tensor.randn([16, 1], { ...opts, seed: 2 });
    const loss = (w: Tensor) => x.matmul(w).tanh().sub(y).square().mean();
    let w = Tensor.randn([8, 1], { ...opts, seed: 3 });
    await w.realize();
    let baseline = { liveBuffers: -1, liveBytes: -1 };
    for (let i = 0; i < 200; i++) {
      const next = w.sub(grad(loss)(w).mul(0.05));
      await next.realize();
      w.dispose();
      w = next;
      if (i === 9) baseline = await backendStats("webgpu");
    }
    const end = await backendStats("webgpu");
    assert.deepEqual(
      { liveBuffers: end.liveBuffers, liveBytes: end.liveBytes },
      { liveBuffers: baseline.liveBuffers, liveBytes: baseline.liveBytes },
    );
  },
);

Deno.test({ name: "webgpu: intermediates die with their schedule", ignore: !gpu }, async () => {
  const x = Tensor.rand([32, 32], { ...opts, seed: 4 });
  await x.realize();
  const before = await backendStats("webgpu");
  using out = x.sub(x.mean(0, { keepdims: true })).square().sum(1).sqrt().max();
  await out.realize();
  const after = await backendStats("webgpu");
  assert.equal(after.liveBuffers - before.liveBuffers, 1);
});

Deno.test({ name: "webgpu: tensors move between backends", ignore: !gpu }, async () => {
  const host = Float32Array.from({ length: 24 }, (_, i) => Math.sin(i));
  const onGpu = Tensor.from(host, { shape: [4, 6], backend: "webgpu" }).exp();
  await onGpu.realize();
  // Realized on WebGPU, then used on the CPU backend and brought back.
  const onCpu = onGpu.to("cpu").sum(1);
  const back = onCpu.to("webgpu").mul(2);
  const want = Tensor.from(host, { shape: [4, 6], backend: "interpreter" }).exp().sum(1).mul(2);
  await assertClose(await back.data(), await want.data(), { rtol: 1e-5, atol: 1e-5 });
  // A CPU tensor feeds a WebGPU graph directly.
  const cpuLeaf = Tensor.from(host, { shape: [4, 6], backend: "cpu" });
  const mixed = cpuLeaf.to("webgpu").add(onGpu);
  const wantMixed = Tensor.from(host, { shape: [4, 6], backend: "interpreter" });
  await assertClose(
    await mixed.data(),
    await wantMixed.add(wantMixed.exp()).data(),
    { rtol: 1e-5, atol: 1e-5 },
  );
});
