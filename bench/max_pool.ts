/**
 * maxPool2d forward+backward on the CPU backend, against the general window formulation (the
 * overlapping window view and the window maximum recomputed in the backward), in one run.
 * `deno run --allow-read --allow-env bench/max_pool.ts`
 *
 * @module
 */

import { gradients, jit, Tensor } from "../mod.ts";
import { windowMax } from "../core/window_max.ts";
import { timeStep } from "./timing.ts";

/** The general formulation: the same window maximum over the overlapping window view. */
function generalMaxPool(x: Tensor, k: number): Tensor {
  const [h, w] = x.shape.slice(-2);
  const windows = x.pool2d([k, k], [k, k], [1, 1]);
  const plane = Tensor.arange(h * w, undefined, 1, {
    dtype: x.dtype,
    backend: x.backend,
  })
    .reshape([h, w]);
  const index = plane.pool2d([k, k], [k, k], [1, 1]);
  return new Tensor(windowMax(windows.node, index.node), x.backend);
}

const backend = "cpu";
for (const shape of [[64, 8, 28, 28], [64, 16, 14, 14]]) {
  const x = Tensor.randn(shape, { backend, seed: 1 });
  const g = Tensor.randn([shape[0], shape[1], shape[2] / 2, shape[3] / 2], {
    backend,
    seed: 2,
  });
  await x.realize();
  await g.realize();
  const row = (pool: (t: Tensor) => Tensor) =>
    jit(() => {
      const y = pool(x);
      return [y, ...gradients(y.mul(g).sum(), [x])];
    });
  const general = await timeStep(backend, row((t) => generalMaxPool(t, 2)));
  const ours = await timeStep(backend, row((t) => t.maxPool2d(2)));
  console.log(
    `maxPool2d 2x2 fwd+bwd ${shape.join("x")}: general ${general.median_ms.toFixed(2)} ms ` +
      `(${general.kernels} kernels), maxPool2d ${ours.median_ms.toFixed(2)} ms ` +
      `(${ours.kernels} kernels), ratio ${(general.median_ms / ours.median_ms).toFixed(2)}`,
  );
}
