/**
 * The rich display of a tensor: a MIME bundle with dtype, shape, backend, summary statistics,
 * the values (summarized when large) and, for 2-D or image-like data, a heatmap.
 *
 * @module
 */

import type { Tensor } from "../core/tensor.ts";
import { formatValues } from "./format_values.ts";
import { heatmapSvg } from "./heatmap.ts";
import { escapeXml, formatNumber, type MimeBundle } from "./mime.ts";
import { type SummaryStats, summaryStats } from "./stats.ts";

/** Whether the last two axes look like an image (both longer than 1). */
function isImageLike(shape: readonly number[]): boolean {
  return shape.length >= 2 && shape[shape.length - 1] > 1 && shape[shape.length - 2] > 1;
}

function statsRows(s: SummaryStats): [string, string][] {
  return [
    ["min", formatNumber(s.min)],
    ["max", formatNumber(s.max)],
    ["mean", formatNumber(s.mean)],
    ["std", formatNumber(s.std)],
    ["NaN", String(s.nanCount)],
    ...(s.infCount > 0 ? [["±Inf", String(s.infCount)] as [string, string]] : []),
  ];
}

/**
 * The MIME bundle of a tensor (`text/plain` and `text/html`). A lazy tensor is realized first,
 * on its own backend (asynchronously, so WebGPU works too).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { tensorMimeBundle } from "@symgrad/symgrad/display";
 * const bundle = await tensorMimeBundle(Tensor.from([[1, 2], [3, 4]]).mul(2));
 * console.log(bundle["text/plain"]);
 * ```
 */
export async function tensorMimeBundle(t: Tensor): Promise<MimeBundle> {
  const data = await t.data();
  const numeric = t.dtype === "bool" ? Float64Array.from(data, (v) => (v ? 1 : 0)) : data;
  const stats = summaryStats(numeric);
  const header = `Tensor ${t.dtype}[${t.shape.join(", ")}] on ${t.backend}`;
  // Integers print in full: an index or a count rounded to 4 digits would be a different one.
  const format = t.dtype === "bool"
    ? (v: number) => (v ? "true" : "false")
    : t.dtype === "int32"
    ? String
    : formatNumber;
  const values = formatValues(numeric, t.shape, { format });
  const rows = statsRows(stats);
  const plain = `${header}\n${rows.map(([k, v]) => `${k}=${v}`).join(" ")}\n${values}`;
  const cell = "padding:1px 8px;text-align:left";
  const table = [
    ["dtype", t.dtype],
    ["shape", `[${t.shape.join(", ")}]`],
    ["backend", t.backend],
    ...rows,
  ].map(([k, v]) =>
    `<tr><th style="${cell}">${k}</th><td style="${cell}">${escapeXml(v)}</td></tr>`
  )
    .join("");
  const picture = isImageLike(t.shape) && t.size > 0
    ? `<div style="margin-left:16px">${heatmapSvg(numeric, t.shape)}</div>`
    : "";
  const html = `<div class="symgrad-tensor" style="display:flex;align-items:flex-start">` +
    `<div><table style="font-family:monospace;font-size:12px">${table}</table>` +
    `<pre style="font-size:12px">${escapeXml(values)}</pre></div>${picture}</div>`;
  return { "text/plain": plain, "text/html": html };
}
