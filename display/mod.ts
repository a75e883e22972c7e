/**
 * Rich display for notebooks and reports: tensors as MIME bundles (statistics, values,
 * heatmaps), pictures of graphs and schedules (Graphviz DOT and SVG), and plots as SVG (any
 * Observable Plot specification with {@link plot}; {@link linePlot} and {@link histogram} for
 * training curves and distributions), and a progress line for training loops in a terminal
 * ({@link ProgressLine}).
 *
 * In Deno's Jupyter kernel a `Tensor` at the end of a cell renders through
 * {@link tensorMimeBundle}; figures returned by this module render themselves.
 *
 * @example Training curves
 * ```ts
 * import { linePlot } from "@symgrad/symgrad/display";
 * const fig = linePlot([{ name: "BN", y: [0.8, 0.9] }, { name: "RBN", y: [0.82, 0.91] }], {
 *   title: "test accuracy",
 *   xLabel: "epoch",
 * });
 * console.log(fig.toString()); // test accuracy
 * ```
 *
 * @module
 */

export { formatValues } from "./format_values.ts";
export type { FormatValuesOptions } from "./format_values.ts";
export {
  graphDot,
  GraphFigure,
  graphPicture,
  renderDot,
  scheduleDot,
  schedulePicture,
} from "./graph_svg.ts";
export type {
  GraphOptions,
  Labeled,
  ScheduleDotOptions,
  SchedulePictureOptions,
} from "./graph_svg.ts";
export { heatmap, heatmapSvg, viridis } from "./heatmap.ts";
export type { HeatmapOptions } from "./heatmap.ts";
export {
  escapeXml,
  formatNumber,
  JUPYTER_DISPLAY,
  SvgFigure,
  svgFragment,
  svgHtml,
} from "./mime.ts";
export type { MimeBundle } from "./mime.ts";
export { histogram, linePlot, plot } from "./plot.ts";
/** Observable Plot's specification, which {@link plot} takes. */
export type { PlotOptions as PlotSpec } from "@observablehq/plot";
export type { HistogramOptions, HistogramSeries, PlotOptions, Series } from "./plot.ts";
export { ProgressLine } from "./progress.ts";
export type { ProgressOptions } from "./progress.ts";
export { summaryStats } from "./stats.ts";
export type { SummaryStats } from "./stats.ts";
export { tensorMimeBundle } from "./tensor_display.ts";
