/**
 * Checks that the pictures of an executed notebook survive `jupyter nbconvert --to html`: every
 * code cell tagged `picture` (cell metadata `tags`) must have an output holding an SVG, and the
 * exported HTML must show that cell with an SVG that still draws something. nbconvert's HTML
 * export once crashed on the XML declaration Graphviz writes, and its sanitizer strips every
 * element out of `image/svg+xml` outputs (only `text/html` is passed through unchanged).
 *
 * @module
 */

import type { Notebook } from "./check_outputs.ts";

/** The cell tag that marks a cell whose output is a picture. */
export const PICTURE_TAG = "picture";

type Cell = Notebook["cells"][number] & { metadata?: { tags?: string[] } };
type Output = NonNullable<Cell["outputs"]>[number];

function text(s: unknown): string {
  return Array.isArray(s) ? s.join("") : typeof s === "string" ? s : "";
}

function firstLine(cell: Cell): string {
  return text(cell.source).split("\n")[0];
}

/** Whether an output carries a picture: an `image/svg+xml` form or inline SVG in `text/html`. */
export function hasPicture(out: Output): boolean {
  const data = out.data ?? {};
  return "image/svg+xml" in data || /<svg\b/.test(text(data["text/html"]));
}

/** Indices of the code cells tagged {@link PICTURE_TAG}. */
export function pictureCells(nb: Notebook): number[] {
  return (nb.cells as Cell[]).flatMap((c, i) =>
    c.cell_type === "code" && (c.metadata?.tags ?? []).includes(PICTURE_TAG) ? [i] : []
  );
}

/** Problems: picture cells of an executed notebook without a picture output. */
export function checkPictureOutputs(nb: Notebook): string[] {
  return pictureCells(nb).flatMap((i) => {
    const cell = nb.cells[i] as Cell;
    return (cell.outputs ?? []).some(hasPicture)
      ? []
      : [`no picture output in cell ${i} (${firstLine(cell)})`];
  });
}

/** The exported HTML of each cell, in notebook order (nbconvert's lab template). */
export function htmlCells(html: string): string[] {
  return html.split(/<div\s+class="jp-Cell\s/).slice(1);
}

/** The `<svg …>…</svg>` elements of an HTML text. */
function svgElements(html: string): string[] {
  return [...html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((m) => m[0]);
}

const DRAWING = /<(path|rect|polygon|polyline|circle|ellipse|line|text|image)\b/;

/** Problems: picture cells that the exported HTML shows without an SVG that draws. */
export function checkExportedHtml(nb: Notebook, html: string): string[] {
  const chunks = htmlCells(html);
  if (chunks.length !== nb.cells.length) {
    return [`the HTML export has ${chunks.length} cells; the notebook has ${nb.cells.length}`];
  }
  return pictureCells(nb).flatMap((i) => {
    const svgs = svgElements(chunks[i]);
    const where = `cell ${i} (${firstLine(nb.cells[i] as Cell)})`;
    if (svgs.length === 0) return [`the HTML export shows no <svg> for ${where}`];
    const blank = svgs.filter((s) => !DRAWING.test(s)).length;
    return blank > 0
      ? [`the HTML export shows ${blank} of ${svgs.length} SVG pictures of ${where} emptied`]
      : [];
  });
}

/**
 * Exports the executed notebook at `path` to HTML with nbconvert, into `outDir`; returns the HTML
 * or the tail of nbconvert's log when it failed.
 */
export async function exportHtml(
  jupyter: string,
  path: string,
  outDir: string,
): Promise<{ html: string } | { error: string }> {
  const run = await new Deno.Command(jupyter, {
    args: ["nbconvert", "--to", "html", "--output-dir", outDir, path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!run.success) {
    const log = new TextDecoder().decode(run.stderr).trim().split("\n").slice(-8).join("\n");
    return { error: `nbconvert --to html exited with ${run.code}:\n${log}` };
  }
  const name = path.split("/").pop()!.replace(/\.ipynb$/, ".html");
  return { html: await Deno.readTextFile(`${outDir}/${name}`) };
}
