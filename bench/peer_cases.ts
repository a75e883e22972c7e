/**
 * The contraction cases of bench/cases.ts (matmul, conv2d forward and forward+backward) written
 * in jax-js and in TF.js, for bench/peers.ts. Each framework gets the same seeded inputs as
 * symgrad (host copies of its `Tensor.randn` draws) and the same case ids.
 *
 * TF.js convolves in its native NHWC layout (its wasm backend has no NCHW conv2d): inputs are
 * transposed once at setup, outside the timed step. The forward+backward step of every framework
 * computes the input and weight gradients of sum(conv2d(x, w) · g).
 *
 * @module
 */

import * as jax from "@jax-js/jax";
import * as tf from "@tensorflow/tfjs";
import { Tensor } from "../mod.ts";
import { CONV_SHAPE } from "./cases.ts";
import { median } from "./peer_models.ts";

/** Host inputs of one case: arrays with their shapes, in symgrad's NCHW / OIHW layout. */
export interface CaseInputs {
  /** Named arrays (a, b for matmul; x, w, g for conv2d). */
  readonly arrays: Record<string, { data: Float32Array; shape: number[] }>;
}

async function host(
  t: Record<string, Tensor>,
): Promise<CaseInputs["arrays"]> {
  const out: CaseInputs["arrays"] = {};
  for (const [k, v] of Object.entries(t)) {
    out[k] = { data: (await v.data()) as Float32Array, shape: [...v.shape] };
    v.dispose();
  }
  return out;
}

/** The ids of the cases this module implements for both peers. */
export function peerCaseIds(): string[] {
  const { n, cin, h, w, cout, k } = CONV_SHAPE;
  const conv = `conv2d_${n}x${cin}x${h}x${w}_${cout}_${k}x${k}`;
  return ["matmul_256", "matmul_512", `${conv}_fwd`, `${conv}_fwdbwd`];
}

/** The seeded inputs of case `id`, drawn like bench/cases.ts draws them. */
export async function caseInputs(id: string): Promise<CaseInputs> {
  const mm = /^matmul_(\d+)$/.exec(id);
  if (mm) {
    const n = Number(mm[1]);
    return {
      arrays: await host({
        a: Tensor.randn([n, n], { backend: "cpu", seed: 1 }),
        b: Tensor.randn([n, n], { backend: "cpu", seed: 2 }),
      }),
    };
  }
  if (id.startsWith("conv2d_")) {
    const { n, cin, h, w, cout, k } = CONV_SHAPE;
    return {
      arrays: await host({
        x: Tensor.randn([n, cin, h, w], { backend: "cpu", seed: 1 }),
        w: Tensor.randn([cout, cin, k, k], {
          backend: "cpu",
          seed: 2,
          std: 0.05,
        }),
        g: Tensor.randn([n, cout, h, w], { backend: "cpu", seed: 3 }),
      }),
    };
  }
  throw new Error(`peer_cases: no peer implementation of case "${id}"`);
}

/** Median ms of case `id` as one jit-compiled jax-js step on the wasm device. */
export async function timeJaxCase(
  id: string,
  inp: CaseInputs,
  minMs?: number,
): Promise<number> {
  await jax.init("wasm");
  jax.defaultDevice("wasm");
  const np = jax.numpy;
  const arr = (k: string) => {
    const { data, shape } = inp.arrays[k];
    return np.array(data as Float32Array<ArrayBuffer>).reshape(shape);
  };
  const run = async (step: () => unknown) =>
    await median(async () => {
      const out = step() as jax.JsTree<jax.Array>;
      await jax.blockUntilReady(out);
      jax.tree.dispose(out);
    }, minMs);
  if (id.startsWith("matmul_")) {
    const a = arr("a"), b = arr("b");
    const f = jax.jit((p: jax.Array, q: jax.Array) => np.matmul(p, q));
    return await run(() => f(a.ref, b.ref));
  }
  const x = arr("x"), w = arr("w"), g = arr("g");
  const pad: [number, number][] = [[1, 1], [1, 1]];
  const conv = (p: jax.Array, q: jax.Array) => jax.lax.conv(p, q, [1, 1], pad);
  if (id.endsWith("_fwd")) {
    const f = jax.jit(conv);
    return await run(() => f(x.ref, w.ref));
  }
  type P = { x: jax.Array; w: jax.Array };
  const loss = (q: P, gg: jax.Array) => conv(q.x, q.w).mul(gg).sum();
  const f = jax.jit((q: P, gg: jax.Array) => jax.grad(loss)(q, gg));
  return await run(() => f({ x: x.ref, w: w.ref }, g.ref));
}

/**
 * Median ms of case `id` in TF.js on the wasm backend (XNNPACK; the caller imports the backend
 * package). Each step reads back its last output, which waits for the whole step.
 */
export async function timeTfCase(
  id: string,
  inp: CaseInputs,
  minMs?: number,
): Promise<number> {
  if (!(await tf.setBackend("wasm"))) {
    throw new Error("TF.js wasm backend did not start");
  }
  await tf.ready();
  const t = (k: string) => tf.tensor(inp.arrays[k].data, inp.arrays[k].shape);
  const run = async (step: () => tf.Tensor[], inputs: tf.Tensor[]) => {
    const ms = await median(async () => {
      const outs = tf.tidy(step);
      await outs[outs.length - 1].data();
      tf.dispose(outs);
    }, minMs);
    tf.dispose(inputs);
    return ms;
  };
  if (id.startsWith("matmul_")) {
    const a = t("a"), b = t("b");
    return await run(() => [tf.matMul(a, b)], [a, b]);
  }
  // NCHW → NHWC and OIHW → HWIO, once, outside the timed step.
  const [x, w, g] = tf.tidy(() => [
    tf.transpose(t("x"), [0, 2, 3, 1]),
    tf.transpose(t("w"), [2, 3, 1, 0]),
    tf.transpose(t("g"), [0, 2, 3, 1]),
  ]);
  const conv = (p: tf.Tensor, q: tf.Tensor) =>
    tf.conv2d(p as tf.Tensor4D, q as tf.Tensor4D, 1, [[0, 0], [1, 1], [1, 1], [
      0,
      0,
    ]]);
  if (id.endsWith("_fwd")) return await run(() => [conv(x, w)], [x, w, g]);
  const grads = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(conv(p, q), g)));
  return await run(() => grads([x, w]), [x, w, g]);
}
