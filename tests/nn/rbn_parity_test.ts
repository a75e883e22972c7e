import { deepStrictEqual, ok } from "node:assert/strict";
import { checkCalls, type ModuleCase, prepare } from "./module_cases.ts";
import { forEachTargetCase, loadFixture, targets, toTensor } from "./helpers.ts";

const { cases } = loadFixture<ModuleCase & { input_after_call?: unknown }>("rbn");

Deno.test("RepresentativeBatchNorm2d matches the PyTorch reference", async (t) => {
  const withCalls = cases.filter((c) => c.calls !== undefined);
  await forEachTargetCase(t, "rbn", withCalls, (c, target, key) => checkCalls(c, target, key));
});

Deno.test("RepresentativeBatchNorm2d raises PyTorch's errors and changes nothing", async (t) => {
  const [target] = await targets();
  for (
    const name of ["rbn_error_train_n1_hw1", "rbn_error_eval_notrack_n1_hw1", "rbn_error_input_3d"]
  ) {
    const c = cases.find((c) => c.name === name)!;
    await t.step(name, async () => {
      const m = prepare(c, target);
      const before = Object.entries(m.stateDict());
      const x = toTensor(c.x!, target.dtype, target.backend);
      const xData = await x.data();
      let message = "";
      try {
        m.forward(x);
      } catch (e) {
        message = (e as Error).message;
      }
      ok(message.endsWith(c.error!.message), `got ${JSON.stringify(message)}`);
      ok(message.startsWith(`${c.module}: `), message);
      // Unlike the reference, nothing was mutated: not the input, not the counter.
      deepStrictEqual(await x.data(), xData);
      deepStrictEqual(Object.entries(m.stateDict()), before);
    });
  }
});
