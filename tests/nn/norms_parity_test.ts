import { ok } from "node:assert/strict";
import { InstanceNorm2d } from "../../nn/mod.ts";
import { checkCalls, type ModuleCase, prepare } from "./module_cases.ts";
import { loadFixture, reportWorst, targets, toTensor } from "./helpers.ts";

for (const file of ["batchnorm", "groupnorm", "layernorm", "instancenorm", "conv2d", "linear"]) {
  const { cases } = loadFixture<ModuleCase>(file);
  Deno.test(`${file} modules match PyTorch`, async (t) => {
    for (const target of await targets()) {
      const key = `${target.backend}/${target.dtype}`;
      for (const c of cases.filter((c) => c.calls !== undefined)) {
        await t.step(`${c.name} on ${key}`, () => checkCalls(c, target, `${file} ${key}`));
      }
    }
    reportWorst(file);
  });
}

Deno.test("batch norm raises PyTorch's error for one value per channel in training", async (t) => {
  const [target] = await targets();
  const { cases } = loadFixture<ModuleCase>("batchnorm");
  for (const c of cases.filter((c) => c.error !== undefined)) {
    await t.step(c.name, async () => {
      const m = prepare(c, target);
      const before = Object.entries(m.stateDict());
      let message = "";
      try {
        m.forward(toTensor(c.x!, target.dtype, target.backend));
      } catch (e) {
        message = (e as Error).message;
      }
      ok(message.endsWith(c.error!.message), `got ${JSON.stringify(message)}`);
      ok(message.startsWith(`${c.module}: `), message);
      ok(
        Object.entries(m.stateDict()).every(([k, v], i) =>
          before[i][0] === k && before[i][1] === v
        ),
      );
      await Promise.resolve();
    });
  }
});

Deno.test("InstanceNorm2d rejects momentum null (PyTorch raises at the first call)", () => {
  let message = "";
  try {
    new InstanceNorm2d(3, { trackRunningStats: true, momentum: null });
  } catch (e) {
    message = (e as Error).message;
  }
  ok(message.includes("momentum null"), message);
});
