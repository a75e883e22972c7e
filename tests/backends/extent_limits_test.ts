/**
 * Programs too large for a backend to address are refused when they are compiled, before any
 * work: the message names the kernel or node, its size and the limit.
 */

import { strict as assert } from "node:assert";
import { backendStats, Tensor } from "../../mod.ts";
import {
  checkProgramExtents,
  checkScheduleExtents,
  HOST_MAX_ELEMENTS,
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
  assert.equal(HOST_MAX_ELEMENTS, 2 ** 31 - 1);
});
