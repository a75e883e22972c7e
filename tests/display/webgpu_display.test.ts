import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { summaryStats } from "../../display/stats.ts";
import { tensorMimeBundle } from "../../display/tensor_display.ts";
import { formatNumber } from "../../display/mime.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";

type Displayable = { [k: symbol]: () => Promise<Record<string, string>> };

Deno.test("rich display of a lazy tensor on the asynchronous WebGPU backend", async (t) => {
  if (!(await hasWebGpu())) return;
  const values = Array.from({ length: 24 }, (_, i) => Math.sin(i) * (i % 5));
  const gpu = Tensor.from(values, { shape: [4, 6], backend: "webgpu" }).mul(3).exp();
  assert.equal(gpu.isRealized, false);

  await t.step("the Jupyter hook realizes it and reports the backend and statistics", async () => {
    const bundle = await (gpu as unknown as Displayable)[Symbol.for("Jupyter.display")]();
    assert.match(bundle["text/plain"], /^Tensor float32\[4, 6\] on webgpu/);
    // Statistics of the same values computed on the host in float64, shown to 4 digits: the
    // device's float32 exp differs by a few ulps, far below the displayed precision.
    const s = summaryStats(values.map((v) => Math.fround(Math.exp(Math.fround(3 * v)))));
    assert.match(bundle["text/plain"], new RegExp(`min=${formatNumber(s.min)} `));
    assert.match(bundle["text/html"], /<svg /);
  });

  await t.step("an already realized tensor displays again", async () => {
    const again = await tensorMimeBundle(gpu);
    assert.match(again["text/plain"], /on webgpu/);
    assert.equal(gpu.isRealized, true);
  });
});
