/**
 * MIME bundles for Jupyter front ends, and a displayable SVG figure.
 *
 * Deno's Jupyter kernel shows any value with a `[Symbol.for("Jupyter.display")]()` method by
 * the MIME bundle that method returns (it may return a promise).
 *
 * @module
 */

/** The symbol Deno's Jupyter kernel looks up to render a value richly. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle: representations of one value keyed by MIME type. */
export type MimeBundle = Record<string, string>;

/** Escapes `&`, `<`, `>` and quotes for XML/HTML text and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A short, readable number: integers as they are (below 1e6), other values with 4 significant
 * digits, exponent notation for very small or large magnitudes; NaN and ±Infinity by name.
 *
 * @example
 * ```ts
 * import { formatNumber } from "@symgrad/symgrad/display";
 * console.log(formatNumber(Math.PI), formatNumber(1e-7), formatNumber(42)); // 3.142 1.000e-7 42
 * ```
 */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (Number.isInteger(v) && Math.abs(v) < 1e6) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}

/**
 * An SVG picture that renders itself in Jupyter (as `image/svg+xml`) and prints its title in a
 * terminal.
 *
 * @example
 * ```ts
 * import { SvgFigure } from "@symgrad/symgrad/display";
 * const fig = new SvgFigure('<svg xmlns="http://www.w3.org/2000/svg"/>', "empty");
 * console.log(fig.toString()); // empty
 * ```
 */
export class SvgFigure {
  /** The SVG document. */
  readonly svg: string;
  /** A one-line description, the `text/plain` form. */
  readonly title: string;

  /** Wraps an SVG document and its one-line description. */
  constructor(svg: string, title: string) {
    this.svg = svg;
    this.title = title;
  }

  /** The MIME bundle: `image/svg+xml` and `text/plain`. */
  toMimeBundle(): MimeBundle {
    return { "image/svg+xml": this.svg, "text/plain": this.title };
  }

  /** Called by Deno's Jupyter kernel. */
  [JUPYTER_DISPLAY](): MimeBundle {
    return this.toMimeBundle();
  }

  /** The description. */
  toString(): string {
    return this.title;
  }

  /** Writes the SVG document to `path` (in Deno; elsewhere it throws). */
  async save(path: string | URL): Promise<void> {
    await denoFiles("SvgFigure.save").writeTextFile(path, this.svg);
  }
}

/** The part of Deno's API that saving uses, typed here so browser builds need no Deno types. */
interface DenoFiles {
  writeTextFile(path: string | URL, data: string): Promise<void>;
}

function denoFiles(op: string): DenoFiles {
  const deno = (globalThis as { Deno?: DenoFiles }).Deno;
  if (deno === undefined) {
    throw new Error(`${op}: writing files needs the Deno runtime; no Deno global was found`);
  }
  return deno;
}
