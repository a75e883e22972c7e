import fc from "fast-check";
import type { Tensor } from "../../mod.ts";
import { rbn } from "../../nn/mod.ts";
import { assertClose, rbnParams } from "../../testing/mod.ts";
import { gradcheckRbn } from "../helpers/rbn_gradcheck.ts";

const backend = "interpreter";

Deno.test("RBN gradients match finite differences for every input (training mode)", async () => {
  await fc.assert(
    fc.asyncProperty(rbnParams({ spatial: [2, 3], backend }), async (p) => {
      // Finite differences need a well-conditioned point: each channel of the centered input
      // must have a variance well above eps (at variance 0, 1/sqrt(var + eps) is steep).
      const centered = p.x.add(p.centerWeight.mul(p.x.mean([2, 3], { keepdims: true })));
      const minVar = Math.min(...await centered.var([0, 2, 3], { correction: 0 }).data());
      fc.pre(minVar > 0.1);
      await gradcheckRbn(p, { training: true, withRunningStats: false }, {
        rtol: 1e-5,
        atol: 1e-7,
      });
    }),
    { numRuns: 15, seed: 11 },
  );
});

Deno.test("RBN in eval mode: each sample's output depends on that sample only", async () => {
  await fc.assert(
    fc.asyncProperty(rbnParams({ backend }), async (p) => {
      const run = (x: Tensor) => rbn(x, { ...p, training: false }).y;
      const whole = run(p.x);
      for (let i = 0; i < p.x.shape[0]; i++) {
        const alone = run(p.x.slice([[i, i + 1]]));
        await assertClose(alone, whole.slice([[i, i + 1]]), { rtol: 1e-12, atol: 1e-12 });
      }
    }),
    { numRuns: 20, seed: 12 },
  );
});

Deno.test("RBN with zero calibration weights is batch norm times σ(w_b)", async () => {
  await fc.assert(
    fc.asyncProperty(rbnParams({ spatial: [2, 3], backend }), async (p) => {
      const zero = p.centerWeight.mul(0);
      const y = rbn(p.x, { ...p, centerWeight: zero, scaleWeight: zero, training: true }).y;
      const mean = p.x.mean([0, 2, 3], { keepdims: true });
      const variance = p.x.sub(mean).square().mean([0, 2, 3], { keepdims: true });
      const bn = p.x.sub(mean).div(variance.add(p.eps).sqrt());
      const expected = bn.mul(p.scaleBias.sigmoid()).mul(p.weight).add(p.bias);
      await assertClose(y, expected, { rtol: 1e-10, atol: 1e-12 });
    }),
    { numRuns: 20, seed: 13 },
  );
});
