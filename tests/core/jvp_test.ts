// Forward mode: every primitive's JVP rule against fourth-order central differences in float64,
// jvp against vjp on random programs, forward-over-reverse, symbolic zeros, custom VJPs, errors.
//
// Tolerance of the finite-difference checks: rtol 1e-6 / atol 1e-9, as gradcheck's. With step
// h = 1e-3 along a tangent of entries in [-1, 1) the stencil's truncation error is about
// h⁴·|f⁽⁵⁾|/30 and its rounding error about 1.5·2⁻⁵²·|f|/h, both below 1e-9 relative on the
// domains below, so a disagreement above 1e-6 is a wrong rule. Kinked ops get inputs at least
// 0.01 apart, beyond the stencil's reach (2h).

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { customVjp, grad, type Node, realize, Tensor, valueAndGrad, vjp } from "../../mod.ts";
import { JVP_RULES } from "../../core/jvp.ts";
import { toposort } from "../../core/ir.ts";
import { jvp, linearize } from "../../core/transforms.ts";
import { assertClose, broadcastableShapes, opGraph, shape, tensor } from "../../testing/mod.ts";
import { BACKEND, f64, RUNS, t64, values, withPermutation, withSliceSpecs } from "./helpers.ts";
import { forEachBackend } from "../properties/backends.ts";

const small = shape({ minRank: 0, maxRank: 3, maxExtent: 3 });

/** A seeded float64 direction in [-1, 1) shaped like `x`. */
const direction = (x: Tensor, seed: number) =>
  Tensor.rand(x.shape, { seed, low: -1, high: 1, dtype: "float64", backend: x.backend });

/**
 * Checks `jvp(f, xs, vs)` against `(-f(x+2hv) + 8f(x+hv) - 8f(x-hv) + f(x-2hv)) / 12h` along
 * random directions `vs`, element by element of the (any-shaped) output.
 */
async function jvpcheck(f: (...xs: Tensor[]) => Tensor, xs: Tensor[], seed = 1): Promise<void> {
  const vs = xs.map((x, i) => direction(x, seed + i));
  const [, dy] = jvp(f, xs, vs);
  const h = 1e-3;
  const at = (s: number) => f(...xs.map((x, i) => x.add(vs[i].mul(s * h))));
  const [p2, p1, m1, m2] = [at(2), at(1), at(-1), at(-2)];
  const fd = m2.sub(p2).add(p1.sub(m1).mul(8)).div(12 * h);
  await realize(dy, fd);
  await assertClose(dy, fd, { rtol: 1e-6, atol: 1e-9 });
}

async function checkUnary(op: (x: Tensor) => Tensor, min: number, max: number) {
  await fc.assert(
    fc.asyncProperty(t64({ shape: small, min, max }), (x) => jvpcheck(op, [x])),
    RUNS,
  );
}

Deno.test("jvp: unary primitives match finite differences", async (t) => {
  await t.step("neg", () => checkUnary((x) => x.neg(), -3, 3));
  await t.step("exp", () => checkUnary((x) => x.exp(), -2, 2));
  await t.step("log (x in [0.5, 3])", () => checkUnary((x) => x.log(), 0.5, 3));
  await t.step("sqrt (x in [0.5, 3])", () => checkUnary((x) => x.sqrt(), 0.5, 3));
  await t.step("recip (x in [0.5, 3])", () => checkUnary((x) => x.reciprocal(), 0.5, 3));
  await t.step("recip (x in [-3, -0.5])", () => checkUnary((x) => x.reciprocal(), -3, -0.5));
  await t.step("sin", () => checkUnary((x) => x.sin(), -3, 3));
  await t.step("sigmoid", () => checkUnary((x) => x.sigmoid(), -3, 3));
  await t.step("tanh", () => checkUnary((x) => x.tanh(), -3, 3));
  await t.step("floor, round, floor_div and fmod", async () => {
    // Piecewise-constant ops away from their jumps: every quotient a / b and every a is at least
    // 0.1 from an integer and a half-integer, farther than any finite-difference step reaches.
    const a = f64([5.3, -5.3, 7.9, -0.4, 2.6, -8.2]);
    const b = f64([2, 2, -3, 1.5, -1.1, 0.7]);
    const piecewise = (a: Tensor, b: Tensor) =>
      a.fmod(b).add(a.remainder(b).mul(2)).add(a.floorDivide(b).mul(3))
        .add(a.floor().mul(a)).add(a.round().mul(b)).add(a.trunc()).add(a.ceil().mul(b));
    for (const seed of [1, 2, 3]) await jvpcheck(piecewise, [a, b], seed);
  });
});

const broadcastPair = (min = -2, max = 2) =>
  broadcastableShapes({ minRank: 0, maxRank: 3, maxExtent: 3 }).chain(([a, b]) =>
    fc.tuple(t64({ shape: a, min, max }), t64({ shape: b, min, max }))
  );

/** A float64 tensor `[2, ...s]` whose elements are pairwise at least 0.01 apart. */
const distinctPairs = shape({ minRank: 0, maxRank: 2, maxExtent: 3 }).chain((s) =>
  t64({ shape: [2, ...s], min: -2, max: 2, minGap: 0.01 })
);
const halves = (xy: Tensor) => [xy.slice([0]), xy.slice([1])];

Deno.test("jvp: binary primitives, where and comparisons match finite differences", async (t) => {
  await t.step(
    "add (with expand from broadcasting)",
    () =>
      fc.assert(
        fc.asyncProperty(broadcastPair(), ([a, b]) => jvpcheck((a, b) => a.add(b), [a, b])),
        RUNS,
      ),
  );
  await t.step(
    "mul (with expand from broadcasting)",
    () =>
      fc.assert(
        fc.asyncProperty(broadcastPair(), ([a, b]) => jvpcheck((a, b) => a.mul(b), [a, b])),
        RUNS,
      ),
  );
  await t.step("pow (positive base; negative base with an integer exponent)", () =>
    fc.assert(
      fc.asyncProperty(
        broadcastableShapes({ minRank: 0, maxRank: 3, maxExtent: 3 }).chain(([a, b]) =>
          fc.tuple(t64({ shape: a, min: 0.5, max: 3 }), t64({ shape: b, min: -2, max: 2 }))
        ),
        fc.integer({ min: -3, max: 5 }),
        async ([a, b], n) => {
          await jvpcheck((a, b) => a.pow(b), [a, b]);
          const c = Tensor.full(a.shape, n, { dtype: "float64", backend: a.backend });
          await jvpcheck((a) => a.neg().pow(c), [a]);
        },
      ),
      RUNS,
    ));
  await t.step("max away from ties", () =>
    fc.assert(
      fc.asyncProperty(distinctPairs, (xy) =>
        jvpcheck((xy) => {
          const [x, y] = halves(xy);
          return x.maximum(y);
        }, [xy])),
      RUNS,
    ));
  await t.step("cmplt, cmpeq, cast from bool and where", () =>
    fc.assert(
      fc.asyncProperty(distinctPairs, (xy) =>
        jvpcheck((xy) => {
          const [x, y] = halves(xy);
          const mask = x.lt(y).cast("float64").add(x.eq(y).cast("float64"));
          return Tensor.where(x.gt(y), x.exp(), y.sin()).add(mask.mul(x.mul(y)));
        }, [xy])),
      RUNS,
    ));
  await t.step("max at ties takes the mean of both tangents (transpose of the VJP)", async () => {
    const x = f64([1, 2]), y = f64([1, 3]);
    const [, d] = jvp((x: Tensor, y: Tensor) => x.maximum(y), [x, y], [f64([4, 5]), f64([2, 7])]);
    assert.deepEqual(await values(d), [3, 7]);
  });
});

Deno.test("jvp: cast and detach", async (t) => {
  await t.step("cast float64 -> float32 -> float64", () =>
    fc.assert(
      fc.asyncProperty(t64({ shape: small }), async (x) => {
        const v = direction(x, 3);
        const [, d] = jvp((x: Tensor) => x.cast("float32").cast("float64"), [x], [v]);
        assert.equal(d.dtype, "float64");
        assert.deepEqual(await values(d), Array.from(await v.data(), Math.fround));
      }),
      RUNS,
    ));
  await t.step("detach has a zero tangent on exactly its own path", () =>
    fc.assert(
      fc.asyncProperty(t64({ shape: small }), async (x) => {
        // d/dε (stop(x) · (x + εv)) = stop(x) · v; without detach it would be 2x·v.
        const v = direction(x, 4);
        const [, d] = jvp((x: Tensor) => x.detach().mul(x), [x], [v]);
        await assertClose(d, x.mul(v), { rtol: 0, atol: 0 });
      }),
      RUNS,
    ));
});

const withAxes = (gap = 0) =>
  shape({ minRank: 1, maxRank: 3, maxExtent: 3 }).chain((s) =>
    fc.tuple(
      t64({ shape: s, min: -2, max: 2, minGap: gap }),
      fc.subarray(s.map((_, i) => i), { minLength: 1 }),
    )
  );

Deno.test("jvp: reductions", async (t) => {
  await t.step(
    "reduce_sum over random axes",
    () =>
      fc.assert(
        fc.asyncProperty(withAxes(), ([x, axes]) => jvpcheck((x) => x.sum(axes), [x])),
        RUNS,
      ),
  );
  await t.step("reduce_max over random axes (distinct elements)", () =>
    fc.assert(
      fc.asyncProperty(withAxes(0.01), ([x, axes]) => jvpcheck((x) => x.max(axes), [x])),
      RUNS,
    ));
  await t.step("reduce_max at ties takes the mean tangent of the maxima", async () => {
    const x = f64([[1, 3, 3], [2, 0, 2]]);
    const [, d] = jvp((x: Tensor) => x.max(1), [x], [f64([[9, 1, 4], [6, 9, 2]])]);
    assert.deepEqual(await values(d), [2.5, 4]);
  });
});

Deno.test("jvp: movement ops", async (t) => {
  const tensors = t64({ shape: shape({ minRank: 1, maxRank: 3, maxExtent: 3 }) });
  await t.step("reshape", () =>
    fc.assert(
      fc.asyncProperty(tensors, (x) => jvpcheck((x) => x.reshape([...x.shape].reverse()), [x])),
      RUNS,
    ));
  await t.step("permute", () =>
    fc.assert(
      fc.asyncProperty(withPermutation(tensors), ([x, p]) => jvpcheck((x) => x.permute(...p), [x])),
      RUNS,
    ));
  await t.step("expand", () =>
    fc.assert(
      fc.asyncProperty(tensors, fc.integer({ min: 1, max: 3 }), (x, n) =>
        jvpcheck((x) =>
          x.unsqueeze(0).expand([n, ...x.shape]), [x])),
      RUNS,
    ));
  await t.step("pad", () =>
    fc.assert(
      fc.asyncProperty(
        tensors.chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: x.ndim, maxLength: x.ndim }),
          )
        ),
        ([x, pads]) => jvpcheck((x) => x.pad(pads, 0.5), [x]),
      ),
      RUNS,
    ));
  await t.step("slice with steps", () =>
    fc.assert(
      fc.asyncProperty(
        withSliceSpecs(tensors),
        ([x, specs]) => jvpcheck((x) => x.slice(specs), [x]),
      ),
      RUNS,
    ));
});

Deno.test("jvp: every primitive has a rule and a check in this file", () => {
  // Leaves (buffer, const) have no inputs; every other op is exercised by a step above.
  const checked = [
    "buffer",
    "const",
    "neg",
    "exp",
    "log",
    "sqrt",
    "recip",
    "sin",
    "sigmoid",
    "tanh",
    "floor",
    "round",
    "floor_div",
    "fmod",
    "add",
    "mul",
    "max",
    "cmplt",
    "cmpeq",
    "pow",
    "where",
    "cast",
    "detach",
    "reduce_sum",
    "reduce_max",
    "reshape",
    "permute",
    "expand",
    "pad",
    "slice",
  ];
  assert.deepEqual(Object.keys(JVP_RULES).sort(), checked.sort());
});

/** A random graph with float64 inputs and two extra tensors of its shape (u and v). */
const graphWithInputs = (arity: number) =>
  opGraph({ arity, maxSteps: 6, shape: shape({ maxRank: 3, maxExtent: 3 }) }).chain((g) =>
    fc.tuple(
      fc.constant(g),
      fc.array(tensor({ shape: g.shape, dtype: "float64", backend: BACKEND }), {
        minLength: 2 * arity + 1,
        maxLength: 2 * arity + 1,
      }),
    )
  );
const dot = (a: Tensor, b: Tensor) => a.mul(b).sum();

Deno.test("jvp law: <u, J v> from jvp equals <Jᵀ u, v> from vjp on random programs", async () => {
  // Both sides are the same bilinear form computed by different rule tables; in float64 over a
  // few dozen ops of values of order 1 they agree to rounding (~1e-14), so 1e-10 is strict.
  await fc.assert(
    fc.asyncProperty(graphWithInputs(2), async ([g, [x, y, vx, vy, u]]) => {
      const [, jv] = jvp(g.apply, [x, y], [vx, vy]);
      const [, pullback] = vjp(g.apply, x, y);
      const [gx, gy] = pullback(u);
      await assertClose(dot(u, jv), dot(gx, vx).add(dot(gy, vy)), { rtol: 1e-10, atol: 1e-10 });
    }),
    RUNS,
  );
});

Deno.test("jvp law: forward-over-reverse equals reverse-over-forward and reverse-over-reverse", async () => {
  // All three are the Hessian-vector product H v of s(x) = <u, g(x)>.
  await fc.assert(
    fc.asyncProperty(graphWithInputs(1), async ([g, [x, v, u]]) => {
      const s = (x: Tensor) => dot(u, g.apply(x));
      const [, fwdRev] = jvp(grad(s), [x], [v]);
      const revFwd = grad((x: Tensor) => dot(u, jvp(g.apply, [x], [v])[1]))(x);
      const revRev = grad((x: Tensor) => dot(grad(s)(x), v))(x);
      await assertClose(fwdRev, revRev, { rtol: 1e-10, atol: 1e-10 });
      await assertClose(revFwd, revRev, { rtol: 1e-10, atol: 1e-10 });
    }),
    RUNS,
  );
});

Deno.test("jvp: trees, symbolic zeros and linearize", async (t) => {
  const consts = (n: Node) => toposort([n]).filter((m) => m.op === "const");
  await t.step("a null tangent adds no zero nodes; an unreached output is a zero", async () => {
    const x = f64([1, 2]), y = f64([3, 4]);
    const f = ({ a, b }: { a: Tensor; b: Tensor }) => [a.mul(b), b.exp()];
    const [[p, q], [dp, dq]] = jvp(f, [{ a: x, b: y }], [{ a: f64([1, 1]), b: null }]);
    assert.deepEqual(consts(dp.node), []);
    assert.deepEqual(await values(dp), [3, 4]);
    assert.deepEqual(await values(dq), [0, 0]);
    assert.deepEqual(await values(p), [3, 8]);
    assert.equal(q.shape.length, 1);
  });
  await t.step("linearize: fLin is linear and matches jvp", async () => {
    const x = f64([0.5, -1, 2]);
    const f = (x: Tensor) => x.sin().mul(x);
    const [y, fLin] = linearize(f, x);
    const v = f64([1, 2, 3]), w = f64([-1, 0.5, 0]);
    await assertClose(y, f(x), { rtol: 0, atol: 0 });
    await assertClose(fLin(v), jvp(f, [x], [v])[1], { rtol: 0, atol: 0 });
    await assertClose(fLin(v.add(w.mul(2))), fLin(v).add(fLin(w).mul(2)), { rtol: 1e-14 });
    assert.deepEqual(await values(fLin(null)), [0, 0, 0]);
  });
  await t.step("customVjp: forward mode transposes the custom rule", async () => {
    // A deliberately wrong backward (identity): reverse and forward mode both use it, so the
    // tangent is v, not the forward's true derivative 2x·v.
    const square = customVjp((x: Tensor) => x.mul(x), (g) => [g]);
    const x = f64([1, 2, 3]);
    const [, d] = jvp(square, [x], [f64([1, -1, 2])]);
    assert.deepEqual(await values(d), [1, -1, 2]);
    assert.deepEqual(await values(grad((x: Tensor) => square(x).sum())(x)), [1, 1, 1]);
  });
  await t.step("one tensor passed twice moves along both tangents", async () => {
    // d/dε (x + εu)·(x + εv) = u·x + x·v.
    const x = f64([1, 2]);
    const [, d] = jvp((a: Tensor, b: Tensor) => a.mul(b), [x, x], [f64([1, 0]), f64([0, 3])]);
    assert.deepEqual(await values(d), [1, 6]);
  });
  await t.step("a lazy primal that f's ops simplify away keeps its tangent", async () => {
    // reshape(reshape(x)) is built as one reshape of x's input: without a stand-in leaf for the
    // primal, the graph would never mention it and the tangent would be silently zero.
    const x = f64([1, 2, 3, 4]).reshape([2, 2]);
    const f = (x: Tensor) => x.reshape([4]).mul(2);
    const [y, d] = jvp(f, [x], [f64([[1, 1], [1, 0]])]);
    assert.deepEqual(await values(y), [2, 4, 6, 8]);
    assert.deepEqual(await values(d), [2, 2, 2, 0]);
    const [, fLin] = linearize(f, x);
    assert.deepEqual(await values(fLin(f64([[0, 1], [0, 0]]))), [0, 2, 0, 0]);
  });
  await t.step(
    "a realized primal read through a closure moves there too (as with grad)",
    async () => {
      const x = f64([1, 2]);
      const [, d] = jvp((a: Tensor) => a.mul(x), [x], [f64([1, 1])]);
      assert.deepEqual(await values(d), [2, 4]);
    },
  );
  await t.step("float32 tangents of float64 primals are widened", async () => {
    const x = f64([1, 2]);
    const v = Tensor.from([0.5, 0.25], { backend: BACKEND });
    const [, d] = jvp((x: Tensor) => x.mul(3), [x], [v]);
    assert.equal(d.dtype, "float64");
    assert.deepEqual(await values(d), [1.5, 0.75]);
  });
});

Deno.test("jvp: bad input fails clearly", async (t) => {
  const x = f64([1, 2]);
  await t.step("tangent shape", () =>
    assert.throws(
      () => jvp((x: Tensor) => x, [x], [f64([1, 2, 3])]),
      /jvp: the tangent of argument 0 has shape \[3\]; expected \[2\]/,
    ));
  await t.step("tangent structure", () =>
    assert.throws(
      () => jvp((a: Tensor[]) => a[0], [[x, x.mul(2)]], [[x]]),
      /jvp: the tangent of argument 0 is not an array of 2/,
    ));
  await t.step(
    "argument count",
    () => assert.throws(() => jvp((x: Tensor) => x, [x], [] as unknown as [Tensor]), /1 primals/),
  );
  await t.step("bool tangent", () =>
    assert.throws(
      () => jvp((x: Tensor) => x, [x], [x.gt(0)]),
      /the tangent of argument 0 has dtype bool/,
    ));
});

Deno.test("transforms: a lazy argument that f's ops simplify away keeps its derivative", async (t) => {
  // f reshapes its argument and back: the IR builds reshape(reshape(x)) as one reshape of x's
  // input, so a transform keyed on the argument's own node would see no path to it.
  const x = f64([1, 2, 3, 4]).reshape([2, 2]);
  const f = (x: Tensor) => x.reshape([4]).mul(f64([1, 2, 3, 4])).sum();
  await t.step("grad and valueAndGrad", async () => {
    assert.deepEqual(await values(grad(f)(x)), [1, 2, 3, 4]);
    const [v, g] = valueAndGrad(f)(x);
    assert.equal(await v.item(), 30);
    assert.deepEqual(await values(g), [1, 2, 3, 4]);
  });
  await t.step("vjp", async () => {
    const [y, pullback] = vjp((x: Tensor) => x.reshape([4]).mul(2), x);
    assert.deepEqual(await values(y), [2, 4, 6, 8]);
    const [g] = pullback(f64([1, 0, 1, 0]));
    assert.deepEqual(await values(g), [2, 0, 2, 0]);
  });
  await t.step("one tensor as two arguments gets each argument's own gradient", async () => {
    const a = f64([1, 2]);
    const [ga, gb] = grad((p: Tensor, q: Tensor) => p.mul(q.square()).sum(), { argnums: [0, 1] })(
      a,
      a,
    ) as unknown as Tensor[];
    assert.deepEqual(await values(ga), [1, 4]); // q²
    assert.deepEqual(await values(gb), [2, 8]); // 2pq
  });
});

Deno.test("jvp law: <u, J v> equals <Jᵀ u, v> on every backend", async (t) => {
  // float64 on interpreter and CPU (agreement to ~1e-14), float32 on WebGPU (~1e-5).
  await forEachBackend(t, (c) =>
    fc.assert(
      fc.asyncProperty(
        opGraph({ arity: 2, maxSteps: 5, shape: shape({ maxRank: 3, maxExtent: 3 }) }).chain((g) =>
          fc.tuple(
            fc.constant(g),
            fc.array(tensor({ shape: g.shape, dtype: c.dtype, backend: c.backend }), {
              minLength: 5,
              maxLength: 5,
            }),
          )
        ),
        async ([g, [x, y, vx, vy, u]]) => {
          const [, jv] = jvp(g.apply, [x, y], [vx, vy]);
          const [gx, gy] = vjp(g.apply, x, y)[1](u);
          const lhs = dot(u, jv), rhs = dot(gx, vx).add(dot(gy, vy));
          await realize(lhs, rhs);
          await assertClose(lhs, rhs, c.tol);
        },
      ),
      c.runs,
    ));
});
