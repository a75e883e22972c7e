/**
 * The RBN step written in jax-js and in TF.js, and the timing loop the peer benchmarks share
 * (bench/peers.ts on wasm, bench/webgpu_peers.ts on WebGPU). Each framework gets the same seeded
 * inputs as symgrad, and its loss is sum(Y·G) like symgrad's.
 *
 * The scripts import the TF.js backend packages they need; this module only names the backend.
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import * as tf from "@tensorflow/tfjs";
import { rbnInputs } from "./rbn_model.ts";

const EPS = 1e-5;

/** Forward only, or forward and backward. */
export type Mode = "fwd" | "fwdbwd";

/** Host copies of an RBN step's inputs, keyed like the fields of `rbnInputs`. */
export type HostInputs = Record<string, Float32Array>;

/** Median of `fn`'s times after a warm-up of at least 5 calls and 1 s. */
export async function median(fn: () => Promise<void> | void, minMs = 2000): Promise<number> {
  const warm = performance.now();
  for (let i = 0; i < 5 || performance.now() - warm < 1000; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || (performance.now() - start < minMs && times.length < 50)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** Host copies of the seeded inputs symgrad uses, so all frameworks see the same numbers. */
export async function hostInputs(shape: number[]): Promise<HostInputs> {
  const t = await rbnInputs(shape, "cpu");
  const out: HostInputs = {};
  for (const [k, v] of Object.entries(t)) out[k] = (await v.data()) as Float32Array;
  for (const v of Object.values(t)) v.dispose();
  return out;
}

/** Median ms of one jit-compiled jax-js RBN step on `device`; each step waits for its results. */
export async function timeJax(
  device: "wasm" | "webgpu",
  shape: number[],
  mode: Mode,
  h: HostInputs,
): Promise<number> {
  await jax.init(device);
  jax.defaultDevice(device);
  const np = jax.numpy;
  const c = shape[1];
  const arr = (d: Float32Array, s: number[]) => np.array(d as Float32Array<ArrayBuffer>).reshape(s);
  const p = {
    x: arr(h.x, shape),
    wm: arr(h.wm, [1, c, 1, 1]),
    wv: arr(h.wv, [1, c, 1, 1]),
    wb: arr(h.wb, [1, c, 1, 1]),
    gamma: arr(h.gamma, [1, c, 1, 1]),
    beta: arr(h.beta, [1, c, 1, 1]),
  };
  const g = arr(h.g, shape);
  type P = typeof p;
  // jax-js arrays are reference counted: every use past the first takes `.ref`.
  const forward = (q: P) => {
    const km = np.mean(q.x.ref, [2, 3], { keepdims: true });
    const xcm = q.x.add(q.wm.mul(km));
    const mu = np.mean(xcm.ref, [0, 2, 3], { keepdims: true });
    const centered = xcm.sub(mu);
    const v = np.mean(centered.ref.mul(centered.ref), [0, 2, 3], { keepdims: true });
    const xs = centered.div(np.sqrt(v.add(EPS)));
    const ks = np.mean(xs.ref, [2, 3], { keepdims: true });
    return q.gamma.mul(jax.nn.sigmoid(q.wv.mul(ks).add(q.wb))).mul(xs).add(q.beta);
  };
  const loss = (q: P, gg: jax.Array) => forward(q).mul(gg).sum();
  const step = mode === "fwd"
    ? jax.jit((q: P) => forward(q))
    : jax.jit((q: P, gg: jax.Array) => jax.valueAndGrad(loss)(q, gg));
  const refs = () => ({
    x: p.x.ref,
    wm: p.wm.ref,
    wv: p.wv.ref,
    wb: p.wb.ref,
    gamma: p.gamma.ref,
    beta: p.beta.ref,
  });
  return await median(async () => {
    const out = mode === "fwd"
      ? (step as (q: P) => jax.Array)(refs())
      : (step as (q: P, gg: jax.Array) => unknown)(refs(), g.ref);
    await jax.blockUntilReady(out as jax.JsTree<jax.Array>);
    jax.tree.dispose(out as jax.JsTree<jax.Array>);
  });
}

/**
 * Median ms of one TF.js RBN step on `backend` (its package must be imported by the caller).
 * Each step reads back its last output (dβ, or Y in forward mode): device queues run in order,
 * so that read waits for the whole step.
 */
export async function timeTf(
  backend: "wasm" | "webgpu",
  shape: number[],
  mode: Mode,
  h: HostInputs,
): Promise<number> {
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js ${backend} backend did not start`);
  await tf.ready();
  const c = shape[1];
  const x = tf.tensor(h.x, shape), g = tf.tensor(h.g, shape);
  const [wm, wv, wb, gamma, beta] = ["wm", "wv", "wb", "gamma", "beta"].map((k) =>
    tf.tensor(h[k], [1, c, 1, 1])
  );
  const forward = (...a: tf.Tensor[]) => {
    const [xx, m, v, b, ga, be] = a;
    const km = tf.mean(xx, [2, 3], true);
    const xcm = tf.add(xx, tf.mul(m, km));
    const { mean, variance } = tf.moments(xcm, [0, 2, 3], true);
    const xs = tf.div(tf.sub(xcm, mean), tf.sqrt(tf.add(variance, EPS)));
    const ks = tf.mean(xs, [2, 3], true);
    return tf.add(tf.mul(tf.mul(ga, tf.sigmoid(tf.add(tf.mul(v, ks), b))), xs), be);
  };
  const grads = tf.valueAndGrads((...a: tf.Tensor[]) => tf.sum(tf.mul(forward(...a), g)));
  const args = [x, wm, wv, wb, gamma, beta];
  return await median(async () => {
    const outs = tf.tidy(() => {
      if (mode === "fwd") return [forward(...args)];
      const { value, grads: gs } = grads(args);
      return [value, ...gs];
    });
    await outs[outs.length - 1].data();
    tf.dispose(outs);
  });
}
