/**
 * RBN forward+backward (float32, training mode) on WebGPU in symgrad, jax-js (webgpu device,
 * jit) and TF.js (webgpu backend), in one run on the same adapter, plus symgrad's kernels and
 * queue submissions per step.
 *
 * Usage: `deno run -A bench/webgpu_peers.ts [--shape N,C,H,W] [--mode fwd|fwdbwd]` (default
 * 32,64,32,32 fwdbwd). Every framework's step ends in a device synchronization: symgrad and TF.js
 * read back a small result, jax-js waits with `blockUntilReady`.
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgpu";
import { getBackend, jit, type Tensor } from "../mod.ts";
import { rbnForward, rbnForwardBackward, rbnInputs } from "./rbn_model.ts";

const EPS = 1e-5;
type Mode = "fwd" | "fwdbwd";

/** Median of `fn`'s times after a warm-up of at least 5 calls and 1 s. */
async function median(fn: () => Promise<void>, minMs = 2000): Promise<number> {
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

async function timeSymgrad(shape: number[], mode: Mode) {
  const inputs = await rbnInputs(shape, "webgpu");
  const backend = await getBackend("webgpu");
  const step = jit(() => (mode === "fwd" ? [rbnForward(inputs)] : rbnForwardBackward(inputs)));
  const once = async () => {
    const outs: Tensor[] = await step();
    // Reading the smallest output waits for the whole submission (the queue runs in order).
    const smallest = outs.reduce((a, b) => (b.size < a.size ? b : a));
    await smallest.data();
    for (const t of outs) t.dispose();
  };
  const ms = await median(once);
  const before = { ...backend.stats };
  await step().then((outs: Tensor[]) => outs.forEach((t) => t.dispose()));
  const kernels = backend.stats.kernelsRun - before.kernelsRun;
  const submissions = backend.stats.submissions - before.submissions;
  for (const t of Object.values(inputs)) t.dispose();
  return { ms, kernels, submissions };
}

/** Host copies of the seeded inputs symgrad uses, so all frameworks see the same numbers. */
async function hostInputs(shape: number[]) {
  const t = await rbnInputs(shape, "cpu");
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(t)) out[k] = (await v.data()) as Float32Array;
  for (const v of Object.values(t)) v.dispose();
  return out;
}

async function timeJax(shape: number[], mode: Mode, h: Record<string, Float32Array>) {
  await jax.init("webgpu");
  jax.defaultDevice("webgpu");
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

async function timeTf(shape: number[], mode: Mode, h: Record<string, Float32Array>) {
  if (!(await tf.setBackend("webgpu"))) throw new Error("TF.js webgpu backend did not start");
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

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const shape = (arg("shape") ?? "32,64,32,32").split(",").map(Number);
  const mode = (arg("mode") ?? "fwdbwd") as Mode;
  const h = await hostInputs(shape);
  const ours = await timeSymgrad(shape, mode);
  const adapter = await navigator.gpu.requestAdapter();
  console.log(`RBN ${shape.join("·")} ${mode} on ${adapter?.info.description || "WebGPU"}`);
  console.log(
    `  ${"symgrad webgpu".padEnd(18)} ${ours.ms.toFixed(2).padStart(8)} ms  ` +
      `(${ours.kernels} kernels, ${ours.submissions} submission per step)`,
  );
  for (const [name, run] of [["jax-js webgpu jit", timeJax], ["tfjs webgpu", timeTf]] as const) {
    try {
      const ms = await run(shape, mode, h);
      console.log(
        `  ${name.padEnd(18)} ${ms.toFixed(2).padStart(8)} ms  (${(ms / ours.ms).toFixed(2)}×)`,
      );
    } catch (e) {
      console.log(`  ${name.padEnd(18)} failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}
