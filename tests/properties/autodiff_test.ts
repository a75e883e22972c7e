// Laws of reverse-mode autodiff on random graphs of ops, on every backend.

import fc from "fast-check";
import { grad, gradients, type Tensor, vjp } from "../../mod.ts";
import { assertClose, gradcheck, opGraph, shape, tensor } from "../../testing/mod.ts";
import { type BackendCase, forEachBackend } from "./backends.ts";

/** A random graph of `arity` inputs with matching input tensors and one cotangent-like tensor. */
function graphWithInputs(c: BackendCase, arity: number) {
  return opGraph({ arity, maxSteps: 5, shape: shape({ maxRank: 3, maxExtent: 3 }) }).chain((g) => {
    const t = tensor({ shape: g.shape, dtype: c.dtype, backend: c.backend });
    return fc.tuple(fc.constant(g), fc.array(t, { minLength: arity + 2, maxLength: arity + 2 }));
  });
}

const dot = (a: Tensor, b: Tensor) => a.mul(b).sum();

Deno.test("autodiff law: gradients match finite differences on random graphs", async (t) => {
  await forEachBackend(
    t,
    (c) =>
      fc.assert(
        fc.asyncProperty(graphWithInputs(c, 2), ([g, [x, y]]) => gradcheck(g.apply, [x, y])),
        c.runs,
      ),
    { needsFloat64: true },
  );
});

Deno.test("autodiff law: the gradient is linear in the function", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(
        graphWithInputs(c, 2),
        fc.double({ min: -2, max: 2, noNaN: true }),
        fc.double({ min: -2, max: 2, noNaN: true }),
        async ([g, [x, y, w]], a, b) => {
          const f = (x: Tensor) => dot(g.apply(x, y), w);
          const h = (x: Tensor) => dot(g.apply(y, x), w);
          const lhs = grad((x: Tensor) => f(x).mul(a).add(h(x).mul(b)))(x);
          const rhs = grad(f)(x).mul(a).add(grad(h)(x).mul(b));
          await assertClose(lhs, rhs, c.tol);
        },
      ),
      c.runs,
    ));
});

Deno.test("autodiff law: chain rule through composition", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(graphWithInputs(c, 1), async ([g, [x, w]]) => {
        // d/dx Σ w·sin(g(x)) = vjp of g with cotangent w·cos(g(x)).
        const outer = grad((x: Tensor) => dot(g.apply(x).sin(), w))(x);
        const [gx, pullback] = vjp((x: Tensor) => g.apply(x), x);
        const [inner] = pullback(w.mul(gx.cos()));
        await assertClose(outer, inner, c.tol);
      }),
      c.runs,
    ));
});

Deno.test("autodiff law: mixed second derivatives are symmetric", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(graphWithInputs(c, 2), async ([g, [x, y, u, v]]) => {
        // <v, ∂/∂y <u, ∂s/∂x>> = <u, ∂/∂x <v, ∂s/∂y>> for s = Σ g(x, y)·u.
        const s = (x: Tensor, y: Tensor) => dot(g.apply(x, y), u);
        const [gx] = gradients(s(x, y), [x]);
        const [gxy] = gradients(dot(gx, u), [y]);
        const [gy] = gradients(s(x, y), [y]);
        const [gyx] = gradients(dot(gy, v), [x]);
        await assertClose(dot(gxy, v), dot(gyx, u), c.tol);
      }),
      c.runs,
    ));
});

Deno.test("autodiff law: the gradient of a sum is ones, through any movement", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(
        tensor({ shape: shape({ maxRank: 3, maxExtent: 3 }), dtype: c.dtype, backend: c.backend }),
        async (x) => {
          const ones = new Array(x.size).fill(1);
          await assertClose(grad((x: Tensor) => x.sum())(x), ones, { rtol: 0, atol: 0 });
          const reversed = x.shape.map((_, i) => x.ndim - 1 - i);
          const moved = (x: Tensor) =>
            x.permute(...reversed).reshape([x.size]).pad([[1, 2]]).slice([[1, 1 + x.size]]).sum();
          await assertClose(grad(moved)(x), ones, { rtol: 0, atol: 0 });
        },
      ),
      c.runs,
    ));
});

Deno.test("autodiff law: grad, vjp and gradients agree", async (t) => {
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(graphWithInputs(c, 2), async ([g, [x, y, w]]) => {
        const [, pullback] = vjp((x: Tensor, y: Tensor) => g.apply(x, y), x, y);
        const [vx, vy] = pullback(w);
        const [gx, gy] = gradients(g.apply(x, y), [x, y], w);
        const [ax, ay] = grad((x: Tensor, y: Tensor) => dot(g.apply(x, y), w), {
          argnums: [0, 1],
        })(x, y) as unknown as Tensor[];
        for (const [a, b] of [[vx, gx], [vy, gy], [ax, gx], [ay, gy]]) {
          await assertClose(a, b, c.tol);
        }
      }),
      c.runs,
    ));
});
