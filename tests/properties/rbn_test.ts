// Properties of representative batch normalization (Gao et al., CVPR 2021), stated on the
// paper's equations (rbn_equations.ts) and checked against nn/ on every backend.
// X is N×C×H×W; E and Var are per channel over N, H, W; K_m is the mean over H, W.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { BatchNorm2d, rbn, RepresentativeBatchNorm2d } from "../../nn/mod.ts";
import { assertClose, type RbnParams, rbnParams } from "../../testing/mod.ts";
import { gradcheckRbn } from "../helpers/rbn_gradcheck.ts";
import { type BackendCase, forEachBackend } from "./backends.ts";
import { channelMean, channelVar, rbnTerms } from "./rbn_equations.ts";

const params = (c: BackendCase) => rbnParams({ backend: c.backend, dtype: c.dtype });

/** `p` with some parameters replaced by constants of the same shape. */
function withConst(p: RbnParams, values: Partial<Record<keyof RbnParams, number>>): RbnParams {
  const out = { ...p };
  for (const [k, v] of Object.entries(values) as [keyof RbnParams, number][]) {
    const like = p[k] as Tensor;
    (out as Record<string, unknown>)[k] = Tensor.full(like.shape, v, {
      dtype: like.dtype,
      backend: like.backend,
    });
  }
  return out;
}

/** An RBN layer holding the parameters and running statistics of `p`. */
function rbnLayer(p: RbnParams, c: BackendCase): RepresentativeBatchNorm2d {
  const layer = new RepresentativeBatchNorm2d(p.x.shape[1], {
    dtype: c.dtype,
    backend: c.backend,
    eps: p.eps,
    momentum: p.momentum,
  });
  layer.center_weight = p.centerWeight;
  layer.scale_weight = p.scaleWeight;
  layer.scale_bias = p.scaleBias;
  layer.weight = p.weight;
  layer.bias = p.bias;
  layer.running_mean = p.runningMean;
  layer.running_var = p.runningVar;
  return layer;
}

Deno.test("RBN: nn/ computes the paper's equations, in training and evaluation mode", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (p) => {
        const train = rbnLayer(p, c);
        await assertClose(train.forward(p.x), rbnTerms(p, true).y, c.tol);
        const evaluate = rbnLayer(p, c).eval();
        await assertClose(evaluate.forward(p.x), rbnTerms(p, false).y, c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN property 1 (centering): E[X_cm] = (1 + w_m)·E[X] per channel", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (p) => {
        const { Xcm, EX } = rbnTerms(p, true);
        await assertClose(channelMean(Xcm), p.centerWeight.add(1).mul(EX), c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN property 2: X_cal − X_no = w_m·(K_m − E[X]) elementwise", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (p) => {
        const { Xcm, EX, Km } = rbnTerms(p, true);
        const Xcal = Xcm.sub(channelMean(Xcm));
        const Xno = p.x.sub(EX);
        await assertClose(Xcal.sub(Xno), p.centerWeight.mul(Km.sub(EX)).expand(p.x.shape), c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN property 3: Var(X_cs) <= τ²·Var(X_s) <= Var(X_s) in training mode", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (p) => {
        const { Xs, R } = rbnTerms(p, true);
        // X_cs from nn/ itself: without γ and β the functional form returns X_s ⊙ R.
        const { y: Xcs } = rbn(p.x, { ...p, weight: null, bias: null, training: true });
        const tau = R.max(0); // τ_c = max over the batch of the gate, per channel
        const [vcs, vs, tc] = await Promise.all(
          [channelVar(Xcs), channelVar(Xs), tau].map(async (t) => [...await t.data()]),
        );
        for (let k = 0; k < vs.length; k++) {
          assert.ok(tc[k] < 1, `τ = ${tc[k]} must be below 1`);
          const bound = tc[k] * tc[k] * vs[k];
          const slack = c.tol.atol + c.tol.rtol * vs[k];
          assert.ok(vcs[k] <= bound + slack, `channel ${k}: Var(X_cs) ${vcs[k]} > τ²Var ${bound}`);
          assert.ok(bound <= vs[k], `channel ${k}: τ²Var(X_s) ${bound} > Var(X_s) ${vs[k]}`);
        }
      }),
      c.runs,
    ));
});

Deno.test("RBN property 4: w_m = w_v = 0 gives BatchNorm with γ' = γ·sigmoid(w_b)", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (q) => {
        const p = withConst(q, { centerWeight: 0, scaleWeight: 0 });
        const ch = p.x.shape[1];
        const r = rbnLayer(p, c);
        const bn = new BatchNorm2d(ch, {
          dtype: c.dtype,
          backend: c.backend,
          eps: p.eps,
          momentum: p.momentum,
        });
        bn.weight = p.weight.mul(p.scaleBias.sigmoid()).reshape([ch]);
        bn.bias = p.bias.reshape([ch]);
        bn.running_mean = p.runningMean;
        bn.running_var = p.runningVar;
        // Training mode, then the running statistics, then evaluation mode with them.
        await assertClose(r.forward(p.x), bn.forward(p.x), c.tol);
        await Promise.all([r.commitState(), bn.commitState()]);
        await assertClose(r.running_mean!, bn.running_mean!, c.tol);
        await assertClose(r.running_var!, bn.running_var!, c.tol);
        await assertClose(r.num_batches_tracked!, bn.num_batches_tracked!, c.tol);
        r.eval(), bn.eval();
        await assertClose(r.forward(p.x), bn.forward(p.x), c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN property 5: w_m = −1 removes each instance's mean, so E[X_cm] = 0", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (q) => {
        const p = withConst(q, { centerWeight: -1 });
        const { Xcm } = rbnTerms(p, true);
        const zeros = new Array(p.x.shape[0] * p.x.shape[1]).fill(0);
        // Each instance's spatial mean vanishes, up to rounding relative to |X| <= 3.
        const atol = 10 * c.tol.atol + 3 * c.tol.rtol;
        await assertClose(Xcm.mean([2, 3]), zeros, { rtol: 0, atol });
        await assertClose(channelMean(Xcm), zeros.slice(0, p.x.shape[1]), { rtol: 0, atol });
        // nn/ agrees: with momentum 1 the running mean is E[X_cm] itself.
        const layer = rbnLayer({ ...p, momentum: 1 }, c);
        layer.forward(p.x);
        await layer.commitState();
        await assertClose(layer.running_mean!, zeros.slice(0, p.x.shape[1]), { rtol: 0, atol });
      }),
      c.runs,
    ));
});

Deno.test("RBN property 6: one training step sets running_mean = (1 − m)·r₀ + m·(1 + w_m)·E[X]", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), async (p) => {
        const layer = rbnLayer(p, c);
        layer.forward(p.x);
        await layer.commitState();
        const m = p.momentum;
        const EX = channelMean(p.x).reshape([p.x.shape[1]]);
        const wm = p.centerWeight.reshape([p.x.shape[1]]);
        const expected = p.runningMean.mul(1 - m).add(wm.add(1).mul(EX).mul(m));
        await assertClose(layer.running_mean!, expected, c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN property 7: in evaluation mode a sample's output ignores the rest of the batch", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(params(c), fc.nat(), async (p, pick) => {
        const layer = rbnLayer(p, c).eval();
        const n = p.x.shape[0], i = pick % n;
        const whole = layer.forward(p.x).slice([[i, i + 1]]);
        const alone = layer.forward(p.x.slice([[i, i + 1]]));
        await assertClose(alone, whole, c.tol);
        // Replacing the other samples (here: by the negated batch) changes nothing either.
        const others = Tensor.concat([p.x.slice([[i, i + 1]]), p.x.neg()], 0);
        await assertClose(layer.forward(others).slice([[0, 1]]), whole, c.tol);
      }),
      c.runs,
    ));
});

Deno.test("RBN: gradients with respect to the input and every parameter match finite differences", async (t) => {
  await forEachBackend(
    t,
    (c) =>
      fc.assert(
        fc.asyncProperty(params(c), fc.boolean(), async (p, training) => {
          // Near-constant channels make normalization ill-conditioned (derivatives grow like
          // Var^(-k/2)), so finite differences need Var(X_cm) and the running variance to be
          // well away from zero; 0.05 keeps the error terms of gradcheck below 1e-8.
          const v = await channelVar(rbnTerms(p, true).Xcm).data();
          fc.pre(v.every((e) => e >= 0.05));
          await gradcheckRbn(p, { training, withRunningStats: true });
        }),
        { numRuns: 10 },
      ),
    { needsFloat64: true },
  );
});
