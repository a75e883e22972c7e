// Class-index targets of crossEntropy: ignoreIndex as in torch 1.13, errors for bad targets known
// on the host, NaN (never a silent finite loss) for bad targets computed lazily.

import { strict as assert } from "node:assert";
import { backendNames, gradients, Tensor } from "../../mod.ts";
import { crossEntropy } from "../../nn/mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { throwsWith } from "../helpers/throws_with.ts";

const logits = () => Tensor.from([[1, 2, 3], [0.5, -1, 2], [0, 0, 1]], { dtype: "float64" });
const target = (v: number[]) => Tensor.from(v, { dtype: "float64" });
/** A target computed on the backend, so its values are unknown when the loss is built. */
const lazy = (v: number[]) => target(v).add(target(v.map(() => 0)));

Deno.test("crossEntropy: host-known targets out of range are rejected", async (t) => {
  for (const [v, at] of [[7, 1], [-1, 1], [1.5, 1], [3, 1], [NaN, 1], [-100.5, 1]] as const) {
    await t.step(`target ${v}`, () =>
      throwsWith(
        () => crossEntropy(logits(), target([0, v, 1])),
        "crossEntropy",
        `target value ${v} at flat index ${at}`,
        "[0, 3)",
        "3 classes",
        "ignoreIndex -100",
      ));
  }
  await t.step(
    "a constant target",
    () => throwsWith(() => crossEntropy(logits(), Tensor.full([3], 5)), "target value 5", "[0, 3)"),
  );
  await t.step("a custom ignoreIndex makes -100 invalid", () =>
    throwsWith(
      () => crossEntropy(logits(), target([0, -100, 1]), { ignoreIndex: 2 }),
      "target value -100",
      "ignoreIndex 2",
    ));
  await t.step("a non-integer ignoreIndex", () =>
    throwsWith(
      () => crossEntropy(logits(), target([0, 1, 1]), { ignoreIndex: 0.5 }),
      "ignoreIndex 0.5",
    ));
});

Deno.test("crossEntropy: lazy out-of-range targets give NaN terms", async (t) => {
  for (const v of [7, -1, 1.5, 3, NaN]) {
    await t.step(`target ${v}`, async () => {
      const none = await crossEntropy(logits(), lazy([0, v, 1]), { reduction: "none" }).data();
      assert.ok(Number.isNaN(none[1]), `term ${none[1]}`);
      assert.ok(Number.isFinite(none[0]) && Number.isFinite(none[2]));
      for (const reduction of ["mean", "sum"] as const) {
        const y = await crossEntropy(logits(), lazy([0, v, 1]), { reduction }).item();
        assert.ok(Number.isNaN(y), `${reduction} ${y}`);
      }
    });
  }
  await t.step("valid lazy targets equal host targets, ignored included", async () => {
    for (const reduction of ["mean", "sum", "none"] as const) {
      for (const labelSmoothing of [0, 0.1]) {
        const a = await crossEntropy(logits(), lazy([0, -100, 2]), { reduction, labelSmoothing })
          .data();
        const b = await crossEntropy(logits(), target([0, -100, 2]), {
          reduction,
          labelSmoothing,
        }).data();
        assert.deepEqual([...a], [...b]);
      }
    }
  });
});

Deno.test("crossEntropy: ignoreIndex matches torch 1.13", async (t) => {
  // Values printed by torch 1.13 F.cross_entropy on these float64 logits and targets.
  const cases = [
    { t: [0, -100, 2], reduction: "mean", ls: 0, y: [1.479525339188216] },
    { t: [0, -100, 2], reduction: "mean", ls: 0.1, y: [1.4628586725215493] },
    { t: [0, -100, 2], reduction: "sum", ls: 0, y: [2.959050678376432] },
    { t: [0, -100, 2], reduction: "none", ls: 0.1, y: [2.30760596, 0, 0.61811138] },
    { t: [-100, -100, -100], reduction: "mean", ls: 0, y: [NaN] },
    { t: [-100, -100, -100], reduction: "mean", ls: 0.1, y: [NaN] },
    { t: [-100, -100, -100], reduction: "sum", ls: 0.1, y: [0] },
    { t: [-100, -100, -100], reduction: "none", ls: 0, y: [0, 0, 0] },
  ] as const;
  for (const c of cases) {
    for (const make of [target, lazy]) {
      await t.step(`${c.t} ${c.reduction} ls=${c.ls} ${make.name}`, async () => {
        const got = await crossEntropy(logits(), make([...c.t]), {
          reduction: c.reduction,
          labelSmoothing: c.ls,
        }).data();
        // 1e-8: the torch values above are printed to 8 or more significant digits.
        c.y.forEach((e, i) =>
          assert.ok(
            Number.isNaN(e) ? Number.isNaN(got[i]) : Math.abs(got[i] - e) < 1e-8,
            `${got[i]} vs ${e}`,
          )
        );
      });
    }
  }
  await t.step("all ignored: zero gradient, as torch", async () => {
    const x = logits();
    const [g] = gradients(crossEntropy(x, target([-100, -100, -100]), { reduction: "sum" }), [x]);
    assert.deepEqual([...await g.data()], new Array(9).fill(0));
  });
});

Deno.test("crossEntropy: lazy targets on every backend in float32", async (t) => {
  const backends = [...backendNames().filter((b) => b !== "webgpu")];
  if (await hasWebGpu()) backends.push(...webgpuBackends());
  for (const backend of backends) {
    await t.step(backend, async () => {
      const x = Tensor.from([[1, 2, 3], [0.5, -1, 2], [0, 0, 1], [2, 1, 0]], { backend });
      const tgt = (v: number[]) =>
        Tensor.from(v, { backend }).add(Tensor.from(v.map(() => 0), { backend }));
      // float32 logsumexp of these logits: 1e-5 absolute is ~100 ulps of values near 2.
      const ok = await crossEntropy(x, tgt([0, -100, 2, -100])).item();
      assert.ok(Math.abs(ok - (2.40760596 + 0.55144471) / 2) < 1e-5, `${ok}`);
      const bad = await crossEntropy(x, tgt([0, 9, 2, -100]), { reduction: "none" }).data();
      assert.ok(Number.isNaN(bad[1]) && bad[3] === 0 && Number.isFinite(bad[0]), `${bad}`);
      const all = await crossEntropy(x, tgt([-100, -100, -100, -100])).item();
      assert.ok(Number.isNaN(all), `${all}`);
    });
  }
});
