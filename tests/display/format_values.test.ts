import assert from "node:assert/strict";
import fc from "fast-check";
import { formatValues } from "../../display/format_values.ts";
import { formatNumber } from "../../display/mime.ts";

/** Row-major nested arrays of `shape` over `data`. */
function nest(data: number[], shape: number[]): unknown {
  if (shape.length === 0) return data[0];
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) => nest(data.slice(i * inner), shape.slice(1)));
}

Deno.test("formatValues", async (t) => {
  await t.step("small arrays read back as the nested values", () => {
    const shapes = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(shapes, fc.integer(), (shape, seed) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const data = Array.from({ length: size }, (_, i) => ((seed + i * 7919) % 2001) - 1000);
        const text = formatValues(data, shape);
        assert.deepEqual(JSON.parse(text), nest(data, shape));
      }),
      { numRuns: 50 },
    );
  });

  await t.step("summarizes large arrays keeping the edges", () => {
    const data = Array.from({ length: 2000 }, (_, i) => i);
    const text = formatValues(data, [2000]);
    assert.match(text, /^\[ +0, +1, +2, \.\.\., 1997, 1998, 1999\]$/);
  });

  await t.step("rejects a size mismatch naming both", () => {
    assert.throws(() => formatValues([1, 2, 3], [2, 2]), /3 values for shape \[2, 2\]/);
  });

  await t.step("formatNumber keeps 4 significant digits and names non-finite values", () => {
    assert.equal(formatNumber(Math.PI), "3.142");
    assert.equal(formatNumber(-0.00012), "-1.200e-4");
    assert.equal(formatNumber(12), "12");
    assert.deepEqual([NaN, Infinity, -Infinity].map(formatNumber), [
      "NaN",
      "Infinity",
      "-Infinity",
    ]);
  });
});
