/** Memory of the CPU backend: temporaries die with their schedule, disposed tensors free data. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { backendStats, grad, Tensor } from "../../mod.ts";

const opts = { backend: "cpu", dtype: "float32" } as const;

Deno.test("1,000 training steps leave live buffers and bytes flat", async () => {
  const x = Tensor.randn([16, 8], { ...opts, seed: 1 });
  const y = Tensor.randn([16, 1], { ...opts, seed: 2 });
  const loss = (w: Tensor) => x.matmul(w).tanh().sub(y).square().mean();
  let w = Tensor.randn([8, 1], { ...opts, seed: 3 });
  await w.realize();
  let baseline = { liveBuffers: -1, liveBytes: -1 };
  for (let i = 0; i < 1000; i++) {
    const next = w.sub(grad(loss)(w).mul(0.05));
    await next.realize();
    w.dispose();
    w = next;
    if (i === 9) baseline = await backendStats("cpu");
  }
  const end = await backendStats("cpu");
  assertEquals(
    { liveBuffers: end.liveBuffers, liveBytes: end.liveBytes },
    { liveBuffers: baseline.liveBuffers, liveBytes: baseline.liveBytes },
  );
});

Deno.test("intermediates are freed when the schedule ends", async () => {
  const x = Tensor.rand([32, 32], { ...opts, seed: 4 });
  await x.realize();
  const before = await backendStats("cpu");
  // Two reductions materialize temporaries; only the requested output survives.
  using out = x.sub(x.mean(0, { keepdims: true })).square().sum(1).sqrt().max();
  await out.realize();
  const after = await backendStats("cpu");
  assertEquals(after.liveBuffers - before.liveBuffers, 1);
  assertEquals(after.liveBytes - before.liveBytes, 4);
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
