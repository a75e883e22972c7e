/**
 * Checks an executed notebook: no cell raised, and the outputs together contain the expected
 * MIME types.
 *
 * @module
 */

/** The MIME types every notebook must produce somewhere in its outputs. */
export const REQUIRED_MIME_TYPES: readonly string[] = [
  "text/html",
  "image/svg+xml",
];

/** The part of an nbformat v4 notebook that the check reads. */
export interface Notebook {
  /** The cells. */
  cells: {
    cell_type: string;
    source: string | string[];
    outputs?: {
      output_type: string;
      data?: Record<string, unknown>;
      ename?: string;
      evalue?: string;
      name?: string;
      text?: string | string[];
    }[];
  }[];
}

/** What an executed notebook produced. */
export interface NotebookReport {
  /** Problems found (empty when the notebook passes). */
  problems: string[];
  /** MIME types seen in display data and execution results. */
  mimeTypes: Set<string>;
  /** Number of code cells. */
  codeCells: number;
}

function text(s: string | string[] | undefined): string {
  return Array.isArray(s) ? s.join("") : s ?? "";
}

/** Checks an executed notebook against {@link REQUIRED_MIME_TYPES} (or `required`). */
export function checkNotebook(
  nb: Notebook,
  required: readonly string[] = REQUIRED_MIME_TYPES,
): NotebookReport {
  const problems: string[] = [];
  const mimeTypes = new Set<string>();
  let codeCells = 0;
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    codeCells++;
    const first = text(cell.source).split("\n")[0];
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") {
        problems.push(
          `cell ${i} (${first}) raised ${out.ename}: ${out.evalue}`,
        );
      }
      if (
        out.output_type === "stream" && out.name === "stderr" &&
        /error/i.test(text(out.text))
      ) {
        problems.push(
          `cell ${i} (${first}) wrote an error to stderr: ${text(out.text).trim()}`,
        );
      }
      for (const mime of Object.keys(out.data ?? {})) mimeTypes.add(mime);
    }
  });
  for (const mime of required) {
    if (!mimeTypes.has(mime)) problems.push(`no output of MIME type ${mime}`);
  }
  return { problems, mimeTypes, codeCells };
}
