// The composite side table (core/composite.ts): it records what built a node without changing
// the IR, and the exporter falls back to the primitives where a composite's ONNX operator would
// not compute the same thing.

import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { compositeOf } from "../../core/composite.ts";
import * as ir from "../../core/ir.ts";
import { batchNorm } from "../../nn/mod.ts";
import { exportOnnx } from "../../onnx/mod.ts";
import { assertRuntimeMatches, opTypes } from "./runtime.ts";

Deno.test("composite: recording leaves the IR alone (same hash-consed node, same listing)", () => {
  const x = Tensor.randn([2, 3], { seed: 1 }), y = Tensor.randn([2, 3], { seed: 2 });
  const primitive = ir.binary("add", x.node, ir.unary("neg", y.node));
  const sub = x.sub(y);
  strictEqual(sub.node, primitive);
  deepStrictEqual(compositeOf(sub.node), { op: "sub", inputs: [x.node, y.node], attrs: {} });
});

Deno.test("composite: conv2d records its operands and resolved attributes", () => {
  const x = Tensor.randn([1, 2, 5, 5], { seed: 3 }), w = Tensor.randn([4, 1, 3, 3], { seed: 4 });
  const out = x.conv2d(w, { stride: 2, padding: [1, 0], groups: 2 });
  deepStrictEqual(compositeOf(out.node), {
    op: "conv2d",
    inputs: [x.node, w.node, null],
    attrs: { stride: [2, 2], padding: [1, 0], dilation: [1, 1], groups: 2 },
  });
});

Deno.test("composite: one that folds to its own operand records nothing on the operand", () => {
  const x = Tensor.randn([3], { seed: 5 });
  strictEqual(x.div(1).node, x.node);
  strictEqual(x.mul(2).div(1).node, x.mul(2).node);
  strictEqual(compositeOf(x.node), undefined);
  strictEqual(compositeOf(x.mul(2).node), undefined);
});

Deno.test("composite: batch norm over mixed dtypes exports as primitives and still matches", async () => {
  // float64 running statistics with a float32 input: our batchNorm casts inside, ONNX's
  // BatchNormalization requires one dtype, so the exporter lowers the primitives instead.
  const m = Tensor.randn([3], { seed: 6, dtype: "float64" });
  const v = Tensor.rand([3], { seed: 7, low: 0.5, high: 2, dtype: "float64" });
  const f = (x: Tensor) => batchNorm(x, { runningMean: m, runningVar: v }).y;
  const x = Tensor.randn([2, 3, 2, 2], { seed: 8 });
  const bytes = await exportOnnx(f, x);
  const ops = opTypes(bytes);
  ok(!ops.includes("BatchNormalization") && ops.includes("Cast"), `ops: ${ops}`);
  await assertRuntimeMatches(bytes, [x], [f(x)], 1e-5, "mixed-dtype batch norm");
});
