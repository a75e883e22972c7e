import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { heatmap, heatmapSvg, viridis } from "../../display/heatmap.ts";

Deno.test("heatmap", async (t) => {
  await t.step("viridis ends at the published endpoint colors #440154 and #fde725", () => {
    assert.deepEqual(viridis(0), [0x44, 0x01, 0x54]);
    assert.deepEqual(viridis(1), [0xfd, 0xe7, 0x25]);
    assert.deepEqual(viridis(-3), viridis(0));
    assert.deepEqual(viridis(7), viridis(1));
  });

  await t.step("draws one image per slice of a stack, up to maxTiles", () => {
    const count = (svg: string) => svg.match(/<image /g)?.length ?? 0;
    const data = new Float32Array(5 * 4 * 6).map((_, i) => i);
    assert.equal(count(heatmapSvg(data, [5, 4, 6])), 5);
    const capped = heatmapSvg(data, [5, 4, 6], { maxTiles: 2 });
    assert.equal(count(capped), 2);
    assert.match(capped, /first 2 of 5 slices/);
  });

  await t.step("labels the color bar with the data range or the given limits", () => {
    assert.match(heatmapSvg([-2, 0, 1, 5], [2, 2]), />5<\/text>[\s\S]*>-2<\/text>/);
    assert.match(heatmapSvg([-2, 0, 1, 5], [2, 2], { min: 0, max: 1 }), />1<\/text>[\s\S]*>0</);
  });

  await t.step("gives each color bar its own gradient id", () => {
    const id = (svg: string) => svg.match(/linearGradient id="([^"]+)"/)![1];
    assert.notEqual(id(heatmapSvg([0, 1, 2, 3], [2, 2])), id(heatmapSvg([0, 1, 2, 3], [2, 2])));
  });

  await t.step("rejects rank 1 and size mismatches", () => {
    assert.throws(() => heatmapSvg([1, 2], [2]), /heatmap: expected a shape of rank >= 2/);
    assert.throws(() => heatmapSvg([1, 2], [2, 2]), /2 values for shape \[2, 2\]/);
  });

  await t.step("realizes a lazy tensor", async () => {
    const fig = await heatmap(Tensor.arange(12).reshape([3, 4]).mul(2));
    assert.match(fig.svg, /<image /);
    assert.match(fig.svg, />22<\/text>/);
    assert.equal(fig.toString(), "heatmap of float32[3, 4]");
  });
});
