// Every primitive's VJP rule against fourth-order central differences in float64.
//
// Tolerance: gradcheck's default rtol 1e-6 / atol 1e-9. With step h = 1e-3 the difference
// quotient's truncation error is about h⁴·|f⁽⁵⁾|/30 and its rounding error about 1.5·2⁻⁵²·|f|/h;
// on the domains below (|x| <= 3, log/sqrt/recip on [0.5, 3]) both stay below 1e-9 relative,
// so any disagreement above 1e-6 is a wrong rule, not numerical noise. Kinked ops (max,
// comparisons, where, reduce_max) get inputs at least 0.01 apart, far beyond the 2h stencil.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { gradients, VJP_RULES } from "../../mod.ts";
import { Tensor } from "../../mod.ts";
import { broadcastableShapes, gradcheck, shape } from "../../testing/mod.ts";
import { BACKEND, f64, RUNS, t64, values, withPermutation, withSliceSpecs } from "./helpers.ts";

const small = shape({ minRank: 0, maxRank: 3, maxExtent: 3 });

async function checkUnary(op: (x: Tensor) => Tensor, min: number, max: number) {
  await fc.assert(
    fc.asyncProperty(t64({ shape: small, min, max }), async (x) => {
      await gradcheck(op, [x]);
    }),
    RUNS,
  );
}

Deno.test("vjp: unary primitives match finite differences", async (t) => {
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
    await gradcheck(piecewise, [a, b]);
  });
});

/** Two float64 tensors of broadcastable shapes. */
const broadcastPair = (min = -2, max = 2) =>
  broadcastableShapes({ minRank: 0, maxRank: 3, maxExtent: 3 }).chain(([a, b]) =>
    fc.tuple(t64({ shape: a, min, max }), t64({ shape: b, min, max }))
  );

Deno.test("vjp: add and mul (with expand and reduce_sum from broadcasting)", async (t) => {
  await t.step("add", () =>
    fc.assert(
      fc.asyncProperty(broadcastPair(), ([a, b]) => gradcheck((a, b) => a.add(b), [a, b])),
      RUNS,
    ));
  await t.step("mul", () =>
    fc.assert(
      fc.asyncProperty(broadcastPair(), ([a, b]) => gradcheck((a, b) => a.mul(b), [a, b])),
      RUNS,
    ));
});

Deno.test("vjp: pow", async (t) => {
  await t.step("positive base, any exponent (a in [0.5, 3], b in [-2, 2])", () =>
    fc.assert(
      fc.asyncProperty(
        broadcastableShapes({ minRank: 0, maxRank: 3, maxExtent: 3 }).chain(([a, b]) =>
          fc.tuple(t64({ shape: a, min: 0.5, max: 3 }), t64({ shape: b, min: -2, max: 2 }))
        ),
        ([a, b]) => gradcheck((a, b) => a.pow(b), [a, b]),
      ),
      RUNS,
    ));
  await t.step("negative base, integer exponents: d/da = b·a^(b-1)", () =>
    fc.assert(
      fc.asyncProperty(
        t64({ shape: small, min: -3, max: -0.5 }),
        fc.integer({ min: -3, max: 5 }),
        (a, n) =>
          gradcheck(
            (a) => a.pow(Tensor.full(a.shape, n, { dtype: "float64", backend: a.backend })),
            [a],
          ),
      ),
      RUNS,
    ));
});

/** A float64 tensor `[2, ...s]` whose elements are pairwise at least 0.01 apart. */
const distinctPairs = shape({ minRank: 0, maxRank: 2, maxExtent: 3 }).chain((s) =>
  t64({ shape: [2, ...s], min: -2, max: 2, minGap: 0.01 })
);

Deno.test("vjp: max, cmplt, cmpeq and where away from ties", async (t) => {
  await t.step("max", () =>
    fc.assert(
      fc.asyncProperty(
        distinctPairs,
        (xy) => gradcheck((xy) => xy.slice([0]).maximum(xy.slice([1])), [xy]),
      ),
      RUNS,
    ));
  await t.step("cmplt and cmpeq carry no gradient; the other factor does", () =>
    fc.assert(
      fc.asyncProperty(distinctPairs, async (xy) => {
        const f = (xy: Tensor) => {
          const [x, y] = [xy.slice([0]), xy.slice([1])];
          return x.lt(y).cast("float64").add(x.eq(y).cast("float64")).mul(x.mul(y));
        };
        await gradcheck(f, [xy]);
        // The comparison outputs alone have a zero gradient everywhere.
        const [g] = gradients(xy.slice([0]).lt(xy.slice([1])).cast("float64").sum(), [xy]);
        assert.ok((await values(g)).every((v) => v === 0));
      }),
      RUNS,
    ));
  await t.step("where routes the gradient by the condition", () =>
    fc.assert(
      fc.asyncProperty(distinctPairs, fc.integer(), async (xy, bits) => {
        const s = xy.shape.slice(1);
        const n = s.reduce((p, d) => p * d, 1);
        const cond = f64(Array.from({ length: n }, (_, i) => (bits >> (i % 31)) & 1), s)
          .gt(0.5);
        await gradcheck(
          (xy: Tensor, c: Tensor) => Tensor.where(c, xy.slice([0]), xy.slice([1])),
          [xy, cond],
        );
      }),
      RUNS,
    ));
});

Deno.test("vjp: cast and detach", async (t) => {
  await t.step("cast float64 -> float32 passes the cotangent back as float64", async () => {
    // d/dx sum(w · float32(x)) = float32(w), widened exactly to float64.
    const x = f64([0.1, -2.5, 3]);
    const w = Tensor.from([0.3, 1 / 3, -7.1], { dtype: "float32", backend: BACKEND });
    const [g] = gradients(x.cast("float32").mul(w).sum(), [x]);
    assert.equal(g.dtype, "float64");
    assert.deepEqual(await values(g), [Math.fround(0.3), Math.fround(1 / 3), Math.fround(-7.1)]);
  });
  await t.step("cast bool -> float64 carries no gradient", () =>
    fc.assert(
      fc.asyncProperty(distinctPairs, async (xy) => {
        // The comparison is piecewise constant: only the factor y carries a gradient. Elements
        // are at least 0.01 apart, farther than the difference stencil (±2·eps) reaches, so the
        // comparison x > y never flips under the finite differences.
        const f = (xy: Tensor) => {
          const [x, y] = [xy.slice([0]), xy.slice([1])];
          return x.gt(y).cast("float64").mul(y);
        };
        await gradcheck(f, [xy]);
      }),
      RUNS,
    ));
  await t.step("detach blocks exactly its own path", () =>
    fc.assert(
      fc.asyncProperty(t64({ shape: small }), async (x) => {
        // d/dx sum(stop(x) · x) = stop(x) = x; without detach it would be 2x.
        const [g] = gradients(x.detach().mul(x).sum(), [x]);
        assert.deepEqual(await values(g), await values(x));
      }),
      RUNS,
    ));
});

/** A tensor with a random non-empty subset of its axes. */
const withAxes = (gap = 0) =>
  shape({ minRank: 1, maxRank: 3, maxExtent: 3 }).chain((s) =>
    fc.tuple(
      t64({ shape: s, min: -2, max: 2, minGap: gap }),
      fc.subarray(s.map((_, i) => i), { minLength: 1 }),
      fc.boolean(),
    )
  );

Deno.test("vjp: reductions", async (t) => {
  await t.step("reduce_sum over random axes", () =>
    fc.assert(
      fc.asyncProperty(withAxes(), ([x, axes, keepdims]) =>
        gradcheck((x) => x.sum(axes, { keepdims }), [x])),
      RUNS,
    ));
  await t.step("reduce_max over random axes (distinct elements)", () =>
    fc.assert(
      fc.asyncProperty(withAxes(0.01), ([x, axes, keepdims]) =>
        gradcheck((x) => x.max(axes, { keepdims }), [x])),
      RUNS,
    ));
  await t.step("reduce_max shares the gradient evenly among tied maxima", async () => {
    const x = f64([[1, 3, 3], [2, 0, 2]]);
    const [g] = gradients(x.max(1).mul(f64([10, 4])).sum(), [x]);
    assert.deepEqual(await values(g), [0, 5, 5, 2, 0, 2]);
  });
});

Deno.test("vjp: movement ops", async (t) => {
  const tensors = t64({ shape: shape({ minRank: 1, maxRank: 3, maxExtent: 3 }) });
  await t.step("reshape", () =>
    fc.assert(
      fc.asyncProperty(tensors, async (x) => {
        await gradcheck((x) => x.reshape([...x.shape].reverse()), [x]);
        await gradcheck((x) => x.reshape([x.size]), [x]);
      }),
      RUNS,
    ));
  await t.step("permute", () =>
    fc.assert(
      fc.asyncProperty(
        withPermutation(tensors),
        ([x, perm]) => gradcheck((x) => x.permute(...perm), [x]),
      ),
      RUNS,
    ));
  await t.step("expand", () =>
    fc.assert(
      fc.asyncProperty(
        broadcastableShapes({ maxRank: 3, maxExtent: 3 }).chain(([a, b]) =>
          fc.tuple(t64({ shape: a }), fc.constant(b))
        ),
        ([x, other]) => {
          const target = other.length >= x.ndim
            ? other.map((d, i) => Math.max(d, x.shape[i - other.length + x.ndim] ?? 1))
            : x.shape.map((d, i) => Math.max(d, other[i - x.ndim + other.length] ?? 1));
          return gradcheck((x) => x.expand(target), [x]);
        },
      ),
      RUNS,
    ));
  await t.step("pad", () =>
    fc.assert(
      fc.asyncProperty(
        tensors.chain((x) =>
          fc.tuple(
            fc.constant(x),
            fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: x.ndim, maxLength: x.ndim }),
            fc.double({ min: -2, max: 2, noNaN: true }),
          )
        ),
        ([x, pads, value]) => gradcheck((x) => x.pad(pads, value), [x]),
      ),
      RUNS,
    ));
  await t.step("slice with steps", () =>
    fc.assert(
      fc.asyncProperty(
        withSliceSpecs(tensors),
        ([x, specs]) => gradcheck((x) => x.slice(specs), [x]),
      ),
      RUNS,
    ));
});

Deno.test("vjp: every primitive with a rule has a check in this file", () => {
  const checked = [
    "buffer",
    "const", // leaves: nothing to differentiate
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
  assert.deepEqual(Object.keys(VJP_RULES).sort(), checked.sort());
});
