// The ops lowered to primitives (clamp, einsum, cumsum, avgPool2d with countIncludePad: false and
// ceilMode) export as graphs of primitive operators that ONNX Runtime runs to our CPU values.
// Tolerance 1e-5 as in ops_test.ts: float32 on both sides, sums of at most a few dozen terms.

import { einsum, Tensor } from "../../mod.ts";
import { exportOnnx } from "../../onnx/mod.ts";
import { assertRuntimeMatches } from "./runtime.ts";

const randn = (shape: number[], seed: number) => Tensor.randn(shape, { seed, backend: "cpu" });

const CASES: Record<string, { f: (...xs: Tensor[]) => Tensor; inputs: Tensor[] }> = {
  clamp: {
    f: (x) => x.clamp(-0.5, 0.5),
    inputs: [Tensor.from([[-1, -0.5, 0, 0.5, 1, Infinity]], { backend: "cpu" })],
  },
  "clamp (tensor bounds)": {
    f: (x, lo) => x.clamp(lo, 1),
    inputs: [randn([3, 4], 1), randn([4], 2)],
  },
  einsum: {
    f: (a, b) => einsum("bij,bjk->bki", a, b),
    inputs: [randn([2, 3, 4], 3), randn([2, 4, 5], 4)],
  },
  "einsum (trace)": { f: (a) => einsum("ii", a), inputs: [randn([4, 4], 5)] },
  cumsum: { f: (x) => x.cumsum(1), inputs: [randn([3, 70], 6)] },
  "avgPool2d (countIncludePad: false, ceilMode)": {
    f: (x) => x.avgPool2d(3, { stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
    inputs: [randn([1, 2, 6, 7], 7)],
  },
};

Deno.test("new composite ops run in ONNX Runtime as primitive graphs", async (t) => {
  for (const [name, c] of Object.entries(CASES)) {
    await t.step(name, async () => {
      const bytes = await exportOnnx(c.f, c.inputs);
      await assertRuntimeMatches(bytes, c.inputs, [c.f(...c.inputs)], 1e-5, name);
    });
  }
});
