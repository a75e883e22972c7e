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
 * The SVG without an XML declaration or DOCTYPE in front, so that it can be inlined in HTML:
 * nbconvert's HTML export parses `image/svg+xml` outputs with lxml, which rejects a declaration
 * that names an encoding.
 *
 * @example
 * ```ts
 * import { svgFragment } from "@symgrad/symgrad/display";
 * console.log(svgFragment('<?xml version="1.0" encoding="UTF-8"?>\n<svg/>')); // <svg/>
 * ```
 */
export function svgFragment(svg: string): string {
  return svg.replace(/^\s*<\?xml[^>]*\?>\s*/, "").replace(/^\s*<!DOCTYPE[^>]*>\s*/i, "");
}

/**
 * The `text/html` form of an SVG picture: inlined, in a box that scrolls when the picture is
 * wider than the page (a notebook shows it at its own size instead of shrinking it).
 *
 * HTML exporters pass `text/html` through unchanged by default, while nbconvert's HTML export
 * cleans `image/svg+xml` outputs with an HTML sanitizer that strips every SVG element; front ends
 * that prefer HTML show this form.
 *
 * @example
 * ```ts
 * import { svgHtml } from "@symgrad/symgrad/display";
 * console.log(svgHtml("<svg/>")); // <div style="max-width:100%;overflow:auto"><svg/></div>
 * ```
 */
export function svgHtml(svg: string): string {
  return `<div style="max-width:100%;overflow:auto">${svgFragment(svg)}</div>`;
}

/**
 * An SVG picture that renders itself in Jupyter (as `image/svg+xml` and as inline SVG in
 * `text/html`, see {@link svgHtml}) and prints its title in a terminal.
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

  /** Wraps an SVG document (less any XML declaration or DOCTYPE) and its description. */
  constructor(svg: string, title: string) {
    this.svg = svgFragment(svg);
    this.title = title;
  }

  /** The MIME bundle: `image/svg+xml`, `text/html` and `text/plain`. */
  toMimeBundle(): MimeBundle {
    return { "image/svg+xml": this.svg, "text/html": svgHtml(this.svg), "text/plain": this.title };
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
