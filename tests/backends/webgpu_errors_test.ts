/**
 * WebGPU errors and memory rules: disposed tensors, limits, float64, lost devices, statistics.
 *
 * @module
 */

import assert from "node:assert/strict";
import { getBackend, registerBackend, Tensor } from "../../mod.ts";
import { createWebGpuBackend, type WebGpuBackend } from "../../backends/webgpu/backend.ts";
import { acquireDevice } from "../../backends/webgpu/device.ts";
import { detectWebGpu, hasWebGpu } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();

Deno.test({ name: "webgpu: a disposed tensor cannot be used", ignore: !gpu }, async () => {
  const x = Tensor.from([1, 2], { backend: "webgpu" });
  await x.realize();
  x.dispose();
  await assert.rejects(() => x.data(), /disposed/);
  assert.throws(() => x.add(1), /disposed/);
});

Deno.test({ name: "webgpu: dispose and using free device memory", ignore: !gpu }, async () => {
  const backend = await getBackend("webgpu");
  const before = { ...backend.stats };
  {
    using a = Tensor.from([1, 2, 3], { backend: "webgpu" });
    using b = a.mul(2);
    await b.data();
    assert.equal(backend.stats.liveBuffers, before.liveBuffers + 2);
  }
  assert.equal(backend.stats.liveBuffers, before.liveBuffers);
  assert.equal(backend.stats.liveBytes, before.liveBytes);
});

Deno.test({ name: "webgpu: one submission per run, kernels counted", ignore: !gpu }, async () => {
  const backend = await getBackend("webgpu");
  const x = Tensor.from([1, 2, 3, 4], { backend: "webgpu" });
  await x.realize();
  const step = () => Tensor.from([5, 6, 7, 8], { backend: "webgpu" }).exp().add(x).sum();
  const y = step();
  const s0 = { ...backend.stats };
  await y.realize();
  assert.equal(backend.stats.submissions - s0.submissions, 1);
  assert.ok(backend.stats.kernelsRun > s0.kernelsRun);
  // The same structure over new data compiles nothing.
  const s1 = { ...backend.stats };
  await step().data();
  assert.equal(backend.stats.kernelsCompiled, s1.kernelsCompiled);
});

Deno.test({ name: "webgpu: float64 is refused by name", ignore: !gpu }, async () => {
  const x = Tensor.from([1, 2], { dtype: "float64", backend: "webgpu" });
  await assert.rejects(() => x.mul(2).data(), /float64.*WebGPU cannot store/);
});

Deno.test(
  { name: "webgpu: a tensor beyond the binding limit fails clearly", ignore: !gpu },
  async () => {
    const backend = await getBackend("webgpu") as WebGpuBackend;
    const n = Math.floor(backend.limits.maxStorageBufferBindingSize / 4) + 1;
    const big = Tensor.zeros([1], { backend: "webgpu" }).expand([n]).mul(2);
    await assert.rejects(() => big.realize(), /maxStorageBufferBindingSize/);
  },
);

Deno.test(
  { name: "webgpu: dispatches beyond 65535 workgroups are split", ignore: !gpu },
  async () => {
    // 64 elements per workgroup: 2^22 + 3 elements need 65537 workgroups.
    const n = 2 ** 22 + 3;
    const x = Tensor.ones([1], { backend: "webgpu" }).expand([n]).mul(3);
    const d = await x.data();
    assert.equal(d.length, n);
    assert.equal(d[0], 3);
    assert.equal(d[n - 1], 3);
    assert.equal(Array.from(d).filter((v) => v === 3).length, n);
  },
);

Deno.test({ name: "webgpu: a lost device fails the next use clearly", ignore: !gpu }, async () => {
  registerBackend("webgpu-lost", () => createWebGpuBackend({ name: "webgpu-lost" }));
  const backend = await getBackend("webgpu-lost") as WebGpuBackend;
  const x = Tensor.from([1, 2, 3], { backend: "webgpu-lost" });
  const y = x.mul(2);
  await y.realize();
  backend.device.destroy();
  await backend.device.lost;
  await assert.rejects(() => x.add(1).data(), /device .* was lost/);
  // Data realized before the loss is gone too: reading it fails instead of returning stale data.
  await assert.rejects(() => y.data(), /device .* was lost/);
  assert.throws(() => backend.alloc("float32", 4), /was lost/);
});

Deno.test("webgpu: without navigator.gpu the backend fails clearly", async () => {
  await assert.rejects(() => acquireDevice(() => undefined), /navigator\.gpu does not exist/);
  const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  await assert.rejects(() => acquireDevice(() => noAdapter), /found no adapter/);
});

Deno.test("webgpu: a missing adapter skips tests visibly, or fails when required", async () => {
  const noAdapter = { requestAdapter: () => Promise.resolve(null) } as unknown as GPU;
  const warn = console.warn;
  const logged: string[] = [];
  console.warn = (...args: unknown[]) => logged.push(args.map(String).join(" "));
  try {
    assert.equal(await detectWebGpu(undefined, false), false);
    assert.equal(await detectWebGpu(noAdapter, false), false);
  } finally {
    console.warn = warn;
  }
  assert.equal(logged.length, 2);
  assert.ok(logged.every((l) => l.includes("WebGPU tests skipped: no adapter")));
  await assert.rejects(() => detectWebGpu(undefined, true), /SYMGRAD_REQUIRE_WEBGPU=1/);
  await assert.rejects(() => detectWebGpu(noAdapter, true), /SYMGRAD_REQUIRE_WEBGPU=1/);
});
