/**
 * Training, evaluation and the paper's diagnostic for the MNIST example (shared by the script
 * and the notebook).
 *
 * @module
 */

import { realize, type Tensor } from "../mod.ts";
import {
  AdamW,
  BatchNorm2d,
  crossEntropy,
  RepresentativeBatchNorm2d,
  trainStep,
} from "../nn/mod.ts";
import { batch, type DigitSet, permutation } from "./mnist_data.ts";
import { type NormFactory, SmallCnn } from "./mnist_model.ts";

/** The two normalizations compared. */
export const NORMS: Record<"BN" | "RBN", NormFactory> = {
  BN: (c) => new BatchNorm2d(c),
  RBN: (c) => new RepresentativeBatchNorm2d(c),
};

/** Settings of one training run. */
export interface RunConfig {
  /** Passes over the training images. */
  epochs: number;
  /** Training images used per epoch (a prefix of a per-epoch shuffle). */
  trainImages: number;
  /** Mini-batch size. */
  batchSize: number;
  /** AdamW learning rate. */
  lr: number;
  /** Seed of weights and shuffles. */
  seed: number;
  /** Backend name. */
  backend?: string;
}

/** What one epoch produced. */
export interface EpochLog {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss over the epoch. */
  loss: number;
  /** Test accuracy after the epoch. */
  accuracy: number;
  /** Training throughput. */
  imagesPerSecond: number;
  /** Seconds since the run started. */
  elapsed: number;
}

/** Fraction of `set` that `model` classifies correctly (evaluation mode). */
export async function evaluate(model: SmallCnn, set: DigitSet, backend?: string): Promise<number> {
  model.eval();
  let correct = 0;
  for (let start = 0; start < set.count; start += 250) {
    const idx = Uint32Array.from({ length: Math.min(250, set.count - start) }, (_, i) => start + i);
    const { x, labels } = batch(set, idx, backend);
    // Class indices (int32) come back instead of the logits: 10 times less to read.
    const predicted = await model.forward(x).argmax(1).data();
    for (let b = 0; b < labels.length; b++) if (predicted[b] === labels[b]) correct++;
  }
  model.train();
  return correct / set.count;
}

/** Number of trainable scalars. */
export function parameterCount(model: SmallCnn): number {
  return model.namedParameters().reduce((n, [, p]) => n + p.size, 0);
}

/** Where a training step is: its epoch (from 1), step in the epoch (from 1), steps per epoch. */
export interface StepInfo {
  /** 1-based epoch number. */
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  /** Steps in each epoch. */
  steps: number;
  /** When the epoch began (`performance.now()`). */
  startedAt: number;
}

/**
 * Trains a fresh network with normalization `norm`; calls `onEpoch` after each epoch and
 * `onStep` with each step's loss and position.
 */
export async function trainMnist(
  norm: NormFactory,
  data: { train: DigitSet; test: DigitSet },
  cfg: RunConfig,
  onEpoch: (log: EpochLog) => void = () => {},
  onStep: (loss: number, at: StepInfo) => void = () => {},
): Promise<{ model: SmallCnn; epochs: EpochLog[]; stepLosses: number[]; seconds: number }> {
  const model = new SmallCnn(norm, cfg.seed);
  const opt = new AdamW(model, { lr: cfg.lr });
  const start = performance.now();
  const epochs: EpochLog[] = [];
  const stepLosses: number[] = [];
  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const order = permutation(data.train.count, cfg.seed * 1000 + epoch);
    const n = Math.min(cfg.trainImages, data.train.count);
    const perEpoch = Math.floor(n / cfg.batchSize);
    const t0 = performance.now();
    let sum = 0, steps = 0;
    for (let s = 0; s + cfg.batchSize <= n; s += cfg.batchSize) {
      const { x, y } = batch(data.train, order.subarray(s, s + cfg.batchSize), cfg.backend);
      const loss = await (await trainStep(model, opt, () => crossEntropy(model.forward(x), y)))
        .item();
      sum += loss, steps++;
      stepLosses.push(loss);
      onStep(loss, { epoch, step: steps, steps: perEpoch, startedAt: t0 });
    }
    const seconds = (performance.now() - t0) / 1000;
    const accuracy = await evaluate(model, data.test, cfg.backend);
    const log = {
      epoch,
      loss: sum / steps,
      accuracy,
      imagesPerSecond: (steps * cfg.batchSize) / seconds,
      elapsed: (performance.now() - start) / 1000,
    };
    epochs.push(log);
    onEpoch(log);
  }
  return { model, epochs, stepLosses, seconds: (performance.now() - start) / 1000 };
}

/**
 * The paper's diagnostic: for each normalization layer, the standard deviation across
 * instances of the per-channel mean of its output (evaluation mode, over `set`'s first
 * `count` images). Returns one array of per-channel values per layer.
 */
export async function instanceMeanSpread(
  model: SmallCnn,
  set: DigitSet,
  count = 500,
  backend?: string,
): Promise<Float64Array[]> {
  model.eval();
  const idx = Uint32Array.from({ length: Math.min(count, set.count) }, (_, i) => i);
  const { x } = batch(set, idx, backend);
  const { normalized } = model.forwardWithFeatures(x);
  // Per-instance, per-channel means [N, C]; the spread across N is taken on the host.
  const means: Tensor[] = normalized.map((f) => f.mean([2, 3]));
  await realize(...means);
  const out: Float64Array[] = [];
  for (const m of means) {
    const [n, c] = m.shape;
    const data = await m.data();
    const spread = new Float64Array(c);
    for (let ch = 0; ch < c; ch++) {
      let mu = 0;
      for (let i = 0; i < n; i++) mu += data[i * c + ch];
      mu /= n;
      let sq = 0;
      for (let i = 0; i < n; i++) sq += (data[i * c + ch] - mu) ** 2;
      spread[ch] = Math.sqrt(sq / n);
    }
    out.push(spread);
  }
  model.train();
  return out;
}
