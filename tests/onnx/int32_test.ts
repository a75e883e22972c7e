// Exported graphs with int32 values run in ONNX Runtime and give our values: argmax/argmin
// (int32 indices, NaN and ties resolved as PyTorch does) and mixed int32/float arithmetic.
// Integer outputs are exact, so the tolerance is 0.

import { deepStrictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { exportOnnx } from "../../onnx/mod.ts";
import { assertRuntimeMatches, runOnnx } from "./runtime.ts";

const x = () => Tensor.from([[1, NaN, 3, 3], [4, 4, -1, -Infinity], [0, 2, 2, Infinity]]);

Deno.test("ONNX argmax/argmin: int32 indices with NaN and ties match ONNX Runtime", async () => {
  for (const f of [(t: Tensor) => t.argmax(1), (t: Tensor) => t.argmin(0, { keepdims: true })]) {
    const bytes = await exportOnnx(f, x());
    const ours = f(x());
    deepStrictEqual(ours.dtype, "int32");
    await assertRuntimeMatches(bytes, [x()], [ours], 0);
    const out = Object.values(await runOnnx(bytes, [x()]));
    deepStrictEqual(out.map((o) => o.type), ["int32"]);
  }
});

Deno.test("ONNX int32 inputs: promotion to float and true division match ONNX Runtime", async () => {
  const f = (i: Tensor, y: Tensor) => i.mul(y).add(i.div(2)).sub(i.cast("float32"));
  const i = Tensor.from([[7, -7, 0], [2147483647, -2147483648, 3]], { dtype: "int32" });
  const y = Tensor.from([[0.5, 2, -1], [1, 1, 0.25]]);
  const bytes = await exportOnnx(f, [i, y]);
  await assertRuntimeMatches(bytes, [i, y], [f(i, y)], 1e-6);
});
