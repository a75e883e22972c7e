// Broadcasting and reductions: values against direct loops written here, and algebraic laws.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import type { Tensor } from "../../mod.ts";
import { assertClose, broadcastableShapes, shape } from "../../testing/mod.ts";
import { f64, flatIndex, indices, RUNS, t64, values } from "./helpers.ts";

/** The NumPy broadcast of two shapes, computed independently of the library. */
function broadcastOf(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const pa = [...Array(n - a.length).fill(1), ...a];
  const pb = [...Array(n - b.length).fill(1), ...b];
  return pa.map((d, i) => Math.max(d, pb[i]));
}

/** Element of `t` (shape `s`, values `v`) that broadcasting reads at output index `idx`. */
function readBroadcast(v: number[], s: number[], idx: number[]): number {
  const off = idx.length - s.length;
  return v[flatIndex(s.map((d, i) => (d === 1 ? 0 : idx[i + off])), s)];
}

Deno.test("broadcasting: a + b and a · b equal the direct loop", async () => {
  await fc.assert(
    fc.asyncProperty(
      broadcastableShapes({ minRank: 0, maxRank: 4, maxExtent: 3 }).chain(([a, b]) =>
        fc.tuple(t64({ shape: a }), t64({ shape: b }))
      ),
      async ([a, b]) => {
        const out = broadcastOf([...a.shape], [...b.shape]);
        const [va, vb] = [await values(a), await values(b)];
        const sum = a.add(b), prod = a.mul(b);
        assert.deepEqual(sum.shape, out);
        const idx = indices(out);
        await assertClose(
          sum,
          idx.map((i) => readBroadcast(va, [...a.shape], i) + readBroadcast(vb, [...b.shape], i)),
          { rtol: 0, atol: 0 },
        );
        await assertClose(
          prod,
          idx.map((i) => readBroadcast(va, [...a.shape], i) * readBroadcast(vb, [...b.shape], i)),
          { rtol: 0, atol: 0 },
        );
      },
    ),
    RUNS,
  );
});

Deno.test("broadcasting: hand-checked example and commutativity", async () => {
  const col = f64([[1], [2]]), row = f64([10, 20, 30]);
  assert.deepEqual(await col.add(row).toArray(), [[11, 21, 31], [12, 22, 32]]);
  assert.deepEqual(await row.sub(col).toArray(), [[9, 19, 29], [8, 18, 28]]);
  assert.deepEqual(await col.div(f64([2, 4])).toArray(), [[0.5, 0.25], [1, 0.5]]);
  assert.deepEqual(await col.add(row).toArray(), await row.add(col).toArray());
});

/** Direct loop: reduce `v` (shape `s`) over `axes` with `op`, keeping extent-1 axes. */
function reduceLoop(
  v: number[],
  s: number[],
  axes: number[],
  op: (a: number, b: number) => number,
  init: number,
): number[] {
  const out = s.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new Array(out.reduce((p, d) => p * d, 1)).fill(init);
  for (const idx of indices(s)) {
    const o = flatIndex(idx.map((x, i) => (axes.includes(i) ? 0 : x)), out);
    acc[o] = op(acc[o], v[flatIndex(idx, s)]);
  }
  return acc;
}

const withAxes = shape({ minRank: 1, maxRank: 4, maxExtent: 3 }).chain((s) =>
  fc.tuple(t64({ shape: s }), fc.subarray(s.map((_, i) => i), { minLength: 1 }), fc.boolean())
);

Deno.test("reductions: sum, max, min and mean with and without keepdims match loops", async () => {
  await fc.assert(
    fc.asyncProperty(withAxes, async ([x, axes, keepdims]) => {
      const s = [...x.shape], v = await values(x);
      const kept = s.map((d, i) => (axes.includes(i) ? 1 : d));
      const dropped = s.filter((_, i) => !axes.includes(i));
      const count = axes.reduce((p, a) => p * s[a], 1);
      const sum = x.sum(axes, { keepdims });
      assert.deepEqual(sum.shape, keepdims ? kept : dropped);
      // Sums of up to 81 terms of size <= 1: rounding below 1e-13 in any order.
      await assertClose(sum, reduceLoop(v, s, axes, (a, b) => a + b, 0), { atol: 1e-13 });
      await assertClose(
        x.mean(axes, { keepdims }),
        reduceLoop(v, s, axes, (a, b) => a + b, 0).map((t) => t / count),
        { atol: 1e-13 },
      );
      await assertClose(x.max(axes, { keepdims }), reduceLoop(v, s, axes, Math.max, -Infinity), {
        rtol: 0,
        atol: 0,
      });
      await assertClose(x.min(axes, { keepdims }), reduceLoop(v, s, axes, Math.min, Infinity), {
        rtol: 0,
        atol: 0,
      });
      // Negative axes name the same axes.
      const neg = axes.map((a) => a - s.length);
      assert.equal(x.sum(neg, { keepdims }).node, sum.node);
    }),
    RUNS,
  );
});

Deno.test("reductions: hand-checked var, std, argmax, logsumexp and softmax", async () => {
  const x = f64([[1, 2, 3, 6], [4, 4, 4, 4]]);
  // Row 0: mean 3, squared deviations 4+1+0+9 = 14.
  await assertClose(x.var(1), [14 / 3, 0], { rtol: 1e-15 });
  await assertClose(x.var(1, { correction: 0 }), [14 / 4, 0], { rtol: 1e-15 });
  await assertClose(x.std(1), [Math.sqrt(14 / 3), 0], { rtol: 1e-15 });
  assert.deepEqual(await values(x.argmax(1)), [3, 0]);
  assert.deepEqual(await values(f64([[1, 5], [7, 2], [0, 5]]).argmax(0)), [1, 0]);
  const big = f64([1000, 1000]);
  await assertClose(big.logsumexp(), 1000 + Math.LN2, { rtol: 1e-15 });
  await assertClose(big.softmax(), [0.5, 0.5], { rtol: 1e-15 });
  const e = [1, 2, 3].map(Math.exp), z = e[0] + e[1] + e[2];
  await assertClose(f64([1, 2, 3]).softmax(), e.map((v) => v / z), { rtol: 1e-14 });
});

Deno.test("reductions: laws (sum is linear, sums compose, softmax sums to 1)", async () => {
  await fc.assert(
    fc.asyncProperty(
      withAxes,
      fc.double({ min: -3, max: 3, noNaN: true }),
      async ([x, axes], c) => {
        await assertClose(x.mul(c).sum(axes), x.sum(axes).mul(c), { atol: 1e-13, rtol: 1e-13 });
        // Summing axis by axis equals summing all at once.
        let stepwise: Tensor = x;
        for (const a of [...axes].sort((p, q) => q - p)) stepwise = stepwise.sum(a);
        await assertClose(stepwise, x.sum(axes), { atol: 1e-13 });
        const last = x.ndim - 1;
        const rows = x.size / x.shape[last];
        await assertClose(x.softmax(last).sum(last), new Array(rows).fill(1), { atol: 1e-14 });
      },
    ),
    RUNS,
  );
});
