// Jacobians and Hessians: closed-form Hessians against their analytic values, jacfwd against
// jacrev on random programs, trees and argnums, one program per Jacobian, errors.
//
// Tolerances: the analytic Hessians below are evaluated with the same float64 ops in a different
// order, so they agree to rounding (~1e-15 relative on values of order 1): 1e-12 is strict.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { backendStats, realize, Tensor } from "../../mod.ts";
import { eyeNode, hessian, jacfwd, jacrev } from "../../core/jacobian.ts";
import { constNode } from "../../core/ir.ts";
import { assertClose, opGraph, shape, tensor } from "../../testing/mod.ts";
import { BACKEND, f64, RUNS, t64, values } from "./helpers.ts";
import { forEachBackend } from "../properties/backends.ts";

const tol = { rtol: 1e-12, atol: 1e-12 };

/** `diag(v)` for a 1-D `v`. */
const diag = (v: Tensor) => v.unsqueeze(1).mul(eye(v.shape[0]));
const eye = (n: number) => new Tensor(eyeNode(n, constNode(0, [], "float64")), BACKEND);
const outer = (a: Tensor, b: Tensor) => a.unsqueeze(1).mul(b.unsqueeze(0));

Deno.test("eyeNode is the identity for every size", async () => {
  for (const n of [1, 2, 3, 5]) {
    const want = Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0));
    assert.deepEqual(await values(eye(n)), want);
  }
});

Deno.test("hessian of closed-form functions equals the analytic Hessian", async (t) => {
  const vec = t64({ shape: shape({ minRank: 1, maxRank: 1, maxExtent: 4 }) });
  await t.step("Σ x³: diag(6x)", () =>
    fc.assert(
      fc.asyncProperty(vec, async (x) => {
        const H = hessian((x: Tensor) => x.mul(x).mul(x).sum())(x);
        await assertClose(H, diag(x.mul(6)), tol);
      }),
      RUNS,
    ));
  await t.step("½ xᵀAx: (A + Aᵀ)/2", () =>
    fc.assert(
      fc.asyncProperty(
        vec.chain((x) => fc.tuple(fc.constant(x), t64({ shape: [x.shape[0], x.shape[0]] }))),
        async ([x, A]) => {
          const f = (x: Tensor) => x.unsqueeze(0).matmul(A).matmul(x.unsqueeze(1)).sum().mul(0.5);
          await assertClose(hessian(f)(x), A.add(A.transpose()).mul(0.5), tol);
        },
      ),
      RUNS,
    ));
  await t.step("log Σ exp(x): diag(p) - p pᵀ with p = softmax(x)", () =>
    fc.assert(
      fc.asyncProperty(vec, async (x) => {
        const p = x.softmax(0);
        const H = hessian((x: Tensor) => x.exp().sum().log())(x);
        await assertClose(H, diag(p).sub(outer(p, p)), tol);
      }),
      RUNS,
    ));
  await t.step("a matrix argument: Σ sin(X) has blocks -sin(X) on its diagonal", async () => {
    const X = f64([[0.5, -1], [2, 0.25]]);
    const H = hessian((x: Tensor) => x.sin().sum())(X);
    assert.deepEqual(H.shape, [2, 2, 2, 2]);
    const flat = H.reshape([4, 4]);
    await assertClose(flat, diag(X.sin().neg().reshape([4])), tol);
  });
  await t.step("a tree argument: Σ a²·b", async () => {
    const a = f64([1, 2]), b = f64([3, -1]);
    const H = hessian(({ a, b }: { a: Tensor; b: Tensor }) => a.mul(a).mul(b).sum())({ a, b });
    await assertClose(H.a.a, diag(b.mul(2)), tol);
    await assertClose(H.a.b, diag(a.mul(2)), tol);
    await assertClose(H.b.a, diag(a.mul(2)), tol);
    await assertClose(H.b.b, f64([[0, 0], [0, 0]]), tol);
  });
});

Deno.test("jacobian law: jacfwd equals jacrev on random programs", async () => {
  // Forward and reverse mode build the same derivatives with different rule tables; in float64
  // they agree to rounding over a few dozen ops.
  await fc.assert(
    fc.asyncProperty(
      opGraph({ arity: 2, maxSteps: 5, shape: shape({ maxRank: 2, maxExtent: 3 }) }).chain((g) =>
        fc.tuple(
          fc.constant(g),
          fc.array(tensor({ shape: g.shape, dtype: "float64", backend: BACKEND }), {
            minLength: 2,
            maxLength: 2,
          }),
        )
      ),
      async ([g, [x, y]]) => {
        const h = (x: Tensor, y: Tensor) => g.apply(x, y);
        const fwd = jacfwd(h, { argnums: [0, 1] })(x, y) as unknown as Tensor[];
        const rev = jacrev(h, { argnums: [0, 1] })(x, y) as unknown as Tensor[];
        assert.deepEqual(fwd[0].shape, [...g.shape, ...g.shape]);
        await assertClose(fwd[0], rev[0], { rtol: 1e-10, atol: 1e-12 });
        await assertClose(fwd[1], rev[1], { rtol: 1e-10, atol: 1e-12 });
      },
    ),
    RUNS,
  );
});

Deno.test("jacobians: structure, argnums and rows", async (t) => {
  const x = f64([1, 2, 3]), w = f64([[1, 0, 2], [0, 1, -1]]);
  const f = (x: Tensor, w: Tensor) => ({ y: w.matmul(x.unsqueeze(1)).squeeze(1), s: x.sum() });
  await t.step(
    "a tree result holds one block per output leaf; argnums picks the input",
    async () => {
      for (const jac of [jacrev, jacfwd]) {
        const J = jac(f)(x, w);
        assert.deepEqual(J.y.shape, [2, 3]);
        assert.deepEqual(J.s.shape, [3]);
        await assertClose(J.y, w, tol);
        await assertClose(J.s, f64([1, 1, 1]), tol);
        const Jw = jac(f, { argnums: 1 })(x, w);
        assert.deepEqual(Jw.y.shape, [2, 2, 3]);
        // d y_i / d w_jk = [i = j] · x_k
        await assertClose(
          Jw.y,
          eye(2).unsqueeze(2).mul(x.reshape([1, 1, 3])),
          tol,
        );
      }
    },
  );
  await t.step(
    "a Jacobian is one program: its kernel count does not grow with its size",
    async () => {
      const kernels = async (n: number) => {
        const x = Tensor.rand([n], { seed: n, dtype: "float64", backend: "cpu" });
        await x.realize();
        const before = (await backendStats("cpu")).kernelsRun;
        const H = hessian((x: Tensor) => x.sin().mul(x).sum().exp())(x);
        const J = jacrev((x: Tensor) => x.tanh().mul(x.max()))(x);
        await realize(H, J);
        return (await backendStats("cpu")).kernelsRun - before;
      };
      const [k3, k7] = [await kernels(3), await kernels(7)];
      assert.equal(k3, k7, `kernels for n = 3 (${k3}) and n = 7 (${k7}) should be equal`);
    },
  );
});

Deno.test("jacobians: bad input fails clearly", () => {
  const x = f64([1, 2]);
  assert.throws(
    () => hessian((x: Tensor) => x.mul(2))(x),
    /hessian: f must return a tensor with one element, got shape \[2\]/,
  );
  assert.throws(() => jacrev((x: Tensor) => x, { argnums: 2 })(x), /argnums 2 is out of range/);
  assert.throws(
    () => jacfwd((x: Tensor) => x.gt(0))(x),
    /jacfwd: output leaf 0 has dtype bool; expected float32 or float64/,
  );
});

Deno.test("jacobian law: jacfwd equals jacrev and hessian is symmetric on every backend", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(
        opGraph({ arity: 1, maxSteps: 5, shape: shape({ maxRank: 2, maxExtent: 3 }) }).chain((g) =>
          fc.tuple(fc.constant(g), tensor({ shape: g.shape, dtype: c.dtype, backend: c.backend }))
        ),
        async ([g, x]) => {
          const h = (x: Tensor) => g.apply(x);
          const [fwd, rev] = [jacfwd(h)(x), jacrev(h)(x)];
          const n = x.size;
          const H = hessian((x: Tensor) => h(x).square().sum())(x).reshape([n, n]);
          await realize(fwd, rev, H);
          await assertClose(fwd, rev, c.tol);
          await assertClose(H, H.transpose(), c.tol);
        },
      ),
      { numRuns: Math.ceil(c.runs.numRuns / 2) },
    ));
});
