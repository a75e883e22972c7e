/**
 * Memory rules of the WebGPU backend (the same as the CPU backend's) and moving tensors between
 * backends.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { liveMemoryGrowthOfReductions, liveMemoryOverTraining } from "../helpers/memory.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();

Deno.test(
  { name: "webgpu: 200 training steps leave live buffers flat", ignore: !gpu },
  async () => {
    const { baseline, end } = await liveMemoryOverTraining("webgpu", 200);
    assert.deepEqual(end, baseline);
  },
);

Deno.test({ name: "webgpu: intermediates die with their schedule", ignore: !gpu }, async () => {
  assert.equal((await liveMemoryGrowthOfReductions("webgpu")).liveBuffers, 1);
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
