import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { tensorMimeBundle } from "../../display/tensor_display.ts";

type Displayable = { [k: symbol]: () => Promise<Record<string, string>> };

Deno.test("tensor rich display", async (t) => {
  await t.step("the Jupyter hook realizes a lazy tensor and reports its statistics", async () => {
    const x = Tensor.from([[1, 2], [3, NaN]]).mul(2);
    assert.equal(x.isRealized, false);
    const bundle = await (x as unknown as Displayable)[Symbol.for("Jupyter.display")]();
    const plain = bundle["text/plain"];
    assert.match(plain, new RegExp(`^Tensor float32\\[2, 2\\] on ${x.backend}`));
    // Finite values 2, 4, 6: mean 4, population std sqrt(8/3) = 1.633.
    assert.match(plain, /min=2 max=6 mean=4 std=1\.633 NaN=1/);
    assert.ok(plain.endsWith("[[  2,   4],\n [  6, NaN]]"), plain);
    assert.match(bundle["text/html"], /<svg /); // 2-D: heatmap
    assert.match(bundle["text/html"], /<th[^>]*>backend<\/th><td[^>]*>/);
  });

  await t.step("1-D tensors have no heatmap; bools print as true/false", async () => {
    const b = await tensorMimeBundle(Tensor.from([1, 2, 3]).gt(1));
    assert.doesNotMatch(b["text/html"], /<svg /);
    assert.match(b["text/plain"], /^Tensor bool\[3\]/);
    assert.ok(b["text/plain"].endsWith("[false,  true,  true]"));
  });

  await t.step("int32 values print in full (argmax indices, extremes)", async () => {
    const b = await tensorMimeBundle(
      Tensor.from([[2147483647, -5], [3, 1234567]], { dtype: "int32" }),
    );
    assert.match(b["text/plain"], /^Tensor int32\[2, 2\]/);
    assert.ok(
      b["text/plain"].endsWith("[[2147483647,         -5],\n [         3,    1234567]]"),
      b["text/plain"],
    );
  });

  await t.step("image batches show as tiles", async () => {
    const b = await tensorMimeBundle(Tensor.rand([3, 1, 8, 8], { seed: 3 }));
    assert.equal(b["text/html"].match(/<image /g)?.length, 3);
  });

  await t.step("scalars display", async () => {
    const b = await tensorMimeBundle(Tensor.from([2, 3]).sum());
    assert.match(b["text/plain"], /^Tensor float32\[\] on .*\n.*\n5$/);
  });
});
