import assert from "node:assert/strict";
import * as Plot from "@observablehq/plot";
import { histogram, linePlot, plot } from "../../display/plot.ts";

/** The `<g aria-label="…">` group Plot draws a mark into. */
function mark(svg: string, label: string): string {
  const m = svg.match(new RegExp(`<g[^>]*aria-label="${label}"[^>]*>([\\s\\S]*?)</g>`));
  assert.ok(m, `no ${label} mark`);
  return m[1];
}

Deno.test("plots", async (t) => {
  await t.step("draws one line per series and a legend for several", () => {
    const svg = linePlot([{ name: "BN", y: [3, 2, 1] }, { name: "RBN", y: [3, 1, 0.5] }]).svg;
    assert.equal(mark(svg, "line").match(/<path /g)?.length, 2);
    assert.equal(mark(svg, "dot").match(/<circle /g)?.length, 6);
    assert.match(svg, />BN<\/text>/);
    assert.match(svg, />RBN<\/text>/);
  });

  await t.step("a NaN or infinity breaks a line into two", () => {
    for (const gap of [NaN, Infinity]) {
      const svg = linePlot([{ name: "loss", y: [1, 2, gap, 3, 4] }]).svg;
      const d = mark(svg, "line").match(/ d="([^"]+)"/)![1];
      assert.equal(d.match(/M/g)?.length, 2, d); // two sub-paths
      assert.equal(mark(svg, "dot").match(/<circle /g)?.length, 4);
    }
  });

  await t.step("one SVG document without a declaration, labels escaped", () => {
    const fig = linePlot([{ name: "a", y: [1, 2] }], { title: "x < y & z", xLabel: "step" });
    assert.match(fig.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.doesNotMatch(fig.svg, /<(figure|div|h2|span)\b/);
    assert.match(fig.svg, /x &#60; y &#38; z/);
    assert.equal(fig.toString(), "x < y & z");
    assert.equal(fig.toMimeBundle()["image/svg+xml"], fig.svg);
  });

  await t.step("histogram bars count every finite sample once, on shared bins", () => {
    const values = [0, 0.1, 0.2, 0.5, 0.9, 1, NaN];
    const svg = histogram([{ name: "x", values }], { bins: 4 }).svg;
    // bins [0, .25) [.25, .5) [.5, .75) [.75, 1]: 3, 0, 1, 2
    const bars = [...mark(svg, "rect").matchAll(/height="([^"]+)"[^>]* x="([^"]+)"/g)]
      .map((m) => ({ h: Number(m[1]), x: Number(m[2]) })).sort((a, b) => a.x - b.x);
    assert.equal(bars.length, 3);
    const unit = Math.min(...bars.map((b) => b.h));
    assert.deepEqual(bars.map((b) => Math.round(b.h / unit)), [3, 1, 2]);
    const two = histogram([{ name: "a", values: [0, 1] }, { name: "b", values: [0.5] }], {
      bins: 2,
    }).svg;
    assert.equal(mark(two, "rect").match(/<rect /g)?.length, 3); // overlaid, not stacked
  });

  await t.step("any Plot specification, legend and title drawn into the SVG", () => {
    const rows = [{ g: "a", v: 1 }, { g: "b", v: 2 }];
    const fig = plot({
      title: "bars",
      color: { legend: true },
      marks: [Plot.barY(rows, { x: "g", y: "v", fill: "g" })],
    });
    assert.equal(fig.toString(), "bars");
    assert.equal(mark(fig.svg, "bar").match(/<rect /g)?.length, 2);
    assert.match(fig.svg, /font-weight="bold">bars<\/text>/);
    // The swatches: one square and one label per color.
    assert.equal(fig.svg.match(/<rect x="\d+" y="\d+" width="15" height="15"/g)?.length, 2);
    assert.equal(plot({ marks: [Plot.dot([1, 2])] }, "dots").toString(), "dots");
  });

  await t.step("rejects bad input clearly", () => {
    assert.throws(() => linePlot([]), /linePlot: expected at least one series/);
    assert.throws(
      () => linePlot([{ name: "a", y: [1, 2], x: [1] }]),
      /series "a" has 1 x values and 2 y values/,
    );
    assert.throws(() => histogram([{ name: "a", values: [1] }], { bins: 0 }), /bins must be/);
  });
});
