/**
 * Ownership of realized data: views and loaded copies, disposing, and state a training step
 * replaces (released at once; a tensor held from before the step throws a clear error).
 *
 * @module
 */

import assert from "node:assert/strict";
import { backendStats, Tensor } from "../../mod.ts";
import { Adam, Linear, mseLoss, trainStep } from "../../nn/mod.ts";

const opts = { backend: "cpu", dtype: "float32" } as const;
const live = async () => (await backendStats("cpu")).liveBuffers;

Deno.test("disposing an identity view leaves its source alive", async () => {
  const x = await Tensor.rand([4], { ...opts, seed: 1 }).realize();
  const want = await x.data();
  x.reshape(x.shape).dispose();
  x.reshape([2, 2]).reshape([4]).dispose();
  assert.deepEqual(await x.data(), want);
});

Deno.test("to() makes an owner: disposing either keeps the data for the other", async () => {
  const x = await Tensor.rand([4], { ...opts, seed: 2 }).realize();
  const want = await x.data();
  x.to("cpu").dispose();
  assert.deepEqual(await x.data(), want);
  const y = x.to("cpu");
  const before = await live();
  x.dispose();
  assert.equal(await live(), before, "the buffer has another owner");
  assert.deepEqual(await y.data(), want);
  y.dispose();
  assert.equal(await live(), before - 1, "the last owner frees the buffer");
});

Deno.test("a computed tensor owns its result; a shared node recomputes after a dispose", async () => {
  const x = await Tensor.rand([4], { ...opts, seed: 3 }).realize();
  const a = x.mul(2);
  const b = x.mul(2); // the same node (hash-consed)
  await a.realize();
  const want = await a.data();
  a.dispose();
  assert.deepEqual(await b.data(), want);
});

Deno.test("using a disposed tensor or a graph over freed data throws a clear error", async () => {
  const x = Tensor.from([1, 2, 3], opts);
  const y = x.mul(2);
  x.dispose();
  assert.throws(() => x.add(1), /add: the tensor was disposed and cannot be used/);
  await assert.rejects(() => y.data(), /buffer #\d+ was disposed/);
  x.dispose(); // idempotent
});

Deno.test("disposing a tensor passed to loadStateDict keeps the module's copy", async () => {
  const src = new Linear(3, 2, { seed: 4, backend: "cpu" });
  const dst = new Linear(3, 2, { seed: 5, backend: "cpu" });
  const record = src.stateDict();
  const want = await record.weight.data();
  dst.loadStateDict(record);
  for (const t of Object.values(record)) t.dispose();
  assert.deepEqual(await dst.weight.data(), want);
});

Deno.test("a step releases the state it replaces; a held old parameter throws, owners keep it", async () => {
  const fc = new Linear(3, 1, { seed: 6, backend: "cpu" });
  const opt = new Adam(fc, { lr: 0.1 });
  const x = Tensor.rand([4, 3], { ...opts, seed: 7 });
  const y = Tensor.rand([4, 1], { ...opts, seed: 8 });
  const step = () => trainStep(fc, opt, () => mseLoss(fc.forward(x), y));
  (await step()).dispose();
  const held = fc.weight; // the module's own tensor
  const kept = fc.weight.to("cpu"); // another owner
  const want = await kept.data();
  const expAvg = opt.state("weight").exp_avg;
  const before = await live();
  (await step()).dispose();
  // Every replaced buffer was freed but the old weight, which `kept` still owns.
  assert.equal(await live(), before + 1);
  await assert.rejects(() => held.data(), /released by a training step that replaced it/);
  await assert.rejects(() => expAvg.data(), /released by a training step that replaced it/);
  assert.deepEqual(await kept.data(), want);
  assert.notDeepEqual(await fc.weight.data(), want);
  kept.dispose();
  assert.equal(await live(), before);
});

Deno.test("after one step exactly the state is live: the step's zero moments and scalars are freed", async () => {
  const x = await Tensor.rand([4, 3], { ...opts, seed: 9 }).realize();
  const y = await Tensor.rand([4, 1], { ...opts, seed: 10 }).realize();
  const before = await backendStats("cpu");
  const fc = new Linear(3, 1, { seed: 11, backend: "cpu" });
  const opt = new Adam(fc, { lr: 0.1 });
  const step = () => trainStep(fc, opt, () => mseLoss(fc.forward(x), y));
  const perStep: number[] = [];
  const fresh: number[] = [];
  for (let i = 0; i < 3; i++) {
    (await step()).dispose();
    const s = await backendStats("cpu");
    perStep.push(s.liveBuffers - before.liveBuffers);
    fresh.push(s.freshBytes);
  }
  // Weight and bias, and per parameter Adam's exp_avg and exp_avg_sq: 2 + 2 · 2 buffers (the step
  // counts are host data no program reads), plus the 7 hyperparameter inputs the optimizer keeps
  // while their values hold (lr, betas, 1 − betas, eps, weight decay). Not among them: the zero
  // moments step 1 read and the bias-correction scalars of each step.
  assert.deepEqual(perStep, [13, 13, 13]);
  // From step 2 on, every buffer comes from the reuse pool: the state step 1 released.
  assert.equal(fresh[2], fresh[1]);
});
