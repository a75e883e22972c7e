import assert from "node:assert/strict";
import fc from "fast-check";
import { histogramSvg, linePlot, linePlotSvg, niceTicks } from "../../display/plot.ts";

Deno.test("plots", async (t) => {
  await t.step("niceTicks are round, evenly spaced and inside the range", () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        fc.double({ min: 1e-3, max: 1e4, noNaN: true }),
        (lo, span) => {
          const ticks = niceTicks(lo, lo + span);
          assert.ok(ticks.length >= 2 && ticks.length <= 11, `${ticks.length} ticks`);
          const step = ticks[1] - ticks[0];
          const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
          assert.ok([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6), `step ${step}`);
          for (const v of ticks) assert.ok(v >= lo - 1e-9 * span && v <= lo + span * (1 + 1e-9));
        },
      ),
      { numRuns: 100 },
    );
  });

  await t.step("draws one line per series and a legend for several", () => {
    const svg = linePlotSvg([{ name: "BN", y: [3, 2, 1] }, { name: "RBN", y: [3, 1, 0.5] }]);
    assert.equal(svg.match(/stroke-width="2"/g)?.length, 2);
    assert.match(svg, />BN<\/text>/);
    assert.match(svg, />RBN<\/text>/);
  });

  await t.step("a NaN breaks a line into two", () => {
    const svg = linePlotSvg([{ name: "loss", y: [1, 2, NaN, 3, 4] }]);
    assert.equal(svg.match(/stroke-width="2"/g)?.length, 2);
  });

  await t.step("escapes labels", () => {
    const fig = linePlot([{ name: "a", y: [1, 2] }], { title: "x < y & z" });
    assert.match(fig.svg, /x &#60; y &#38; z/);
    assert.equal(fig.toMimeBundle()["image/svg+xml"], fig.svg);
  });

  await t.step("histogram bars count every finite sample once", () => {
    const values = [0, 0.1, 0.2, 0.5, 0.9, 1, NaN];
    const svg = histogramSvg([{ name: "x", values }], { bins: 4, height: 420 });
    const bars = [...svg.matchAll(/<rect x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"/g)];
    assert.equal(bars.length, 3); // bins [0, .25) [.25, .5) [.5, .75) [.75, 1]: 3, 0, 1, 2
    const heights = bars.map((m) => Number(m[2]));
    const unit = Math.min(...heights);
    assert.deepEqual(heights.map((h) => Math.round(h / unit)), [3, 1, 2]);
  });

  await t.step("rejects bad input clearly", () => {
    assert.throws(() => linePlotSvg([]), /linePlot: expected at least one series/);
    assert.throws(
      () => linePlotSvg([{ name: "a", y: [1, 2], x: [1] }]),
      /series "a" has 1 x values and 2 y values/,
    );
    assert.throws(() => histogramSvg([{ name: "a", values: [1] }], { bins: 0 }), /bins must be/);
  });
});
