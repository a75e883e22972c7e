// Gradients of gradients (Hessian-vector products) of composites against finite differences of
// their reverse-mode gradients, in float64 (tolerances as in vjp_test.ts).

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { grad, gradients, type Tensor } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { f64, t64, values } from "./helpers.ts";

const RUNS = { numRuns: 10 } as const;

Deno.test("second order: softmax, logsumexp and var", async (t) => {
  const x = t64({ shape: fc.constantFrom([4], [2, 3], [2, 2, 2]), min: -2, max: 2 });
  await t.step(
    "softmax",
    () =>
      fc.assert(
        fc.asyncProperty(x, (x) => gradcheck((x) => x.softmax(-1), [x], { order: 2 })),
        RUNS,
      ),
  );
  await t.step("logsumexp over the last axis", () =>
    fc.assert(
      fc.asyncProperty(x, (x) => gradcheck((x) => x.logsumexp(-1), [x], { order: 2 })),
      RUNS,
    ));
  await t.step("var (unbiased and biased)", () =>
    fc.assert(
      fc.asyncProperty(x, async (x) => {
        await gradcheck((x) => x.var(0), [x], { order: 2 });
        await gradcheck((x) => x.var(undefined, { correction: 0 }), [x], { order: 2 });
      }),
      RUNS,
    ));
});

Deno.test("second order: conv2d with stride, padding, dilation and groups", async () => {
  const cases = [
    { x: [1, 2, 4, 4], w: [2, 2, 2, 2], opts: { padding: 1 } },
    { x: [2, 2, 5, 4], w: [2, 1, 2, 2], opts: { stride: 2, groups: 2 } },
    {
      x: [1, 1, 5, 5],
      w: [1, 1, 2, 2],
      opts: { dilation: 2, padding: [1, 0] as [number, number] },
    },
  ];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...cases), fc.integer(), async (c, seed) => {
      const [x] = fc.sample(t64({ shape: c.x }), { numRuns: 1, seed });
      const [w] = fc.sample(t64({ shape: c.w }), { numRuns: 1, seed: seed + 1 });
      await gradcheck((x, w) => x.conv2d(w, c.opts), [x, w], { order: 2 });
    }),
    { numRuns: 4 },
  );
});

Deno.test("second order: hand-checked derivatives", async (t) => {
  await t.step("d²/dx² sin = -sin, d³/dx³ x⁴ = 24x", async () => {
    const x = f64([0.3, -1.2, 2]);
    const d1 = grad((x: Tensor) => x.sin().sum());
    const d2 = grad((x: Tensor) => d1(x).sum());
    await assertClose(d2(x), (await values(x)).map((v) => -Math.sin(v)), { rtol: 1e-12 });
    const q = (x: Tensor) => x.mul(x).mul(x).mul(x).sum();
    const q3 = grad((x: Tensor) => grad((x: Tensor) => grad(q)(x).sum())(x).sum());
    await assertClose(q3(x), [0.3 * 24, -1.2 * 24, 2 * 24], { rtol: 1e-12 });
  });
  await t.step("Hessian of x·y·z is symmetric with the expected off-diagonals", async () => {
    const [x, y, z] = [f64([2]), f64([3]), f64([5])];
    const f = x.mul(y).mul(z).sum();
    const [gx, gy] = gradients(f, [x, y]);
    // ∂²f/∂x∂y = z, reached both ways.
    const [gxy] = gradients(gx.sum(), [y]);
    const [gyx] = gradients(gy.sum(), [x]);
    assert.deepEqual(await values(gxy), [5]);
    assert.deepEqual(await values(gyx), [5]);
  });
});
