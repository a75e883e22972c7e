/**
 * Plots as standalone SVG, drawn by Observable Plot with linkedom as the DOM (no browser or
 * canvas): {@link plot} takes any Plot specification; {@link linePlot} (training curves) and
 * {@link histogram} are shorthands for the common cases.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";
import { escapeXml, SvgFigure } from "./mime.ts";

/** The part of a DOM element that turning Plot's output into SVG reads and writes. */
interface Element {
  readonly tagName: string;
  readonly children: ArrayLike<Element>;
  readonly textContent: string | null;
  readonly outerHTML: string;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  querySelector(selector: string): Element | null;
}

let dom: unknown;

/** A server-side document for Plot to build its elements in (one per process). */
function plotDocument(): unknown {
  // linkedom's types describe a browser window, which Deno's declarations do not have.
  dom ??= (parseHTML("<!DOCTYPE html><html><body></body></html>") as { document?: unknown })
    .document;
  return dom;
}

const SVG_NS = "http://www.w3.org/2000/svg";
/** Rough advance of one character of Plot's 10 px sans-serif text, for laying out legends. */
const CHAR_WIDTH = 6;
// Text is measured by these averages (no fonts on the server); the picture grows to fit.

/**
 * Plot's output as one SVG document. A plot with a title, subtitle, caption or legend comes
 * back as an HTML `<figure>`; its parts are redrawn as SVG text and swatches above and below
 * the plot's own `<svg>`, which is nested unchanged.
 */
function toSvg(node: Element, fallbackWidth: number): string {
  if (node.tagName.toLowerCase() === "svg") {
    node.setAttribute("xmlns", SVG_NS);
    return node.outerHTML;
  }
  const parts: string[] = [];
  let y = 0, width = 0;
  const text = (s: string, size: number, weight = "normal") => {
    y += size + 6;
    width = Math.max(width, 4 + s.length * size * (weight === "bold" ? 0.62 : 0.56));
    parts.push(
      `<text x="2" y="${y - 4}" font-size="${size}" font-weight="${weight}">${escapeXml(s)}</text>`,
    );
  };
  const pending: (() => void)[] = []; // drawn once the width is known
  for (const child of Array.from(node.children)) {
    const tag = child.tagName.toLowerCase();
    if (tag === "h2") text(child.textContent ?? "", 14, "bold");
    else if (tag === "h3") text(child.textContent ?? "", 12);
    else if (tag === "figcaption") pending.push(() => text(child.textContent ?? "", 11));
    else if (tag === "svg") {
      const w = Number(child.getAttribute("width") ?? fallbackWidth);
      const h = Number(child.getAttribute("height") ?? 0);
      // Plot's stylesheet sizes its root with `height: auto`; pin the size of the nested copy.
      child.setAttribute("style", `width:${w}px;height:${h}px;max-width:none`);
      child.setAttribute("x", "0");
      child.setAttribute("y", String(y));
      parts.push(child.outerHTML);
      y += h;
      width = Math.max(width, w);
    } else if (tag === "div" && (child.getAttribute("class") ?? "").includes("swatches")) {
      const swatches = Array.from(child.children).filter((s) => s.tagName.toLowerCase() === "span");
      let x = 0;
      y += 4;
      for (const s of swatches) {
        const mark = s.querySelector("svg");
        const color = mark?.getAttribute("fill") ?? mark?.getAttribute("stroke") ?? "currentColor";
        const label = s.textContent ?? "";
        const step = 15 + 6 + label.length * CHAR_WIDTH + 14;
        if (x > 0 && x + step > Math.max(width, fallbackWidth)) x = 0, y += 20;
        parts.push(
          `<rect x="${x}" y="${y}" width="15" height="15" fill="${escapeXml(color)}"/>`,
          `<text x="${x + 21}" y="${y + 11}" font-size="10">${escapeXml(label)}</text>`,
        );
        x += step;
      }
      y += 24;
    } else {
      throw new Error(`plot: cannot draw a <${tag}> of Plot's figure as SVG`);
    }
  }
  for (const draw of pending) draw();
  width = Math.max(width, fallbackWidth);
  return `<svg xmlns="${SVG_NS}" width="${width}" height="${y}" viewBox="0 0 ${width} ${y}" ` +
    `font-family="system-ui, sans-serif" fill="currentColor">` +
    `<rect width="100%" height="100%" fill="white"/>${parts.join("")}</svg>`;
}

/**
 * Draws any Observable Plot specification as an SVG figure that renders itself in Jupyter.
 * Marks come from Plot itself (`import * as Plot from "npm:@observablehq/plot"`); titles,
 * captions and color legends are drawn into the SVG too.
 *
 * @param options a Plot specification, as for `Plot.plot` (its `document` is supplied here).
 * @param title the figure's one-line description (default: the specification's `title`).
 *
 * @example Grouped bars
 * ```ts
 * import * as Plot from "npm:@observablehq/plot@^0.6.17";
 * import { plot } from "@symgrad/symgrad/display";
 * const rows = [
 *   { layer: "norm1", norm: "BN", std: 0.11 },
 *   { layer: "norm1", norm: "RBN", std: 0.08 },
 * ];
 * const fig = plot({
 *   title: "spread of instance means",
 *   fx: { label: null },
 *   marks: [Plot.barY(rows, { fx: "layer", x: "norm", y: "std", fill: "norm" })],
 * });
 * console.log(fig.toString(), fig.svg.startsWith("<svg")); // spread of instance means true
 * ```
 */
export function plot(options: Plot.PlotOptions, title?: string): SvgFigure {
  const node = Plot.plot({ ...options, document: plotDocument() as never }) as unknown as Element;
  const description = title ?? (typeof options.title === "string" ? options.title : "plot");
  return new SvgFigure(toSvg(node, options.width ?? 640), description);
}

/** One curve of a line plot. */
export interface Series {
  /** Legend entry. */
  name: string;
  /** The values. */
  y: ArrayLike<number>;
  /** The abscissae (default `1, 2, …`, e.g. epochs). */
  x?: ArrayLike<number>;
}

/** Options shared by {@link linePlot} and {@link histogram}. */
export interface PlotOptions {
  /** Caption above the plot. */
  title?: string;
  /** Label of the horizontal axis. */
  xLabel?: string;
  /** Label of the vertical axis. */
  yLabel?: string;
  /** Width in pixels (default 560). */
  width?: number;
  /** Height in pixels of the plot area and axes (default 320). */
  height?: number;
}

/** The Plot options that {@link PlotOptions} stand for. */
function frame(opts: PlotOptions, names: readonly string[]): Plot.PlotOptions {
  return {
    title: opts.title,
    width: opts.width ?? 560,
    height: opts.height ?? 320,
    x: { label: opts.xLabel ?? null },
    y: { label: opts.yLabel ?? null, grid: true },
    color: { domain: names, legend: names.length > 1 },
  };
}

/**
 * A line plot of one or more series (non-finite points break a line), with dots on each point
 * of series of at most 50 points and a legend for several series.
 *
 * @example
 * ```ts
 * import { linePlot } from "@symgrad/symgrad/display";
 * const fig = linePlot([{ name: "loss", y: [2.3, 1.1, 0.7] }], { xLabel: "epoch" });
 * console.log(fig.svg.includes("<path")); // true
 * ```
 */
export function linePlot(series: readonly Series[], opts: PlotOptions = {}): SvgFigure {
  if (series.length === 0) throw new Error("linePlot: expected at least one series");
  const rows = series.flatMap((s) => {
    const xs = s.x ?? Array.from({ length: s.y.length }, (_, i) => i + 1);
    if (xs.length !== s.y.length) {
      throw new Error(
        `linePlot: series ${JSON.stringify(s.name)} has ${xs.length} x values and ` +
          `${s.y.length} y values; expected equal lengths`,
      );
    }
    // Plot leaves a gap at a NaN; infinities would stretch the scale instead.
    const finite = (v: number) => (Number.isFinite(v) ? v : NaN);
    return Array.from(s.y, (y, i) => ({ series: s.name, x: finite(xs[i]), y: finite(y) }));
  });
  const names = series.map((s) => s.name);
  const dotted = rows.filter((r) => series.find((s) => s.name === r.series)!.y.length <= 50);
  return plot(
    {
      ...frame(opts, names),
      marks: [
        Plot.lineY(rows, { x: "x", y: "y", stroke: "series", strokeWidth: 2 }),
        Plot.dot(dotted, { x: "x", y: "y", fill: "series", r: 2.5 }),
      ],
    },
    opts.title ?? `line plot of ${names.join(", ")}`,
  );
}

/** One data set of a histogram. */
export interface HistogramSeries {
  /** Legend entry. */
  name: string;
  /** The samples (non-finite ones are skipped). */
  values: ArrayLike<number>;
}

/** Options of {@link histogram}. */
export interface HistogramOptions extends PlotOptions {
  /** Number of equal-width bins over the range of all data sets (default 30). */
  bins?: number;
}

/**
 * A histogram of one or more data sets over shared equal-width bins, overlaid and translucent.
 *
 * @example
 * ```ts
 * import { histogram } from "@symgrad/symgrad/display";
 * const fig = histogram([{ name: "x", values: [1, 2, 2, 3, 3, 3] }], { bins: 3 });
 * console.log(fig.svg.includes("<rect")); // true
 * ```
 */
export function histogram(
  data: readonly HistogramSeries[],
  opts: HistogramOptions = {},
): SvgFigure {
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  }
  if (data.length === 0) throw new Error("histogram: expected at least one data set");
  const rows = data.flatMap((d) =>
    Array.from(d.values).filter(Number.isFinite).map((value) => ({ series: d.name, value }))
  );
  let lo = Math.min(...rows.map((r) => r.value)), hi = Math.max(...rows.map((r) => r.value));
  if (!(hi > lo)) lo = (Number.isFinite(lo) ? lo : 0) - 0.5, hi = lo + 1;
  const thresholds = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  // The last bin is closed on the right, so the largest sample falls inside it.
  thresholds[bins] = hi + (hi - lo) * 1e-9;
  const names = data.map((d) => d.name);
  return plot(
    {
      ...frame({ yLabel: "count", ...opts }, names),
      x: { label: opts.xLabel ?? null, domain: [lo, hi] },
      marks: [
        // y2 instead of y: the data sets overlap rather than stack.
        Plot.rectY(
          rows,
          Plot.binX<Plot.RectYOptions>({ y2: "count" }, {
            x: "value",
            fill: "series",
            thresholds,
            fillOpacity: data.length > 1 ? 0.55 : 0.85,
            inset: 0.5,
          }),
        ),
        Plot.ruleY([0]),
      ],
    },
    opts.title ?? `histogram of ${names.join(", ")}`,
  );
}
