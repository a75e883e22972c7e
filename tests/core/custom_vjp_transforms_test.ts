// Custom VJP rules survive the graph-to-graph transforms: `vmap` (grad of vmap, jacrev of vmap,
// vmap of vmap, inside jit) and the substitution of stand-in leaves by `grad`, `vjp`, `jvp` and
// the Jacobians. Every rule here differs visibly from the true derivative of its forward, so a
// transform that drops the rule (and differentiates the primitives instead) fails the check.
//
// Tolerances: each value is a handful of float operations on numbers of order 1, computed the
// same way per sample by the batched program and by the per-sample reference, so they agree to
// the backend case's rounding tolerance (backends.ts: 1e-10 in float64, 1e-4 in float32 on
// WebGPU, where fusion may reorder a reduction's additions).

import { strict as assert } from "node:assert";
import {
  customVjp,
  defineCustomVjp,
  grad,
  gradients,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  realize,
  Tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { type BackendCase, forEachBackend } from "../properties/backends.ts";

/**
 * A straight-through estimator: the forward is a step (true derivative 0 everywhere), the
 * backward passes the cotangent where |x| <= 1 (the hard-tanh STE), so it reads the forward's
 * argument too.
 */
const ste = customVjp(
  (x: Tensor) => x.gt(0).cast(x.dtype),
  (g, _out, x) => [g.mul(x.abs().le(1).cast(x.dtype))],
);

/** x·w with a rule that doubles x's cotangent and negates w's (true: g·w and g·x). */
const skewed = customVjp(
  (x: Tensor, w: Tensor) => x.mul(w),
  (g, _out, x, w) => [g.mul(w).mul(2), g.mul(x).neg()],
);

/** sin(x) with the cotangent clipped to [-0.5, 0.5] first: a rule nonlinear in g. */
const clippedSin = customVjp(
  (x: Tensor) => x.sin(),
  (g, _out, x) => [g.clamp(-0.5, 0.5).mul(x.cos())],
);

/** The custom derivative of `ste`, written out: 1 where |x| <= 1, else 0. */
const steGrad = (x: Tensor) => x.abs().le(1).cast(x.dtype);

/** Row `i` of `x`. */
const row = (x: Tensor, i: number) => x.slice([[i, i + 1]]).squeeze(0);

/** Stacks `f(row i of each of xs)` over the rows. */
function perRow(f: (...xs: Tensor[]) => Tensor, ...xs: Tensor[]): Tensor {
  return Tensor.stack(
    Array.from({ length: xs[0].shape[0] }, (_, i) => f(...xs.map((x) => row(x, i)))),
  );
}

const on = (c: BackendCase) => (data: number[][] | number[]) =>
  Tensor.from(data, { dtype: c.dtype, backend: c.backend });

/** Inputs with elements on both sides of 0 and of |x| = 1, so the STE mask is not constant. */
const XS = [[-2, -0.5, 0.25, 1.5], [0.75, -1.25, 3, -0.125], [0.5, 0.5, -3, 1]];

/** Checks on every backend, each given the backend case, `XS` and a shared vector `w` there. */
const VMAP_CASES: [string, (c: BackendCase, xs: Tensor, w: Tensor) => Promise<void>][] = [
  ["one argument", async (c, xs, _w) => {
    const got = grad((xs: Tensor) => vmap(ste)(xs).sum())(xs);
    const want = perRow((x) => grad((x: Tensor) => ste(x).sum())(x), xs);
    await realize(got, want);
    await assertClose(got, want, c.tol);
    // The reference is the custom rule, not the true derivative (zero everywhere).
    await assertClose(want, steGrad(xs), c.tol);
  }],
  ["a shared argument's cotangent sums the per-sample ones", async (c, xs, w) => {
    const loss = (xs: Tensor, w: Tensor) => vmap(skewed, { inAxes: [0, null] })(xs, w).sum();
    const [gx, gw] = grad(loss, { argnums: [0, 1] })(xs, w) as unknown as Tensor[];
    const per = (x: Tensor) =>
      grad((x: Tensor, w: Tensor) => skewed(x, w).sum(), { argnums: [0, 1] })(x, w);
    const rows = XS.map((_, i) => per(row(xs, i)) as unknown as Tensor[]);
    const wantX = Tensor.stack(rows.map((r) => r[0]));
    const wantW = rows.map((r) => r[1]).reduce((a, b) => a.add(b));
    await realize(gx, gw, wantX, wantW);
    await assertClose(gx, wantX, c.tol);
    await assertClose(gw, wantW, c.tol);
    await assertClose(wantW, xs.sum(0).neg(), c.tol); // the rule's -g·x, not the true g·x
  }],
  ["a rule nonlinear in the cotangent", async (c, xs, _w) => {
    // The cotangent is 3 per element, so clipping to 0.5 changes it.
    const got = grad((xs: Tensor) => vmap(clippedSin)(xs).mul(3).sum())(xs);
    await assertClose(got, xs.cos().mul(0.5), c.tol);
  }],
  ["vmap of vmap", async (c, xs, _w) => {
    const xss = Tensor.stack([xs, xs.neg()]);
    const got = grad((x: Tensor) => vmap(vmap(ste))(x).sum())(xss);
    await assertClose(got, steGrad(xss), c.tol);
  }],
  ["jacrev of vmap is block diagonal with the custom blocks", async (c, xs, _w) => {
    const J = jacrev((xs: Tensor) => vmap(ste)(xs))(xs) as Tensor;
    assert.deepEqual(J.shape, [3, 4, 3, 4]);
    const mask = XS.map((r) => r.map((x) => (Math.abs(x) <= 1 ? 1 : 0)));
    const want = on(c)(
      XS.flatMap((r, i) =>
        r.map((_, j) => XS.flatMap((q, k) => q.map((_, l) => i === k && j === l ? mask[i][j] : 0)))
      ),
    ).reshape([3, 4, 3, 4]);
    await assertClose(J, want, c.tol);
  }],
  ["vmap then grad inside jit", async (c, xs, w) => {
    const step = jit((xs: Tensor, w: Tensor) => ({
      g: grad((w: Tensor) => vmap(skewed, { inAxes: [0, null] })(xs, w).sum())(w),
    }));
    const { g } = await step(xs, w);
    await assertClose(g, xs.sum(0).neg(), c.tol);
  }],
  ["vmap of grad (the rule is built before batching)", async (c, xs, _w) => {
    const got = vmap(grad((x: Tensor) => ste(x).sum()))(xs);
    await assertClose(got, steGrad(xs), c.tol);
  }],
];

for (const [name, check] of VMAP_CASES) {
  Deno.test(`customVjp under vmap: ${name}`, async (t) => {
    await forEachBackend(t, (c) => check(c, on(c)(XS), on(c)([0.5, -1, 2, 3])));
  });
}

/** x² whose rule is `ste(x)·g`: a custom rule whose backward graph holds a custom node. */
const gated = customVjp((x: Tensor) => x.mul(x), (g, _out, x) => [ste(x).mul(g)]);

/** A custom function built from another: the outer rule (5·g) replaces the inner one. */
const wrapped = customVjp((x: Tensor) => ste(x).mul(3), (g) => [g.mul(5)]);

Deno.test("customVjp: nested rules", async (t) => {
  await forEachBackend(t, async (c) => {
    // A fresh buffer per check: nodes are hash-consed, so checks on one tensor would share the
    // custom nodes (and rules) that an earlier check built.
    const fresh = () => on(c)(XS);
    // Second order through the rule's own custom node: d/dx Σ ste(x) = steGrad(x).
    const second = grad((x: Tensor) => grad((x: Tensor) => gated(x).sum())(x).sum());
    const x1 = fresh();
    await assertClose(second(x1), steGrad(x1), c.tol);
    const batched = grad((xs: Tensor) => vmap(grad((x: Tensor) => gated(x).sum()))(xs).sum());
    const x2 = fresh();
    await assertClose(batched(x2), steGrad(x2), c.tol);
    const inner = grad((xs: Tensor) => vmap(wrapped)(xs).sum());
    const xs = fresh();
    await assertClose(inner(xs), xs.mul(0).add(5), c.tol);
  });
});

Deno.test("customVjp: rules survive the substitution of lazy arguments", async (t) => {
  await forEachBackend(t, async (c) => {
    // `p` is a leaf and `x = 2p` a lazy argument, traced through a stand-in and substituted
    // back; gradients reaching `p` through a result must still use the custom rule.
    const p = on(c)(XS).mul(0.5);
    const x = p.mul(2);
    const want = steGrad(x).mul(2);
    const [value] = valueAndGrad((x: Tensor) => ste(x).sum())(x);
    await assertClose(gradients(value, [p])[0], want, c.tol);
    const [out] = vjp(ste, x);
    await assertClose(gradients(out.sum(), [p])[0], want, c.tol);
    const [y] = jvp((x: Tensor) => ste(x), [x], [null]);
    await assertClose(gradients(y.sum(), [p])[0], want, c.tol);
    const [z] = linearize((x: Tensor) => ste(x), x);
    await assertClose(gradients(z.sum(), [p])[0], want, c.tol);
    // jacrev(gated) is diag(ste(x)): its graph holds the custom node of the rule.
    const J = jacrev(gated)(x) as Tensor;
    await assertClose(gradients(J.sum(), [p])[0], want, c.tol);
  });
});

Deno.test("customVjp in forward mode: the tangent is the transpose of the rule", async (t) => {
  await forEachBackend(t, async (c) => {
    const fresh = () => on(c)(XS);
    const v = on(c)([[1, 2, -1, 0.5], [-2, 1, 1, 3], [0.5, -0.5, 2, 1]]);
    const x1 = fresh();
    const [, d] = jvp(ste, [x1], [v]);
    await assertClose(d, steGrad(x1).mul(v), c.tol); // the true tangent is 0
    // Both arguments moving: J·t = 2w·tx − x·tw, the transpose of the skewed rule.
    const x2 = fresh(), w = v.mul(-0.5).add(1), tw = v.square().sub(1); // shaped like x
    const [, e] = jvp((x: Tensor, w: Tensor) => skewed(x, w), [x2, w], [v, tw]);
    await assertClose(e, w.mul(v).mul(2).sub(x2.mul(tw)), c.tol);
    // A rule nonlinear in g is linearized at g = 0, where the clip is the identity.
    const x3 = fresh();
    await assertClose(jvp(clippedSin, [x3], [v])[1], x3.cos().mul(v), c.tol);
    // jacfwd agrees with jacrev, and linearize with jvp.
    const x4 = fresh();
    await assertClose(jacfwd(skewed)(x4, w) as Tensor, jacrev(skewed)(x4, w) as Tensor, c.tol);
    const x5 = fresh();
    await assertClose(linearize(ste, x5)[1](v), steGrad(x5).mul(v), c.tol);
  });
});

Deno.test("customVjp: hessian (forward over reverse) uses the rule at both levels", async (t) => {
  await forEachBackend(t, async (c) => {
    // f = Σ ste(x)·x²: with the rule as ste's derivative, f'' = 4x·steGrad(x) + 2·ste(x) on the
    // diagonal; differentiating the forward's primitives instead would drop the first term.
    const f = (x: Tensor) => ste(x).mul(x.square()).sum();
    const x = on(c)(XS[0]);
    const H = hessian(f)(x) as Tensor;
    const Hrr = jacrev(jacrev(f))(x) as Tensor;
    const diag = x.mul(4).mul(steGrad(x)).add(x.gt(0).cast(c.dtype).mul(2));
    const eye = on(c)([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]);
    await assertClose(H, eye.mul(diag), c.tol);
    await assertClose(Hrr, eye.mul(diag), c.tol);
  });
});

Deno.test("conv2d (an exact rule) in forward mode: its bilinear expansion", async (t) => {
  await forEachBackend(t, async (c) => {
    // conv2d's rule is declared exact, so forward mode differentiates its primitives (cheaper
    // than transposing the rule). It is bilinear: its JVP is conv(tx, w) + conv(x, tw), computed
    // here without differentiating (sums of a few dozen products: the backend case's tolerance).
    const geometries = [
      {},
      { stride: 2, padding: 1 },
      { dilation: 2, padding: [1, 0] as [number, number] },
      { groups: 2, stride: [1, 2] as [number, number] },
    ];
    for (const [k, opts] of geometries.entries()) {
      const r = (shape: readonly number[], seed: number) =>
        Tensor.rand(shape, { seed: 10 * k + seed, dtype: c.dtype, backend: c.backend }).sub(0.5);
      const x = r([2, 4, 5, 6], 1), w = r([4, 4 / (opts.groups ?? 1), 3, 2], 2);
      const tx = r(x.shape, 3), tw = r(w.shape, 4);
      const [, d] = jvp((x: Tensor, w: Tensor) => x.conv2d(w, opts), [x, w], [tx, tw]);
      const want = tx.conv2d(w, opts).add(x.conv2d(tw, opts));
      await assertClose(d, want, { ...c.tol, msg: `conv2d ${JSON.stringify(opts)}` });
    }
  });
});

/** sin(x), with a rule that also gives `y` (which the forward ignores) the cotangent 2g. */
const ignoring = customVjp(
  (x: Tensor, _y: Tensor) => x.sin(),
  (g, _out, x) => [g.mul(x.cos()), g.mul(2)],
);

Deno.test("customVjp under vmap: edges", async (t) => {
  await forEachBackend(t, async (c) => {
    // An argument the forward never reads still gets the rule's cotangent, batched or shared.
    const xs = on(c)(XS), ys = on(c)(XS).neg();
    const [gx, gy] = grad(
      (xs: Tensor, ys: Tensor) => vmap(ignoring)(xs, ys).sum(),
      { argnums: [0, 1] },
    )(xs, ys) as unknown as Tensor[];
    await assertClose(gx, xs.cos(), c.tol);
    await assertClose(gy, ys.mul(0).add(2), c.tol);
    const y = on(c)([1, 2, 3, 4]);
    const gShared = grad((y: Tensor) => vmap(ignoring, { inAxes: [0, null] })(xs, y).sum())(y);
    await assertClose(gShared, y.mul(0).add(6), c.tol); // 2 per sample, 3 samples
    // Batches of one and of none: a shared argument's cotangent sums one sample, or none (0).
    for (const rows of [1, 0]) {
      const few = on(c)(XS.slice(0, rows).flat()).reshape([rows, 4]);
      const w = on(c)([0.5, -1, 2, 3]);
      const gw = grad((w: Tensor) => vmap(skewed, { inAxes: [0, null] })(few, w).sum())(w);
      await assertClose(gw, few.sum(0).neg(), { ...c.tol, msg: `${rows} rows` });
    }
  });
});

Deno.test("defineCustomVjp: an exact rule leaves forward mode to the primitives", async (t) => {
  await forEachBackend(t, async (c) => {
    // A deliberately wrong rule declared exact: reverse mode uses it, forward mode (also under
    // vmap, which carries the flag) differentiates x² itself: 2x·v.
    const square = (x: Tensor) => {
      const out = x.mul(x);
      defineCustomVjp(out.node, [x.node], (g) => [g], { exact: true });
      return out;
    };
    const xs = on(c)(XS), v = xs.mul(0).add(1);
    await assertClose(grad((x: Tensor) => square(x).sum())(xs), v, c.tol);
    await assertClose(jvp(square, [xs], [v])[1], xs.mul(2), c.tol);
    await assertClose(jvp(vmap(square), [xs], [v])[1], xs.mul(2), c.tol);
    await assertClose(grad((x: Tensor) => vmap(square)(x).sum())(on(c)(XS)), v, c.tol);
  });
});
