// Rounding and fmod export as ONNX Floor, Round (ties to even, as ours) and Mod (fmod = 1), and
// ONNX Runtime gives our CPU values; remainder is a graph over Mod. floor_div has no ONNX
// operator (Div truncates integers) and is refused by name.

import { rejects } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { exportOnnx, OPSET } from "../../onnx/mod.ts";
import { assertRuntimeMatches } from "./runtime.ts";

const x = Tensor.from([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -0.7, 3.7], { backend: "cpu" });
const d = Tensor.from([2, -2, 2, -2, 1.5, -1.5, 0.3, -0.3], { backend: "cpu" });

const CASES: Record<string, { f: (...xs: Tensor[]) => Tensor; inputs: Tensor[] }> = {
  "floor ceil round trunc": {
    f: (a) => a.floor().add(a.ceil().mul(10)).add(a.round().mul(100)).add(a.trunc().mul(1000)),
    inputs: [x],
  },
  fmod: { f: (a, b) => a.fmod(b), inputs: [x, d] },
  remainder: { f: (a, b) => a.remainder(b), inputs: [x, d] },
};

Deno.test("rounding ops run in ONNX Runtime", async (t) => {
  for (const [name, c] of Object.entries(CASES)) {
    await t.step(name, async () => {
      const bytes = await exportOnnx(c.f, c.inputs);
      // Exact ops on both sides, then float32 sums of small integers: exact.
      await assertRuntimeMatches(bytes, c.inputs, [c.f(...c.inputs)], 0, name);
    });
  }
});

Deno.test("exportOnnx: floorDivide has no ONNX lowering and says so", async () => {
  await rejects(
    exportOnnx((a: Tensor, b: Tensor) => a.floorDivide(b), [x, d]),
    new RegExp(`op "floor_div" has no ONNX lowering at opset ${OPSET}`),
  );
});
