/** One-pass moments: equal to the two-pass mean and variance, offset data included. */

import assert from "node:assert/strict";
import fc from "fast-check";
import { gradients, Tensor } from "../../mod.ts";
import { moments } from "../../nn/mod.ts";

/** Largest |a - b| / (|b| + floor) over the elements. */
async function relErr(a: Tensor, b: Tensor, floor: number): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    worst = Math.max(worst, Math.abs(x[i] - y[i]) / (Math.abs(y[i]) + floor));
  }
  return worst;
}

Deno.test("moments equal the two-pass mean and variance, far from zero too", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom([4, 6], [3, 2, 5], [2, 3, 4, 1]),
      fc.constantFrom(0, 1e3, -1e4),
      fc.nat(),
      async (shape, offset, seed) => {
        const x = Tensor.randn(shape, { dtype: "float32", seed, backend: "cpu" }).add(offset);
        const axes = shape.length === 2 ? [1] : [0, 2];
        const { mean, variance } = moments(x, axes);
        const mean2 = x.mean(axes, { keepdims: true });
        const var2 = x.var(axes, { correction: 0, keepdims: true });
        // Float32 sums of at most 20 terms: a few ulps of |mean| + 1 (the data's spread). The
        // shift is a data point, at most a few σ from the mean, so E[D²] - E[D]² cancels at most
        // ~20σ² against σ²: within 1e-5 relative (both sides round, the two-pass one too).
        assert((await relErr(mean, mean2, 1)) < 1e-5);
        assert((await relErr(variance, var2, 1e-3)) < 1e-4);
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("moments have the two-pass gradients", async () => {
  const x = Tensor.randn([3, 7], { dtype: "float64", seed: 3, backend: "cpu" }).add(5);
  const w = Tensor.randn([3, 1], { dtype: "float64", seed: 4, backend: "cpu" });
  const { mean, variance } = moments(x, [1]);
  const [g1] = gradients(mean.mul(w).add(variance.mul(w.square())).sum(), [x]);
  const m2 = x.mean(1, { keepdims: true }), v2 = x.var(1, { correction: 0, keepdims: true });
  const [g2] = gradients(m2.mul(w).add(v2.mul(w.square())).sum(), [x]);
  // Float64 with O(1) data: agreement to 1e-12 (the shift's cancellation is exact in gradient).
  assert((await relErr(g1, g2, 1)) < 1e-12);
});
