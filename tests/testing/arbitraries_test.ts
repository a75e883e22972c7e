import fc from "fast-check";
import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { broadcastableShapes, opGraph, rbnParams, shape, tensor } from "../../testing/mod.ts";

const RUNS = { numRuns: 50 } as const;

Deno.test("arbitraries: shape respects rank and extent bounds", () => {
  fc.assert(
    fc.property(shape({ minRank: 1, maxRank: 3, minExtent: 2, maxExtent: 4 }), (s) => {
      assert.ok(s.length >= 1 && s.length <= 3);
      assert.ok(s.every((d) => Number.isInteger(d) && d >= 2 && d <= 4));
    }),
    RUNS,
  );
});

Deno.test("arbitraries: broadcastableShapes broadcast by NumPy's rule", () => {
  fc.assert(
    fc.property(broadcastableShapes({ maxRank: 4 }), ([a, b]) => {
      const n = Math.max(a.length, b.length);
      for (let i = 1; i <= n; i++) {
        const [da, db] = [a[a.length - i] ?? 1, b[b.length - i] ?? 1];
        assert.ok(da === db || da === 1 || db === 1, `${a} vs ${b}`);
      }
    }),
    RUNS,
  );
});

Deno.test("arbitraries: tensor has the requested shape, dtype, bounds and gaps", async () => {
  await fc.assert(
    fc.asyncProperty(
      tensor({ shape: [2, 3], dtype: "float32", min: -0.5, max: 2, minGap: 0.1 }),
      async (x) => {
        assert.deepEqual(x.shape, [2, 3]);
        assert.equal(x.dtype, "float32");
        const v = [...await x.data()].sort((p, q) => p - q);
        assert.ok(v.every((e) => e >= -0.5 && e <= 2));
        // Gaps survive float32 rounding up to one ulp of 2.
        for (let i = 1; i < v.length; i++) assert.ok(v[i] - v[i - 1] >= 0.1 - 2.5e-7);
        // A failing property prints the call that rebuilds the tensor.
        assert.match(
          fc.stringify(x),
          /^Tensor\.from\(\[.*\], \{ shape: \[2,3\], dtype: "float32" \}\)$/,
        );
      },
    ),
    RUNS,
  );
  assert.throws(() => tensor({ shape: [10], min: 0, max: 1, minGap: 0.2 }), /do not fit/);
  const [b] = fc.sample(tensor({ shape: [3], dtype: "bool" }), { numRuns: 1, seed: 5 });
  assert.equal(b.dtype, "bool");
  // int32 values are rounded to integers in [min, max], and the printout shows the stored ones.
  const ints = fc.sample(tensor({ shape: [4], dtype: "int32", min: -9, max: 9 }), {
    numRuns: 5,
    seed: 6,
  });
  for (const t of ints) {
    assert.equal(t.dtype, "int32");
    const v = [...await t.data()];
    assert.ok(v.every((e) => Number.isInteger(e) && e >= -9 && e <= 9), String(v));
    assert.ok(fc.stringify(t).startsWith(`Tensor.from(${JSON.stringify(v)}`), fc.stringify(t));
  }
});

Deno.test("arbitraries: rbnParams are consistent and within the documented ranges", async () => {
  await fc.assert(
    fc.asyncProperty(rbnParams(), async (p) => {
      const [n, c] = p.x.shape;
      assert.ok(n >= 2 && n <= 3 && c >= 1 && c <= 3 && p.x.ndim === 4);
      for (const t of [p.centerWeight, p.scaleWeight, p.scaleBias, p.weight, p.bias]) {
        assert.deepEqual(t.shape, [1, c, 1, 1]);
      }
      assert.deepEqual(p.runningMean.shape, [c]);
      assert.ok([...await p.runningVar.data()].every((v) => v >= 0.5 && v <= 2));
      assert.ok([...await p.weight.data()].every((v) => v >= 0.5 && v <= 1.5));
      assert.ok(p.eps >= 1e-5 && p.eps <= 1e-3 && p.momentum >= 0.05 && p.momentum <= 0.9);
    }),
    RUNS,
  );
});

Deno.test("arbitraries: opGraph builds shape-preserving graphs with a readable printout", async () => {
  await fc.assert(
    fc.asyncProperty(opGraph({ arity: 2, maxSteps: 5 }), async (g) => {
      assert.ok(g.steps.length >= 1 && g.steps.length <= 5);
      const xs = [0, 1].map(() =>
        Tensor.ones(g.shape, { dtype: "float64", backend: "interpreter" })
      );
      const y = g.apply(...xs);
      assert.deepEqual(y.shape, g.shape);
      assert.ok((await y.data()).every(Number.isFinite));
      assert.match(fc.stringify(g), /^graph\(shape \[.*\], inputs 2\) \{ v0 = /);
    }),
    RUNS,
  );
  assert.throws(() => opGraph({ arity: 0 }), /arity must be a positive integer/);
});
