import assert from "node:assert/strict";
import { checkNotebook, type Notebook } from "../../tools/jupyter/check_outputs.ts";
import {
  checkExportedHtml,
  checkPictureOutputs,
  PICTURE_TAG,
  pictureCells,
} from "../../tools/jupyter/export_check.ts";
import { KERNEL_NAME, writeKernelspec } from "../../tools/jupyter/kernelspec.ts";

const cell = (outputs: NonNullable<Notebook["cells"][number]["outputs"]>) => ({
  cell_type: "code",
  source: ["const x = 1;\n", "x"],
  outputs,
});

Deno.test("notebook checks", async (t) => {
  await t.step("passes when the outputs hold every required MIME type", () => {
    const report = checkNotebook({
      cells: [
        { cell_type: "markdown", source: "# title" },
        cell([{ output_type: "execute_result", data: { "text/html": "<b/>", "text/plain": "" } }]),
        cell([{ output_type: "display_data", data: { "image/svg+xml": "<svg/>" } }]),
      ],
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.codeCells, 2);
  });

  await t.step("reports failing cells and missing MIME types", () => {
    const report = checkNotebook({
      cells: [cell([{ output_type: "error", ename: "TypeError", evalue: "x is not a function" }])],
    });
    assert.deepEqual(report.problems, [
      "cell 0 (const x = 1;) raised TypeError: x is not a function",
      "no output of MIME type text/html",
      "no output of MIME type image/svg+xml",
    ]);
  });

  await t.step("the tour notebook asks for the Deno kernel and has code cells", async () => {
    const url = new URL("../../examples/notebooks/rbn_tour.ipynb", import.meta.url);
    const nb = JSON.parse(await Deno.readTextFile(url));
    assert.equal(nb.metadata.kernelspec.name, KERNEL_NAME);
    assert.ok(nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code").length >= 5);
    // Graph, schedule, digits, loss curves, diagnostic, histogram and two tensor displays.
    assert.equal(pictureCells(nb).length, 8);
  });

  await t.step("the kernelspec runs this Deno binary's kernel", async () => {
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const path = await writeKernelspec(dir, "/opt/deno");
      assert.equal(path, `${dir}/kernels/${KERNEL_NAME}/kernel.json`);
      const spec = JSON.parse(await Deno.readTextFile(path));
      assert.deepEqual(spec.argv, [
        "/opt/deno",
        "jupyter",
        "--kernel",
        "--conn",
        "{connection_file}",
      ]);
      assert.equal(spec.language, "typescript");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  // A notebook with a markdown cell, a picture cell and a plain cell, and HTML exports of it
  // shaped like nbconvert's lab template (one `jp-Cell` div per cell).
  const drawn = '<svg width="10" height="10"><rect width="5" height="5"/></svg>';
  const pictured = (data: Record<string, string>) => ({
    cell_type: "code",
    metadata: { tags: [PICTURE_TAG] },
    source: "linePlot(series)",
    outputs: [{ output_type: "execute_result", data }],
  });
  const nb = (data: Record<string, string>): Notebook => ({
    cells: [
      { cell_type: "markdown", source: "# title" },
      pictured(data),
      cell([{ output_type: "execute_result", data: { "text/plain": "1" } }]),
    ],
  });
  const exported = (picture: string) =>
    [
      '<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell"><h1>title</h1></div>',
      `<div class="jp-Cell jp-CodeCell jp-Notebook-cell"><div>${picture}</div></div>`,
      '<div class="jp-Cell jp-CodeCell jp-Notebook-cell"><pre>1</pre></div>',
    ].join("\n");

  await t.step("picture cells are the code cells tagged picture", () => {
    assert.deepEqual(pictureCells(nb({ "text/html": drawn })), [1]);
  });

  await t.step("a picture cell needs an SVG output (image/svg+xml, or inline in HTML)", () => {
    assert.deepEqual(checkPictureOutputs(nb({ "image/svg+xml": drawn })), []);
    assert.deepEqual(checkPictureOutputs(nb({ "text/html": `<div>${drawn}</div>` })), []);
    assert.deepEqual(checkPictureOutputs(nb({ "text/plain": "a figure" })), [
      "no picture output in cell 1 (linePlot(series))",
    ]);
  });

  await t.step("the HTML export must show each picture cell with an SVG that draws", () => {
    const book = nb({ "text/html": drawn });
    assert.deepEqual(checkExportedHtml(book, exported(drawn)), []);
    // What nbconvert's sanitizer leaves of an image/svg+xml output: the root, no elements.
    assert.deepEqual(checkExportedHtml(book, exported('<svg width="10" height="10">hi</svg>')), [
      "the HTML export shows 1 of 1 SVG pictures of cell 1 (linePlot(series)) emptied",
    ]);
    assert.deepEqual(checkExportedHtml(book, exported("<pre>a figure</pre>")), [
      "the HTML export shows no <svg> for cell 1 (linePlot(series))",
    ]);
    assert.deepEqual(checkExportedHtml(book, exported(drawn).split("\n")[0]), [
      "the HTML export has 1 cells; the notebook has 3",
    ]);
  });
});
