/** Memory of the CPU backend: temporaries die with their schedule, disposed tensors free data. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { backendStats, Tensor } from "../../mod.ts";
import { liveMemoryGrowthOfReductions, liveMemoryOverTraining } from "../helpers/memory.ts";

const opts = { backend: "cpu", dtype: "float32" } as const;

Deno.test("1,000 training steps leave live buffers and bytes flat", async () => {
  const { baseline, end } = await liveMemoryOverTraining("cpu", 1000);
  assertEquals(end, baseline);
});

Deno.test("intermediates are freed when the schedule ends", async () => {
  // Two reductions materialize temporaries; only the requested output survives.
  const growth = await liveMemoryGrowthOfReductions("cpu");
  assertEquals(growth, { liveBuffers: 1, liveBytes: 4 });
});

Deno.test("dispose frees a realized tensor's buffer", async () => {
  const x = await Tensor.rand([100], { ...opts, seed: 5 }).realize();
  const before = await backendStats("cpu");
  const t = x.mul(2);
  await t.realize();
  assertEquals((await backendStats("cpu")).liveBytes - before.liveBytes, 400);
  t.dispose();
  assertEquals((await backendStats("cpu")).liveBytes - before.liveBytes, 0);
});
