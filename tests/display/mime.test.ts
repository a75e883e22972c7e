import { strict as assert } from "node:assert";
import { SvgFigure, svgFragment, svgHtml } from "../../display/mod.ts";

const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"></svg>';

Deno.test("SvgFigure.save writes the SVG document in Deno", async () => {
  const path = await Deno.makeTempFile({ suffix: ".svg" });
  try {
    await new SvgFigure(svg, "dot").save(path);
    assert.equal(await Deno.readTextFile(path), svg);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("SvgFigure.save without the Deno global says that it needs Deno", async () => {
  // What a browser bundle sees: the display module loads, only saving is unavailable.
  const deno = Object.getOwnPropertyDescriptor(globalThis, "Deno")!;
  delete (globalThis as { Deno?: unknown }).Deno;
  try {
    await assert.rejects(
      new SvgFigure(svg, "dot").save("/tmp/never-written.svg"),
      /SvgFigure\.save: writing files needs the Deno runtime/,
    );
  } finally {
    Object.defineProperty(globalThis, "Deno", deno);
  }
});

Deno.test("SVG MIME bundles survive HTML export", async (t) => {
  const prolog = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' +
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN"\n' +
    ' "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n<!-- Title: G -->\n';

  await t.step("svgFragment drops the XML declaration and DOCTYPE, keeps the rest", () => {
    assert.equal(svgFragment(prolog + svg), "<!-- Title: G -->\n" + svg);
    assert.equal(svgFragment(svg), svg);
    assert.equal(svgFragment("  <!doctype svg>" + svg), svg);
  });

  await t.step("a figure's bundle carries no prolog and has an HTML form holding the SVG", () => {
    const bundle = new SvgFigure(prolog + svg, "dot").toMimeBundle();
    assert.deepEqual(Object.keys(bundle).sort(), ["image/svg+xml", "text/html", "text/plain"]);
    for (const form of [bundle["image/svg+xml"], bundle["text/html"]]) {
      assert.doesNotMatch(form, /<\?xml|<!DOCTYPE/i);
    }
    assert.ok(bundle["text/html"].includes(svg));
    assert.match(bundle["text/html"], /^<div style="[^"]*overflow:auto/);
  });

  await t.step("svgHtml escapes nothing inside the SVG and scrolls wide pictures", () => {
    assert.equal(svgHtml(svg), `<div style="max-width:100%;overflow:auto">${svg}</div>`);
  });
});
