/**
 * The RBN (representative batch norm) step used by the benchmarks (the nn layer's functional
 * form) and a streaming-bandwidth probe.
 *
 * @module
 */

import { gradients, Tensor } from "../mod.ts";
import { rbn } from "../nn/mod.ts";

/** Inputs of one RBN step: the activation, the five [1, C, 1, 1] parameters and the cotangent. */
export interface RbnInputs {
  /** Activation [N, C, H, W]. */
  readonly x: Tensor;
  /** Centering weight. */
  readonly wm: Tensor;
  /** Scaling weight. */
  readonly wv: Tensor;
  /** Scaling bias. */
  readonly wb: Tensor;
  /** Affine scale. */
  readonly gamma: Tensor;
  /** Affine shift. */
  readonly beta: Tensor;
  /** Cotangent of the output (the loss is sum(Y·G)). */
  readonly g: Tensor;
}

/** Seeded float32 inputs of the given shape on `backend`, realized. */
export async function rbnInputs(shape: readonly number[], backend: string): Promise<RbnInputs> {
  const c = shape[1];
  const opts = { backend, dtype: "float32" } as const;
  const p = (seed: number, mean: number) =>
    Tensor.randn([1, c, 1, 1], { ...opts, seed, mean, std: 0.1 });
  const inputs = {
    x: Tensor.randn(shape, { ...opts, seed: 1 }),
    wm: p(2, 0),
    wv: p(3, 0),
    wb: p(4, 0),
    gamma: p(5, 1),
    beta: p(6, 0),
    g: Tensor.randn(shape, { ...opts, seed: 7 }),
  };
  for (const t of Object.values(inputs)) await t.realize();
  return inputs;
}

/** RBN forward in training mode: the nn layer's functional form, batch statistics only. */
export function rbnForward(i: RbnInputs, eps = 1e-5): Tensor {
  return rbn(i.x, {
    centerWeight: i.wm,
    scaleWeight: i.wv,
    scaleBias: i.wb,
    weight: i.gamma,
    bias: i.beta,
    training: true,
    eps,
  }).y;
}

/** Forward and backward: `[Y, dX, dw_m, dw_v, dw_b, dγ, dβ]` for the loss `sum(Y·G)`. */
export function rbnForwardBackward(i: RbnInputs): Tensor[] {
  const y = rbnForward(i);
  const loss = y.mul(i.g).sum();
  return [y, ...gradients(loss, [i.x, i.wm, i.wv, i.wb, i.gamma, i.beta])];
}

/**
 * Streaming bandwidth of this machine from JavaScript, in bytes per second: the best of a
 * typed-array copy and a read-scale-write loop over 64 MiB arrays (bytes read plus written).
 */
export function streamingBandwidth(): number {
  const n = 16 << 20;
  const a = new Float32Array(n).fill(1), b = new Float32Array(n);
  let best = 0;
  for (let rep = 0; rep < 5; rep++) {
    let t0 = performance.now();
    b.set(a);
    let dt = (performance.now() - t0) / 1000;
    best = Math.max(best, (8 * n) / dt);
    t0 = performance.now();
    for (let i = 0; i < n; i++) b[i] = a[i] * 1.5;
    dt = (performance.now() - t0) / 1000;
    best = Math.max(best, (8 * n) / dt);
  }
  return best;
}
