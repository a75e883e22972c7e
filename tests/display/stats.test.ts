import assert from "node:assert/strict";
import fc from "fast-check";
import { summaryStats } from "../../display/stats.ts";

Deno.test("summaryStats", async (t) => {
  await t.step("matches the textbook formulas on finite data", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (xs) => {
          const s = summaryStats(xs);
          const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
          const variance = xs.reduce((a, b) => a + b * b, 0) / xs.length - mean * mean;
          assert.equal(s.min, Math.min(...xs));
          assert.equal(s.max, Math.max(...xs));
          // Both sides sum at most 50 terms of size 1e3 in float64: 1e-9 relative is ample.
          assert.ok(Math.abs(s.mean - mean) <= 1e-9 * 1e3);
          assert.ok(Math.abs(s.std ** 2 - Math.max(0, variance)) <= 1e-6 * 1e6);
          assert.equal(s.nanCount, 0);
        },
      ),
      { numRuns: 60 },
    );
  });

  await t.step("skips and counts NaN and infinities", () => {
    const s = summaryStats([1, NaN, 3, Infinity, -Infinity, NaN]);
    assert.deepEqual([s.count, s.min, s.max, s.mean, s.std, s.nanCount, s.infCount], [
      6,
      1,
      3,
      2,
      1,
      2,
      2,
    ]);
  });

  await t.step("gives NaN statistics when nothing is finite", () => {
    const s = summaryStats([NaN]);
    assert.ok(Number.isNaN(s.mean) && Number.isNaN(s.min));
    assert.equal(s.nanCount, 1);
  });
});
