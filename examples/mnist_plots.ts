/**
 * The MNIST example's two figures (shared by the script and the notebook): training loss per
 * step, and the paper's diagnostic as grouped bars.
 *
 * @module
 */

import * as Plot from "@observablehq/plot";
import { linePlot, plot, type SvgFigure } from "../display/mod.ts";

/** Training loss per step, one curve per normalization. */
export function lossFigure(losses: Record<string, readonly number[]>): SvgFigure {
  return linePlot(Object.entries(losses).map(([name, y]) => ({ name, y })), {
    title: "training loss per step",
    xLabel: "step",
    yLabel: "cross-entropy",
  });
}

/**
 * The diagnostic (std across instances of each channel's mean, per normalization layer) as
 * bars grouped by layer: one bar per normalization at the mean over channels, one tick per
 * channel. Channels are categories and the layers have different widths, so they are not
 * joined by lines.
 */
export function spreadFigure(spreads: Record<string, readonly Float64Array[]>): SvgFigure {
  const rows = Object.entries(spreads).flatMap(([norm, layers]) =>
    layers.flatMap((s, l) =>
      Array.from(s, (std, channel) => ({
        layer: `norm${l + 1} (${s.length} channels)`,
        norm,
        channel,
        std,
      }))
    )
  );
  return plot({
    title: "std across instances of per-channel means, per normalization layer",
    subtitle: "bars: mean over channels; ticks: single channels",
    width: 560,
    height: 320,
    fx: { label: null },
    x: { label: null, axis: null },
    y: { label: "std of instance means", grid: true },
    color: { legend: true },
    marks: [
      Plot.barY(
        rows,
        Plot.groupX({ y: "mean" }, { fx: "layer", x: "norm", y: "std", fill: "norm" }),
      ),
      Plot.tickY(rows, { fx: "layer", x: "norm", y: "std", stroke: "#333", strokeOpacity: 0.6 }),
      Plot.ruleY([0]),
    ],
  });
}
