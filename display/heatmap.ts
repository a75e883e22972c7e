/**
 * Heatmaps of 2-D data (and of stacks of 2-D slices, such as a batch of images) as SVG with
 * the pixels embedded as a PNG, a shared color scale and a color bar.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { escapeXml, formatNumber, SvgFigure } from "./mime.ts";
import { encodePng, toBase64 } from "./png.ts";

/** Viridis, sampled at nine evenly spaced stops. */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

let gradientCount = 0;

/** NaN cells are drawn in this color (outside the colormap). */
const NAN_RGB = [255, 0, 255] as const;

/**
 * The viridis color of `t` in [0, 1] (clamped), as `[r, g, b]` bytes.
 *
 * @example
 * ```ts
 * import { viridis } from "@symgrad/symgrad/display";
 * console.log(viridis(0), viridis(1)); // dark purple, yellow
 * ```
 */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [VIRIDIS[i], VIRIDIS[i + 1]];
  return [0, 1, 2].map((c) => Math.round(a[c] + f * (b[c] - a[c]))) as [number, number, number];
}

/** Options of {@link heatmapSvg} and {@link heatmap}. */
export interface HeatmapOptions {
  /** Value drawn at the bottom of the color scale (default: the smallest finite value shown). */
  min?: number;
  /** Value drawn at the top of the color scale (default: the largest finite value shown). */
  max?: number;
  /** Most 2-D slices drawn for a stack (default 16). */
  maxTiles?: number;
  /** Largest drawn size of one tile side in pixels (default 240 for one tile, 96 for many). */
  tileSize?: number;
  /** A caption above the picture. */
  title?: string;
}

/** Block-averages an `h×w` slice so that neither side exceeds `limit` cells. */
function downsample(
  data: ArrayLike<number>,
  offset: number,
  h: number,
  w: number,
  limit: number,
): { cells: Float64Array; h: number; w: number } {
  const f = Math.max(1, Math.ceil(Math.max(h, w) / limit));
  const oh = Math.ceil(h / f), ow = Math.ceil(w / f);
  const cells = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let sum = 0, n = 0;
      for (let dy = 0; dy < f && y * f + dy < h; dy++) {
        for (let dx = 0; dx < f && x * f + dx < w; dx++) {
          sum += data[offset + (y * f + dy) * w + x * f + dx];
          n++;
        }
      }
      cells[y * ow + x] = sum / n;
    }
  }
  return { cells, h: oh, w: ow };
}

/**
 * An SVG heatmap of row-major `data` of `shape` (rank >= 2): the last two axes are the rows and
 * columns of one tile; leading axes enumerate tiles, drawn in a grid on a shared color scale.
 *
 * @example
 * ```ts
 * import { heatmapSvg } from "@symgrad/symgrad/display";
 * const svg = heatmapSvg([0, 1, 2, 3], [2, 2]);
 * console.log(svg.startsWith("<svg")); // true
 * ```
 */
export function heatmapSvg(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts: HeatmapOptions = {},
): string {
  if (shape.length < 2) {
    throw new Error(`heatmap: expected a shape of rank >= 2, got [${shape.join(", ")}]`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size || size === 0) {
    throw new Error(
      `heatmap: ${data.length} values for shape [${shape.join(", ")}]; expected ${size} (> 0)`,
    );
  }
  const [h, w] = shape.slice(-2);
  const total = size / (h * w);
  const count = Math.min(total, opts.maxTiles ?? 16);
  const tiles = Array.from({ length: count }, (_, i) => downsample(data, i * h * w, h, w, 256));
  let lo = opts.min ?? Infinity, hi = opts.max ?? -Infinity;
  if (opts.min === undefined || opts.max === undefined) {
    for (const t of tiles) {
      for (const v of t.cells) {
        if (!Number.isFinite(v)) continue;
        if (opts.min === undefined) lo = Math.min(lo, v);
        if (opts.max === undefined) hi = Math.max(hi, v);
      }
    }
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) lo = 0, hi = 1;
  const span = hi > lo ? hi - lo : 1;
  const side = opts.tileSize ?? (count === 1 ? 240 : 96);
  const scale = side / Math.max(h, w);
  const tw = Math.max(1, Math.round(w * scale)), th = Math.max(1, Math.round(h * scale));
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const gap = 6, top = opts.title ? 22 : 4, barW = 12;
  const gridW = cols * tw + (cols - 1) * gap;
  const width = gridW + 16 + barW + 70;
  const height = Math.max(top + rows * th + (rows - 1) * gap + 4, top + 60);
  const images = tiles.map((t, i) => {
    const rgb = new Uint8Array(t.h * t.w * 3);
    t.cells.forEach((v, j) => rgb.set(Number.isNaN(v) ? NAN_RGB : viridis((v - lo) / span), j * 3));
    const x = (i % cols) * (tw + gap), y = top + Math.floor(i / cols) * (th + gap);
    return `<image x="${x}" y="${y}" width="${tw}" height="${th}" preserveAspectRatio="none" ` +
      `style="image-rendering:pixelated" href="data:image/png;base64,${
        toBase64(encodePng(rgb, t.w, t.h))
      }"/>`;
  });
  const barH = height - top - 4;
  const stops = Array.from({ length: 9 }, (_, i) => {
    const [r, g, b] = viridis(1 - i / 8);
    return `<stop offset="${i / 8}" stop-color="rgb(${r},${g},${b})"/>`;
  }).join("");
  const bx = gridW + 16;
  // Inline SVGs share one HTML id space: each color bar gets its own gradient id.
  const gradientId = `symgrad-cbar-${++gradientCount}`;
  const note = total > count ? ` (first ${count} of ${total} slices)` : "";
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    opts.title || note
      ? `<text x="0" y="14" font-size="12">${escapeXml((opts.title ?? "") + note)}</text>`
      : "",
    ...images,
    `<defs><linearGradient id="${gradientId}" x1="0" y1="0" x2="0" y2="1">${stops}</linearGradient></defs>`,
    `<rect x="${bx}" y="${top}" width="${barW}" height="${barH}" fill="url(#${gradientId})"/>`,
    `<text x="${bx + barW + 4}" y="${top + 10}">${escapeXml(formatNumber(hi))}</text>`,
    `<text x="${bx + barW + 4}" y="${top + barH}">${escapeXml(formatNumber(lo))}</text>`,
    `</svg>`,
  ].join("\n");
}

/**
 * Realizes `t` (rank >= 2) and draws it as a heatmap figure (see {@link heatmapSvg}).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { heatmap } from "@symgrad/symgrad/display";
 * const fig = await heatmap(Tensor.arange(12).reshape([3, 4]), { title: "arange" });
 * console.log(fig.toString());
 * ```
 */
export async function heatmap(t: Tensor, opts: HeatmapOptions = {}): Promise<SvgFigure> {
  const data = await t.data();
  const title = opts.title ?? `heatmap of ${t.dtype}[${t.shape.join(", ")}]`;
  return new SvgFigure(heatmapSvg(data, t.shape, opts), title);
}
