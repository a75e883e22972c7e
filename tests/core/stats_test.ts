// backendStats is synchronous, a copy, zero for a backend that has not started, and never starts
// one.

import { strict as assert } from "node:assert";
import { backendStats, registerBackend, Tensor } from "../../mod.ts";
import { InterpreterBackend } from "../../mod.ts";

Deno.test("backendStats returns counters synchronously", async () => {
  const s = backendStats("cpu");
  assert.ok(!(s instanceof Promise));
  const x = Tensor.rand([8], { backend: "cpu", seed: 1 });
  await x.exp().data();
  const after = backendStats("cpu");
  assert.ok(after.kernelsRun > s.kernelsRun);
  // A snapshot: later work does not change it.
  const frozen = after.kernelsRun;
  await x.sin().data();
  assert.equal(after.kernelsRun, frozen);
});

Deno.test("backendStats of a registered backend that has not started is zero and starts nothing", async () => {
  let starts = 0;
  registerBackend("stats-lazy", () => {
    starts++;
    return new InterpreterBackend();
  });
  assert.deepEqual(backendStats("stats-lazy"), {
    kernelsCompiled: 0,
    kernelsRun: 0,
    submissions: 0,
    liveBuffers: 0,
    liveBytes: 0,
    allocatedBytes: 0,
    freshBytes: 0,
  });
  assert.equal(starts, 0);
  await Tensor.from([1, 2], { backend: "stats-lazy" }).exp().data();
  assert.equal(starts, 1);
  assert.ok(backendStats("stats-lazy").kernelsRun > 0);
  assert.throws(() => backendStats("no-such-backend"), /unknown backend "no-such-backend"/);
});
