/**
 * Line plots (training curves) and histograms as standalone SVG, with no browser or canvas.
 *
 * @module
 */

import { escapeXml, formatNumber, SvgFigure } from "./mime.ts";

/** Ten distinguishable colors (the Tableau 10 palette). */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#e15759",
  "#76b7b2",
  "#59a14f",
  "#edc948",
  "#b07aa1",
  "#ff9da7",
  "#9c755f",
  "#bab0ac",
];

/** One curve of a line plot. */
export interface Series {
  /** Legend entry. */
  name: string;
  /** The values. */
  y: ArrayLike<number>;
  /** The abscissae (default `1, 2, …`, e.g. epochs). */
  x?: ArrayLike<number>;
}

/** Options shared by the plots. */
export interface PlotOptions {
  /** Caption above the plot. */
  title?: string;
  /** Label of the horizontal axis. */
  xLabel?: string;
  /** Label of the vertical axis. */
  yLabel?: string;
  /** Width in pixels (default 560). */
  width?: number;
  /** Height in pixels (default 320). */
  height?: number;
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 times a power of 10). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  return ticks;
}

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
  parts: string[];
}

/** The axes, ticks, grid and labels around a plot area covering the given data ranges. */
function frame(
  [x0, x1]: [number, number],
  [y0, y1]: [number, number],
  opts: PlotOptions,
  legendWidth: number,
): Frame {
  const width = opts.width ?? 560, height = opts.height ?? 320;
  const left = 56, right = width - 12 - legendWidth;
  const top = opts.title ? 28 : 12, bottom = height - (opts.xLabel ? 40 : 26);
  if (x1 === x0) x0 -= 0.5, x1 += 0.5;
  if (y1 === y0) y0 -= Math.abs(y0) * 0.1 || 0.5, y1 += Math.abs(y1) * 0.1 || 0.5;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const sy = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (opts.title) {
    parts.push(
      `<text x="${(left + right) / 2}" y="18" text-anchor="middle" font-size="13">${
        escapeXml(opts.title)
      }</text>`,
    );
  }
  for (const v of niceTicks(y0, y1)) {
    const y = sy(v).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${right}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`,
      `<text x="${left - 4}" y="${y}" text-anchor="end" dy="0.32em">${formatNumber(v)}</text>`,
    );
  }
  for (const v of niceTicks(x0, x1, Math.max(2, Math.floor((right - left) / 70)))) {
    const x = sx(v).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${bottom}" y2="${bottom + 4}" stroke="#333"/>`,
      `<text x="${x}" y="${bottom + 15}" text-anchor="middle">${formatNumber(v)}</text>`,
    );
  }
  parts.push(
    `<polyline points="${left},${top} ${left},${bottom} ${right},${bottom}" fill="none" ` +
      `stroke="#333"/>`,
  );
  if (opts.xLabel) {
    parts.push(
      `<text x="${(left + right) / 2}" y="${height - 8}" text-anchor="middle">${
        escapeXml(opts.xLabel)
      }</text>`,
    );
  }
  if (opts.yLabel) {
    parts.push(
      `<text transform="translate(14 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">${
        escapeXml(opts.yLabel)
      }</text>`,
    );
  }
  return { width, height, left, right, top, bottom, sx, sy, parts };
}

function legend(f: Frame, names: string[]): string[] {
  return names.flatMap((name, i) => {
    const y = f.top + 6 + i * 16;
    return [
      `<rect x="${f.right + 10}" y="${y - 5}" width="12" height="10" fill="${
        PALETTE[i % PALETTE.length]
      }"/>`,
      `<text x="${f.right + 26}" y="${y}" dy="0.32em">${escapeXml(name)}</text>`,
    ];
  });
}

function legendWidth(names: string[]): number {
  return names.length > 1 ? 30 + 6.5 * Math.max(...names.map((n) => n.length)) : 0;
}

function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) lo = Math.min(lo, v), hi = Math.max(hi, v);
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/**
 * A line plot of one or more series (non-finite points break a line) as an SVG document.
 *
 * @example
 * ```ts
 * import { linePlotSvg } from "@symgrad/symgrad/display";
 * const svg = linePlotSvg([{ name: "loss", y: [2.3, 1.1, 0.7] }], { xLabel: "epoch" });
 * console.log(svg.includes("polyline")); // true
 * ```
 */
export function linePlotSvg(series: readonly Series[], opts: PlotOptions = {}): string {
  if (series.length === 0) throw new Error("linePlot: expected at least one series");
  const xsOf = (s: Series) => s.x ?? Array.from({ length: s.y.length }, (_, i) => i + 1);
  for (const s of series) {
    if (xsOf(s).length !== s.y.length) {
      throw new Error(
        `linePlot: series ${JSON.stringify(s.name)} has ${xsOf(s).length} x values and ` +
          `${s.y.length} y values; expected equal lengths`,
      );
    }
  }
  const names = series.map((s) => s.name);
  const f = frame(
    extent(series.flatMap((s) => Array.from(xsOf(s)))),
    extent(series.flatMap((s) => Array.from(s.y))),
    opts,
    legendWidth(names),
  );
  series.forEach((s, i) => {
    const xs = xsOf(s);
    const color = PALETTE[i % PALETTE.length];
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) {
        f.parts.push(
          `<polyline points="${run.join(" ")}" fill="none" stroke="${color}" stroke-width="2"/>`,
        );
      }
      run = [];
    };
    for (let j = 0; j < s.y.length; j++) {
      if (Number.isFinite(s.y[j]) && Number.isFinite(xs[j])) {
        run.push(`${f.sx(xs[j]).toFixed(1)},${f.sy(s.y[j]).toFixed(1)}`);
      } else flush();
    }
    if (s.y.length <= 50) {
      for (let j = 0; j < s.y.length; j++) {
        if (!Number.isFinite(s.y[j])) continue;
        f.parts.push(
          `<circle cx="${f.sx(xs[j]).toFixed(1)}" cy="${
            f.sy(s.y[j]).toFixed(1)
          }" r="2.5" fill="${color}"/>`,
        );
      }
    }
    flush();
  });
  if (names.length > 1) f.parts.push(...legend(f, names));
  f.parts.push("</svg>");
  return f.parts.join("\n");
}

/** A line plot figure (see {@link linePlotSvg}) that renders itself in Jupyter. */
export function linePlot(series: readonly Series[], opts: PlotOptions = {}): SvgFigure {
  return new SvgFigure(
    linePlotSvg(series, opts),
    opts.title ?? `line plot of ${series.map((s) => s.name).join(", ")}`,
  );
}

/** One data set of a histogram. */
export interface HistogramSeries {
  /** Legend entry. */
  name: string;
  /** The samples (non-finite ones are skipped). */
  values: ArrayLike<number>;
}

/** Options of {@link histogramSvg}. */
export interface HistogramOptions extends PlotOptions {
  /** Number of equal-width bins over the range of all data sets (default 30). */
  bins?: number;
}

/**
 * A histogram of one or more data sets over shared bins (overlaid, translucent) as SVG.
 *
 * @example
 * ```ts
 * import { histogramSvg } from "@symgrad/symgrad/display";
 * const svg = histogramSvg([{ name: "x", values: [1, 2, 2, 3, 3, 3] }], { bins: 3 });
 * console.log(svg.includes("<rect")); // true
 * ```
 */
export function histogramSvg(
  data: readonly HistogramSeries[],
  opts: HistogramOptions = {},
): string {
  const bins = opts.bins ?? 30;
  if (!Number.isInteger(bins) || bins < 1) {
    throw new Error(`histogram: bins must be a positive integer, got ${bins}`);
  }
  if (data.length === 0) throw new Error("histogram: expected at least one data set");
  let [lo, hi] = extent(data.flatMap((d) => Array.from(d.values)));
  if (hi === lo) lo -= 0.5, hi += 0.5;
  const width = (hi - lo) / bins;
  const counts = data.map((d) => {
    const c = new Array<number>(bins).fill(0);
    for (let i = 0; i < d.values.length; i++) {
      const v = d.values[i];
      if (Number.isFinite(v)) c[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
    }
    return c;
  });
  const names = data.map((d) => d.name);
  const f = frame(
    [lo, hi],
    [0, Math.max(1, ...counts.flat())],
    { yLabel: "count", ...opts },
    legendWidth(names),
  );
  counts.forEach((c, i) => {
    const color = PALETTE[i % PALETTE.length];
    c.forEach((n, b) => {
      if (n === 0) return;
      const x = f.sx(lo + b * width), x2 = f.sx(lo + (b + 1) * width), y = f.sy(n);
      f.parts.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(x2 - x).toFixed(1)}" ` +
          `height="${(f.bottom - y).toFixed(1)}" fill="${color}" fill-opacity="${
            data.length > 1 ? 0.55 : 0.85
          }" stroke="white" stroke-width="0.5"/>`,
      );
    });
  });
  if (names.length > 1) f.parts.push(...legend(f, names));
  f.parts.push("</svg>");
  return f.parts.join("\n");
}

/** A histogram figure (see {@link histogramSvg}) that renders itself in Jupyter. */
export function histogram(
  data: readonly HistogramSeries[],
  opts: HistogramOptions = {},
): SvgFigure {
  return new SvgFigure(
    histogramSvg(data, opts),
    opts.title ?? `histogram of ${data.map((d) => d.name).join(", ")}`,
  );
}
