import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import {
  AdaptiveAvgPool2d,
  AvgPool2d,
  Conv2d,
  Dropout,
  InstanceEnhancementBatchNorm2d,
  Linear,
  MaxPool2d,
  rbn,
  RepresentativeBatchNorm2d,
} from "../../nn/mod.ts";
import { checkCalls, type ModuleCase } from "./module_cases.ts";
import { expectClose, loadFixture, toTensor } from "./helpers.ts";

Deno.test("IEBN with w = 0 is BatchNorm2d with scale γ·σ(b): checked against PyTorch's BN", async () => {
  const { cases } = loadFixture<ModuleCase>("batchnorm");
  for (
    const c of cases.filter((c) =>
      c.module === "BatchNorm2d" && c.calls && c.options.affine !== false
    )
  ) {
    const m = new InstanceEnhancementBatchNorm2d(3, {
      dtype: "float64",
      backend: "interpreter",
      momentum: c.options.momentum as number | null | undefined,
      eps: c.options.eps as number | undefined,
      trackRunningStats: c.options.track_running_stats as boolean | undefined,
    });
    deepStrictEqual(Array.from(await m.bias_readjust.data()), [-1, -1, -1]);
    const gate = 1 / (1 + Math.exp(1));
    m.loadStateDict({
      ...Object.fromEntries(
        Object.entries(c.buffers).map(([k, t]) => [k, toTensor(t, "float64", "interpreter")]),
      ),
      weight: toTensor(c.params.weight, "float64", "interpreter").div(gate),
      bias: toTensor(c.params.bias, "float64", "interpreter"),
      weight_readjust: m.weight_readjust,
      bias_readjust: m.bias_readjust,
    });
    if (c.mode === "eval") m.eval();
    for (const call of c.calls!) {
      const y = m.forward(toTensor(call.x, "float64", "interpreter"));
      await expectClose(y, call.y, 1e-9, `${c.name} y`, "iebn");
      await m.commitState();
      for (const [k, t] of Object.entries(call.buffers_after)) {
        await expectClose(
          Object.fromEntries(m.namedBuffers())[k],
          t,
          1e-9,
          `${c.name} ${k}`,
          "iebn",
        );
      }
    }
  }
});

Deno.test("functional rbn equals the module and matches the fixtures", async () => {
  const { cases } = loadFixture<ModuleCase>("rbn");
  const c = cases.find((c) => c.name === "rbn_train")!;
  await checkCalls(c, { backend: "interpreter", dtype: "float64" }, "rbn-functional");
  const p = (k: string) => toTensor(c.params[k], "float64", "interpreter");
  const call = c.calls![0];
  const out = rbn(toTensor(call.x, "float64", "interpreter"), {
    weight: p("weight"),
    bias: p("bias"),
    centerWeight: p("center_weight"),
    scaleWeight: p("scale_weight"),
    scaleBias: p("scale_bias"),
    runningMean: toTensor(c.buffers.running_mean, "float64", "interpreter"),
    runningVar: toTensor(c.buffers.running_var, "float64", "interpreter"),
    training: true,
  });
  await expectClose(out.y, call.y, 1e-9, "functional y", "rbn-functional");
  await expectClose(
    out.runningMean!,
    call.buffers_after.running_mean,
    1e-9,
    "mean",
    "rbn-functional",
  );
  await expectClose(out.runningVar!, call.buffers_after.running_var, 1e-9, "var", "rbn-functional");
  ok(new RepresentativeBatchNorm2d(3).training);
});

/** Direct loops: PyTorch's adaptive windows floor(i·in/out) .. ceil((i+1)·in/out). */
function adaptiveReference(
  x: Float64Array,
  h: number,
  w: number,
  oh: number,
  ow: number,
): number[] {
  const out: number[] = [];
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      const [h0, h1] = [Math.floor((i * h) / oh), Math.ceil(((i + 1) * h) / oh)];
      const [w0, w1] = [Math.floor((j * w) / ow), Math.ceil(((j + 1) * w) / ow)];
      let s = 0;
      for (let a = h0; a < h1; a++) for (let b = w0; b < w1; b++) s += x[a * w + b];
      out.push(s / ((h1 - h0) * (w1 - w0)));
    }
  }
  return out;
}

Deno.test("AdaptiveAvgPool2d matches PyTorch's window rule", async () => {
  for (const [h, w, oh, ow] of [[5, 7, 3, 2], [4, 4, 2, 2], [3, 5, 1, 1], [6, 5, 4, 5]]) {
    const x = Tensor.randn([1, 1, h, w], {
      dtype: "float64",
      seed: h * 10 + w,
      backend: "interpreter",
    });
    const y = new AdaptiveAvgPool2d([oh, ow]).forward(x);
    deepStrictEqual(y.shape, [1, 1, oh, ow]);
    const expected = adaptiveReference((await x.data()) as Float64Array, h, w, oh, ow);
    const got = Array.from(await y.data());
    ok(
      got.every((v, i) => Math.abs(v - expected[i]) < 1e-12),
      `${[h, w, oh, ow]}: ${got} vs ${expected}`,
    );
  }
});

Deno.test("pooling layers and their shapes", async () => {
  const x = Tensor.from([[[[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]]]);
  deepStrictEqual(Array.from(await new MaxPool2d(2).forward(x).data()), [6, 8, 14, 16]);
  deepStrictEqual(Array.from(await new AvgPool2d(2).forward(x).data()), [3.5, 5.5, 11.5, 13.5]);
  deepStrictEqual(new MaxPool2d(3, { stride: 1, padding: 1 }).forward(x).shape, [1, 1, 4, 4]);
});

Deno.test("Dropout: seeded, scaled by 1/(1-p), identity in eval, fresh mask per call", async () => {
  const x = Tensor.ones([2000], { backend: "interpreter" });
  const a = await new Dropout(0.25, { seed: 5 }).forward(x).data();
  const b = await new Dropout(0.25, { seed: 5 }).forward(x).data();
  deepStrictEqual(a, b);
  ok(a.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
  const kept = a.filter((v) => v !== 0).length / a.length;
  // 2000 Bernoulli(0.75) draws: 6 standard deviations is about ±0.058.
  ok(Math.abs(kept - 0.75) < 0.058, `kept ${kept}`);
  const d = new Dropout(0.25, { seed: 5 });
  const first = await d.forward(x).data(), second = await d.forward(x).data();
  ok(first.some((v, i) => v !== second[i]));
  deepStrictEqual(Array.from(await d.eval().forward(x).data()), Array.from(await x.data()));
});

Deno.test("Linear and Conv2d default init: seeded U(-1/√fanIn, 1/√fanIn)", async () => {
  const fc = new Linear(16, 8, { seed: 3 });
  const conv = new Conv2d(4, 6, 3, { groups: 2, seed: 3 });
  for (
    const [t, fanIn] of [[fc.weight, 16], [fc.bias!, 16], [conv.weight, 2 * 9], [
      conv.bias!,
      18,
    ]] as const
  ) {
    const v = await t.data();
    const bound = 1 / Math.sqrt(fanIn);
    ok(v.every((e) => Math.abs(e) <= bound), "within the bound");
    ok(Math.max(...v.map(Math.abs)) > bound * 0.5, "spread over the range");
  }
  deepStrictEqual(await new Linear(16, 8, { seed: 3 }).weight.data(), await fc.weight.data());
  strictEqual(conv.weight.shape.join(","), "6,2,3,3");
});
