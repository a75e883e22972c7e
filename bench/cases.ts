/**
 * The benchmark cases beyond RBN: contractions (matmul, conv2d forward and forward+backward)
 * and one training step of the MNIST example model. Each case builds its inputs on a backend
 * and returns a step that `timeStep` times; the same cases (by `id`) are timed in PyTorch by
 * bench/torch_peer.py and in jax-js / TF.js by bench/peer_models.ts.
 *
 * @module
 */

import { gradients, jit, Tensor, withBackend } from "../mod.ts";
import { AdamW, crossEntropy, RepresentativeBatchNorm2d, trainStep } from "../nn/mod.ts";
import { SmallCnn } from "../examples/mnist_model.ts";

/** One benchmark case. */
export interface BenchCase {
  /** Stable name, shared with the peer scripts and printed in `--json` lines. */
  readonly id: string;
  /** Human-readable label. */
  readonly label: string;
  /** Floating-point operations per step (multiply and add count two), for contractions. */
  readonly flops?: number;
  /** Builds realized inputs on `backend`; returns the step and a function freeing the inputs. */
  setup(backend: string): Promise<{ step: () => Promise<Tensor[]> | Tensor[]; dispose(): void }>;
}

async function realized(...ts: Tensor[]): Promise<void> {
  for (const t of ts) await t.realize();
}

function matmul(n: number): BenchCase {
  return {
    id: `matmul_${n}`,
    label: `matmul ${n}³`,
    flops: 2 * n ** 3,
    async setup(backend) {
      const a = Tensor.randn([n, n], { backend, seed: 1 });
      const b = Tensor.randn([n, n], { backend, seed: 2 });
      await realized(a, b);
      return { step: jit(() => [a.matmul(b)]), dispose: () => [a, b].forEach((t) => t.dispose()) };
    },
  };
}

/** conv2d of [16, 64, 32, 32] with 64 filters of 3×3, padding 1. */
export const CONV_SHAPE = { n: 16, cin: 64, h: 32, w: 32, cout: 64, k: 3 } as const;

function conv(mode: "fwd" | "fwdbwd"): BenchCase {
  const { n, cin, h, w, cout, k } = CONV_SHAPE;
  const forward = 2 * n * cout * h * w * cin * k * k;
  return {
    id: `conv2d_${n}x${cin}x${h}x${w}_${cout}_${k}x${k}_${mode}`,
    label: `conv2d ${n}·${cin}·${h}² → ${cout}, ${k}×${k} ${mode}`,
    // Forward+backward: the forward product, the input gradient and the weight gradient.
    flops: mode === "fwd" ? forward : 3 * forward,
    async setup(backend) {
      const x = Tensor.randn([n, cin, h, w], { backend, seed: 1 });
      const wt = Tensor.randn([cout, cin, k, k], { backend, seed: 2, std: 0.05 });
      const g = Tensor.randn([n, cout, h, w], { backend, seed: 3 });
      await realized(x, wt, g);
      const step = jit(() => {
        const y = x.conv2d(wt, { padding: 1 });
        return mode === "fwd" ? [y] : [y, ...gradients(y.mul(g).sum(), [x, wt])];
      });
      return { step, dispose: () => [x, wt, g].forEach((t) => t.dispose()) };
    },
  };
}

/** Batch size of the MNIST training-step case. */
export const MNIST_BATCH = 64;

/** One AdamW step of the MNIST example CNN with RBN layers on a batch of 64 random images. */
const mnistStep: BenchCase = {
  id: `mnist_step_b${MNIST_BATCH}`,
  label: `MNIST CNN (RBN) train step, batch ${MNIST_BATCH}`,
  async setup(backend) {
    // Weights and optimizer state are created on the default backend: make it `backend`.
    const { model, opt } = withBackend(backend, () => {
      const model = new SmallCnn((c) => new RepresentativeBatchNorm2d(c), 0);
      return { model, opt: new AdamW(model, { lr: 0.002 }) };
    });
    const x = Tensor.randn([MNIST_BATCH, 1, 28, 28], { backend, seed: 1 });
    const labels = Float32Array.from({ length: MNIST_BATCH }, (_, i) => (i * 7) % 10);
    const y = Tensor.from(labels, { backend });
    await realized(x, y);
    const step = async () => [await trainStep(model, opt, () => crossEntropy(model.forward(x), y))];
    return { step, dispose: () => [x, y].forEach((t) => t.dispose()) };
  },
};

/** The cases `deno task bench` runs after the RBN rows, in order. */
export const CASES: readonly BenchCase[] = [
  matmul(256),
  matmul(512),
  conv("fwd"),
  conv("fwdbwd"),
  mnistStep,
];

/** The JSON id of an RBN row (shape N·C·H·W, mode). */
export function rbnCaseId(shape: readonly number[], mode: "fwd" | "fwdbwd"): string {
  return `rbn_${shape.join("x")}_${mode}`;
}
