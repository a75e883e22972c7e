import { strict as assert } from "node:assert";
import { SvgFigure } from "../../display/mod.ts";

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
