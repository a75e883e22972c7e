/**
 * Programs too large for a backend to address are refused when they are compiled, before any
 * work: the message names the kernel or node, its size and the limit.
 */

import { strict as assert } from "node:assert";
import { backendStats, Tensor } from "../../mod.ts";
import {
  checkBufferBytes,
  checkProgramExtents,
  checkScheduleExtents,
  CPU_LIMITS,
  INTERPRETER_LIMITS,
  MAX_EXTENT,
  webgpuLimits,
} from "../../backends/extent_limits.ts";
import { lower } from "../../core/program.ts";
import { schedule } from "../../core/schedule.ts";

const HOSTS = ["cpu", "interpreter"];

Deno.test("a reduction over 10^12 expanded elements is refused at once", async (t) => {
  for (const backend of HOSTS) {
    await t.step(backend, async () => {
      const before = (await backendStats(backend)).liveBuffers;
      const one = Tensor.ones([1], { backend });
      const big = one.expand([1e6, 1e6]).sum();
      const want = backend === "cpu"
        ? /cpu: kernel \d+ computing node \d+ \(reduce_sum \[1000000, 1000000\] -> \[1, 1\]\) iterates 1000000000000 times .*at most 2147483647 \(2\^31 - 1\) iterations per kernel/
        : /interpreter: node \d+ \(expand \[1, 1\] -> \[1000000, 1000000\]\) has 1000000000000 elements; .*at most 2147483647 \(2\^31 - 1\) elements per node/;
      await assert.rejects(
        big.data(),
        (e: Error) => e instanceof RangeError && want.test(e.message),
      );
      // Nothing was allocated for the refused program (not even its input was uploaded), and the
      // backend still works.
      assert.equal((await backendStats(backend)).liveBuffers, before);
      assert.deepEqual([...await one.expand([3, 2]).sum().reshape([1]).data()], [6]);
      one.dispose();
    });
  }
});

Deno.test("a buffer over 2^31 - 1 elements is refused at once", async (t) => {
  for (const backend of HOSTS) {
    await t.step(backend, async () => {
      const big = Tensor.ones([1], { backend }).expand([1e5, 1e5]).exp();
      // The CPU backend fuses the expand into the exp kernel; the interpreter evaluates it first.
      const want = backend === "cpu"
        ? /cpu: the buffer of node \d+ \(exp \[100000, 100000\] -> \[100000, 100000\]\) has 10000000000 elements; .* per buffer/
        : /interpreter: node \d+ \(expand \[1, 1\] -> \[100000, 100000\]\) has 10000000000 elements; .* per node/;
      await assert.rejects(big.data(), want);
    });
  }
});

Deno.test("the limits are inclusive", () => {
  const x = Tensor.ones([6, 7]);
  const { program } = lower([x.exp().sum(1).node], (n) => n.op === "buffer");
  const s = schedule(program);
  const limits = (maxIterations: number, maxBufferElements: number) => ({
    backend: "test",
    maxIterations,
    maxBufferElements,
  });
  // One kernel of 6×7 iterations; the largest buffer holds 42 elements.
  checkScheduleExtents(program, s, limits(42, 42));
  assert.throws(() => checkScheduleExtents(program, s, limits(41, 42)), /iterates 42 times/);
  assert.throws(() => checkScheduleExtents(program, s, limits(42, 41)), /has 42 elements/);
  checkProgramExtents(program, limits(0, 42));
  assert.throws(
    () => checkProgramExtents(program, limits(0, 41)),
    /node 0 \(input \[6, 7\]\) has 42 elements/,
  );
});

Deno.test("each backend's limits", async (t) => {
  await t.step("host backends: 2^31 - 1 iterations and elements", () => {
    assert.equal(MAX_EXTENT, 2 ** 31 - 1);
    for (const limits of [CPU_LIMITS, INTERPRETER_LIMITS]) {
      assert.equal(limits.maxIterations, MAX_EXTENT);
      assert.equal(limits.maxBufferElements, MAX_EXTENT);
    }
  });
  await t.step("webgpu: i32 iterations, buffers by the tighter device limit", () => {
    const device = { maxStorageBufferBindingSize: 2 ** 27, maxBufferSize: 2 ** 28 };
    const limits = webgpuLimits(device);
    assert.equal(limits.maxIterations, MAX_EXTENT);
    assert.equal(limits.maxBufferElements, 2 ** 25);
    assert.match(limits.bufferLimitReason!, /maxStorageBufferBindingSize of 134217728 bytes/);
    // 163 bytes hold 40 float32 elements: a 42-element buffer is refused when compiled.
    const x = Tensor.ones([6, 7]);
    const { program } = lower([x.exp().node], (n) => n.op === "buffer");
    const tiny = { maxStorageBufferBindingSize: 4096, maxBufferSize: 163 };
    const small = webgpuLimits(tiny);
    assert.equal(small.maxBufferElements, 40);
    assert.throws(
      () => checkScheduleExtents(program, schedule(program), small),
      /webgpu: the buffer of node \d+ .* has 42 elements; the webgpu backend addresses at most 40 elements \(this device's maxBufferSize of 163 bytes\) per buffer/,
    );
    checkBufferBytes("an upload", 40, tiny);
    assert.throws(
      () => checkBufferBytes("an upload", 41, tiny),
      /webgpu: an upload needs 164 bytes \(41 elements\), more than this device's maxBufferSize of 163 bytes/,
    );
  });
});
