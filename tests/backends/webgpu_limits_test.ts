/**
 * Programs that WebGPU cannot address are refused when they are compiled, before any work
 * runs, with an error naming the kernel, its size and the limit: loop nests past the i32
 * indices of WGSL kernels, buffers past `maxStorageBufferBindingSize` or `maxBufferSize`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { getBackend, realize, registerBackend, Tensor } from "../../mod.ts";
import { WebGpuBackend } from "../../backends/webgpu/backend.ts";
import { acquireDevice } from "../../backends/webgpu/device.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();

Deno.test(
  { name: "webgpu: loop nests past 2^31 - 1 iterations are refused", ignore: !gpu },
  async (t) => {
    for (const backend of webgpuBackends()) {
      await t.step(backend, async () => {
        const gpuBackend = await getBackend(backend) as WebGpuBackend;
        const small = Tensor.from([1, 2, 3], { backend }).mul(2);
        // 2^16 · 2^15 = 2^31 terms of a broadcast: no buffer is large, the loop nest is.
        const huge = Tensor.ones([1, 1], { backend }).expand([2 ** 16, 2 ** 15]).sum();
        const before = gpuBackend.stats.submissions;
        await assert.rejects(
          () => realize(small, huge),
          /webgpu: kernel \d+ computing node \d+ \(reduce_sum .*\) iterates 2147483648 times \(loops 2147483648r\); the webgpu backend addresses at most 2147483647 \(2\^31 - 1\) iterations per kernel/,
        );
        assert.equal(gpuBackend.stats.submissions, before, "nothing ran");
        // Just below the limit the program runs.
        const rows = Tensor.ones([1, 1], { backend }).expand([2 ** 16, 2 ** 15 - 1]).sum(1);
        const got = await rows.data();
        assert.equal(got.length, 2 ** 16);
        assert.ok(got.every((v) => v === 2 ** 15 - 1));
      });
    }
  },
);

Deno.test({ name: "webgpu: buffers past maxBufferSize are refused", ignore: !gpu }, async () => {
  const acquired = await acquireDevice();
  registerBackend("webgpu-small-buffers", () =>
    Promise.resolve(
      new WebGpuBackend(
        { ...acquired, limits: { ...acquired.limits, maxBufferSize: 4096 } },
        { name: "webgpu-small-buffers" },
      ),
    ));
  const backend = "webgpu-small-buffers";
  const ok = Tensor.from(new Float32Array(1024), { backend }).add(1);
  assert.equal((await ok.data()).length, 1024);
  const x = Tensor.ones([1], { backend }).expand([1025]).mul(2);
  await assert.rejects(
    () => x.data(),
    /webgpu: the buffer of node \d+ \(mul \[1025\] -> \[1025\]\) has 1025 elements; the webgpu backend addresses at most 1024 elements \(this device's maxBufferSize of 4096 bytes\) per buffer/,
  );
});
