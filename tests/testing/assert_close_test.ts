import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

const f64 = (d: number[][] | number[]) =>
  Tensor.from(d, { dtype: "float64", backend: "interpreter" });

Deno.test("assertClose: accepts values within atol + rtol·|expected|", async () => {
  await assertClose(f64([1, 100]), [1 + 1e-9, 100 + 1e-4], { rtol: 1e-6, atol: 1e-8 });
  await assertClose(new Float32Array([0.5]), new Float64Array([0.5]), { rtol: 0, atol: 0 });
  await assertClose(3, 3.0000001, { rtol: 1e-7 });
  await assertClose([NaN, Infinity, -Infinity], [NaN, Infinity, -Infinity], { rtol: 0, atol: 0 });
});

Deno.test("assertClose: names the worst element, its index, both values and the tolerance", async () => {
  const actual = f64([[1, 2, 3], [4, 5, 6.5]]);
  const expected = f64([[1, 2.1, 3], [4, 5, 6]]);
  await assert.rejects(
    () => assertClose(actual, expected, { rtol: 0.01, atol: 0, msg: "layer output" }),
    (e: Error) => {
      assert.match(e.message, /^layer output: assertClose: 2 of 6 elements differ/);
      // 6.5 vs 6 exceeds its tolerance 0.06 by 0.44; 2 vs 2.1 only by 0.079.
      assert.match(e.message, /worst at index \[1, 2\]: actual 6\.5, expected 6 /);
      assert.match(e.message, /tolerance 0\.06 = atol 0 \+ rtol 0\.01/);
      return true;
    },
  );
});

Deno.test("assertClose: NaN, infinities and shapes are checked", async () => {
  await assert.rejects(() => assertClose([1, NaN], [1, 2]), /index \[1\]: actual NaN, expected 2/);
  await assert.rejects(() => assertClose([Infinity], [1e308]), /actual Infinity/);
  await assert.rejects(() => assertClose([-Infinity], [Infinity]), /1 of 1 elements differ/);
  await assert.rejects(
    () => assertClose(f64([[1, 2]]), f64([1, 2])),
    /actual has shape \[1, 2\] and expected \[2\]; expected equal shapes/,
  );
  await assert.rejects(() => assertClose([1, 2], [1]), /shape \[2\] and expected \[1\]/);
  await assert.rejects(() => assertClose([1], [1], { rtol: -1 }), /non-negative/);
});
