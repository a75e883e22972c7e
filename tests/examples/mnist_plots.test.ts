import assert from "node:assert/strict";
import { lossFigure, spreadFigure } from "../../examples/mnist_plots.ts";

function between(text: string, from: string, to: string): string {
  const start = text.indexOf(from), end = text.indexOf(to, start);
  assert.ok(start >= 0 && end > start, `no ${from} … ${to}`);
  return text.slice(start, end);
}

Deno.test("MNIST figures", async (t) => {
  await t.step("the diagnostic: a bar per layer and normalization at the channel mean", () => {
    const spreads = {
      BN: [Float64Array.of(0.1, 0.3), Float64Array.of(0.2, 0.2, 0.2, 0.6)],
      RBN: [Float64Array.of(0.1, 0.1), Float64Array.of(0.1, 0.1, 0.1, 0.1)],
    };
    const svg = spreadFigure(spreads).svg;
    // Plot draws each mark as a group (per facet, nested groups) in the order of the marks.
    const bars = between(svg, 'aria-label="bar"', 'aria-label="tick"');
    const heights = [...bars.matchAll(/height="([^"]+)"/g)].map((m) => Number(m[1]));
    assert.equal(heights.length, 4); // two layers × two normalizations
    // Means 0.2, 0.3 (BN) and 0.1, 0.1 (RBN) on one linear scale from 0.
    const unit = Math.min(...heights) / 0.1;
    assert.deepEqual(heights.map((h) => Math.round((10 * h) / unit) / 10).sort(), [
      0.1,
      0.1,
      0.2,
      0.3,
    ]);
    const ticks = between(svg, 'aria-label="tick"', 'aria-label="rule"');
    assert.equal(ticks.match(/<line /g)?.length, 12); // one per channel
    assert.match(svg, />norm2 \(4 channels\)</);
  });

  await t.step("the loss curves: one line per normalization", () => {
    const svg = lossFigure({ BN: [2, 1], RBN: [2, 0.5] }).svg;
    const lines = svg.match(/<g[^>]*aria-label="line"[^>]*>([\s\S]*?)<\/g>/)![1];
    assert.equal(lines.match(/<path /g)?.length, 2);
  });
});
