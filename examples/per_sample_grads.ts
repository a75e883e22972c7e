/**
 * Per-sample gradient norms of a small CNN with representative batch normalization, as one
 * fused program: `vmap(grad(loss))` over the samples of a batch. Checks the result against a
 * loop over samples and prints how many kernels each way ran.
 *
 * In evaluation mode RBN normalizes with its running statistics, and its calibration
 * statistics (`K_m`, `K_s`) are each sample's own spatial means, so every sample's output
 * depends on that sample alone: per-sample gradients are well defined and equal the loop.
 *
 * In training mode batch statistics couple the samples. `vmap` calls the loss on one sample at a
 * time, so the layer would see a batch of one and normalize each sample by its own mean and
 * variance: the gradients of a different model, not per-sample gradients of the batch loss
 * (and the running-statistics update would be traced on one sample). What is well defined there
 * is the Jacobian of the vector of per-sample losses, each computed with the batch's statistics:
 * `jacrev` of that vector (last section) gives one row per sample, coupling included, and its
 * rows sum to the gradient of the summed loss.
 *
 * Run: `deno run examples/per_sample_grads.ts`
 *
 * @module
 */

import { backendStats, grad, jacrev, realize, Tensor, vmap } from "../mod.ts";
import {
  AvgPool2d,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
} from "../nn/mod.ts";

const BACKEND = "cpu";
const opts = { dtype: "float64", backend: BACKEND } as const;

/** A conv → RBN → ReLU → pool → linear classifier over `[N, 1, 8, 8]` images, 3 classes. */
export function smallCnn(seed = 0): Sequential {
  const rbn = new RepresentativeBatchNorm2d(4, opts);
  // Nonzero calibration weights and running statistics, so every RBN term matters.
  rbn.center_weight = Tensor.randn([1, 4, 1, 1], { ...opts, seed: seed + 10 }).mul(0.5);
  rbn.scale_weight = Tensor.randn([1, 4, 1, 1], { ...opts, seed: seed + 11 }).mul(0.5);
  rbn.running_mean = Tensor.randn([4], { ...opts, seed: seed + 12 }).mul(0.1);
  rbn.running_var = Tensor.rand([4], { ...opts, seed: seed + 13, low: 0.5, high: 1.5 });
  return new Sequential(
    new Conv2d(1, 4, 3, { ...opts, padding: 1, seed }),
    rbn,
    new ReLU(),
    new AvgPool2d(2),
    new Flatten(),
    new Linear(4 * 4 * 4, 3, { ...opts, seed: seed + 1 }),
  ).eval();
}

/** Parameters by dotted name (the tensors the model reads, so gradients are theirs). */
export type Params = Record<string, Tensor>;

/** The loss of one sample `x` `[1, 8, 8]` with class `y` (a scalar holding the index). */
export function sampleLoss(model: Sequential, x: Tensor, y: Tensor): Tensor {
  return crossEntropy(model.forward(x.unsqueeze(0)), y.reshape([1]));
}

/** `‖g‖` over all parameters, per sample, for gradients with a leading batch axis. */
export function gradNorms(grads: Params): Tensor {
  const squares = Object.values(grads).map((g) => g.square().reshape([g.shape[0], -1]).sum(1));
  return squares.reduce((a, b) => a.add(b)).sqrt();
}

/** Per-sample gradients of every parameter, `[N, ...shape]` each, as one vmapped program. */
export function perSampleGrads(model: Sequential, xs: Tensor, ys: Tensor): Params {
  const params: Params = Object.fromEntries(model.namedParameters());
  const loss = (_: Params, x: Tensor, y: Tensor) => sampleLoss(model, x, y);
  return vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys);
}

/** The same gradients by a loop over samples (the reference). */
export function loopGrads(model: Sequential, xs: Tensor, ys: Tensor): Params {
  const params: Params = Object.fromEntries(model.namedParameters());
  const loss = (_: Params, x: Tensor, y: Tensor) => sampleLoss(model, x, y);
  const rows = Array.from(
    { length: xs.shape[0] },
    (_, i) =>
      grad(loss)(params, xs.slice([[i, i + 1]]).squeeze(0), ys.slice([[i, i + 1]]).squeeze(0)),
  );
  return Object.fromEntries(
    Object.keys(params).map((k) => [k, Tensor.stack(rows.map((r) => r[k]))]),
  );
}

/** Largest absolute difference between two tensors of one shape. */
async function maxDiff(a: Tensor, b: Tensor): Promise<number> {
  return await a.sub(b).abs().max().item();
}

/** Kernels the CPU backend runs while `fn` realizes its result. */
async function kernelsOf(fn: () => Tensor): Promise<[Tensor, number]> {
  const before = (await backendStats(BACKEND)).kernelsRun;
  const t = await fn().realize();
  return [t, (await backendStats(BACKEND)).kernelsRun - before];
}

if (import.meta.main) {
  const n = 8;
  const model = smallCnn();
  const xs = Tensor.randn([n, 1, 8, 8], { ...opts, seed: 5 });
  const ys = Tensor.from(Array.from({ length: n }, (_, i) => i % 3), opts);
  await realize(xs, ys, ...model.parameters(), ...model.buffers());

  const [batched, kBatched] = await kernelsOf(() => gradNorms(perSampleGrads(model, xs, ys)));
  const [looped, kLooped] = await kernelsOf(() => gradNorms(loopGrads(model, xs, ys)));
  const diff = await maxDiff(batched, looped);
  console.log("per-sample gradient norms:", Array.from(await batched.data(), (v) => +v.toFixed(4)));
  console.log(`vmap vs loop: max |difference| ${diff.toExponential(2)}`);
  console.log(`kernels run: vmap ${kBatched}, loop over ${n} samples ${kLooped}`);
  if (!(diff < 1e-12)) throw new Error(`per-sample gradients differ from the loop by ${diff}`);
  // Build and run each way again (programs now cached): median of 5, in one process.
  const ms = async (fn: () => Tensor) => {
    const times: number[] = [];
    for (let k = 0; k < 5; k++) {
      const t0 = performance.now();
      await fn().data();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[2];
  };
  const tBatched = await ms(() => gradNorms(perSampleGrads(model, xs, ys)));
  const tLooped = await ms(() => gradNorms(loopGrads(model, xs, ys)));
  console.log(
    `build + run: vmap ${tBatched.toFixed(1)} ms, loop ${tLooped.toFixed(1)} ms ` +
      `(${(tLooped / tBatched).toFixed(1)}x)`,
  );

  // Training mode: per-sample losses under batch statistics, differentiated as a Jacobian.
  model.train();
  const params: Params = Object.fromEntries(model.namedParameters());
  const losses = (_: Params) => crossEntropy(model.forward(xs), ys, { reduction: "none" });
  const rows = jacrev(losses)(params) as Params; // each [n, ...shape]
  const total = grad((_: Params) => losses(params).sum())(params);
  const worst = Math.max(
    ...(await Promise.all(Object.keys(params).map((k) => maxDiff(rows[k].sum(0), total[k])))),
  );
  console.log(
    `training mode: rows of jacrev sum to the batch gradient (max |diff| ${
      worst.toExponential(2)
    })`,
  );
  if (!(worst < 1e-12)) throw new Error(`jacrev rows do not sum to the gradient: ${worst}`);
}
