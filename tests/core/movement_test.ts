// Movement ops: values against index arithmetic written here, hand-checked examples and laws.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { assertClose, shape } from "../../testing/mod.ts";
import { f64, flatIndex, indices, RUNS, t64, values, withPermutation } from "./helpers.ts";

const tensors = t64({ shape: shape({ minRank: 1, maxRank: 4, maxExtent: 3 }) });
const exact = { rtol: 0, atol: 0 };

Deno.test("movement: reshape keeps row-major order; flatten, squeeze, unsqueeze", async () => {
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(await x.reshape([3, 2]).toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(await x.reshape([-1]).toArray(), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(x.reshape([1, 2, 1, 3]).squeeze().shape, [2, 3]);
  assert.deepEqual(x.reshape([1, 2, 1, 3]).squeeze(2).shape, [1, 2, 3]);
  assert.deepEqual(x.unsqueeze(0).shape, [1, 2, 3]);
  assert.deepEqual(x.unsqueeze(-1).shape, [2, 3, 1]);
  const y = f64(new Float64Array(24).map((_, i) => i), [2, 3, 4]);
  assert.deepEqual(y.flatten().shape, [24]);
  assert.deepEqual(y.flatten(1).shape, [2, 12]);
  assert.deepEqual(y.flatten(0, 1).shape, [6, 4]);
  assert.deepEqual(await values(y.flatten(1)), await values(y));
});

Deno.test("movement: permute and transpose move elements as index maps say", async () => {
  await fc.assert(
    fc.asyncProperty(
      withPermutation(tensors),
      async ([x, perm]) => {
        const s = [...x.shape], v = await values(x);
        const y = x.permute(...perm);
        const out = perm.map((p) => s[p]);
        assert.deepEqual(y.shape, out);
        // y[i_0, …] = x[j] with j[perm[k]] = i_k.
        const expected = indices(out).map((i) => {
          const j = new Array(s.length);
          perm.forEach((p, k) => (j[p] = i[k]));
          return v[flatIndex(j, s)];
        });
        await assertClose(y, expected, exact);
        // The inverse permutation undoes it; permutes compose into one node.
        const inv = new Array(perm.length);
        perm.forEach((p, k) => (inv[p] = k));
        assert.equal(y.permute(...inv).node, x.node);
      },
    ),
    RUNS,
  );
  const x = f64([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(await x.transpose().toArray(), [[1, 4], [2, 5], [3, 6]]);
  assert.equal(x.transpose().transpose().node, x.node);
});

Deno.test("movement: expand repeats extent-1 axes", async () => {
  const x = f64([[1], [2]]);
  assert.deepEqual(await x.expand([2, 3]).toArray(), [[1, 1, 1], [2, 2, 2]]);
  assert.deepEqual(await x.expand([2, -1, 2]).toArray(), [[[1, 1], [2, 2]], [[1, 1], [2, 2]]]);
});

Deno.test("movement: slice with steps and negative indices matches Python slicing", async () => {
  /** Python's `list[start:stop:step]` for step >= 1. */
  const pySlice = (n: number, start?: number, stop?: number, step = 1): number[] => {
    const norm = (v: number) => (v < 0 ? Math.max(0, v + n) : Math.min(v, n));
    const [a, b] = [start === undefined ? 0 : norm(start), stop === undefined ? n : norm(stop)];
    const out: number[] = [];
    for (let i = a; i < b; i += step) out.push(i);
    return out;
  };
  const idx = (n: number) => fc.option(fc.integer({ min: -n - 1, max: n + 1 }), { nil: undefined });
  await fc.assert(
    fc.asyncProperty(
      tensors.chain((x) =>
        fc.tuple(
          fc.constant(x),
          fc.tuple(...x.shape.map((d) => fc.tuple(idx(d), idx(d), fc.integer({ min: 1, max: 3 })))),
        )
      ),
      async ([x, specs]) => {
        const s = [...x.shape], v = await values(x);
        const picks = specs.map(([a, b, st], i) => pySlice(s[i], a, b, st));
        const z = x.slice(
          specs.map(([a, b, st], i) => [a ?? 0, b ?? s[i], st] as [number, number, number]),
        );
        assert.deepEqual(z.shape, picks.map((p) => p.length));
        const expected = indices(picks.map((p) => p.length)).map((i) =>
          v[flatIndex(i.map((k, ax) => picks[ax][k]), s)]
        );
        await assertClose(z, expected, exact);
      },
    ),
    RUNS,
  );
  const x = f64([[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]);
  assert.deepEqual(await x.slice([-1, [1, -1, 2]]).toArray(), [6, 8]);
  assert.deepEqual(await x.slice([null, [-2]]).toArray(), [[3, 4], [8, 9]]);
  assert.deepEqual(await x.slice([0]).toArray(), [0, 1, 2, 3, 4]);
});

Deno.test("movement: pad with values, and slice undoes pad", async () => {
  const x = f64([[1, 2], [3, 4]]);
  assert.deepEqual(await x.pad([[1, 0], [0, 2]]).toArray(), [[0, 0, 0, 0], [1, 2, 0, 0], [
    3,
    4,
    0,
    0,
  ]]);
  assert.deepEqual(await x.pad([[0, 1], [1, 0]], -7).toArray(), [[-7, 1, 2], [-7, 3, 4], [
    -7,
    -7,
    -7,
  ]]);
  await fc.assert(
    fc.asyncProperty(
      tensors.chain((x) =>
        fc.tuple(
          fc.constant(x),
          fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: x.ndim, maxLength: x.ndim }),
          fc.double({ min: -5, max: 5, noNaN: true }),
        )
      ),
      async ([x, pads, value]) => {
        const p = x.pad(pads, value);
        assert.deepEqual(p.shape, x.shape.map((d, i) => d + pads[i][0] + pads[i][1]));
        const back = p.slice(pads.map(([lo], i) => [lo, lo + x.shape[i]] as [number, number]));
        await assertClose(back, x, exact);
        // The border holds `value`: the padded sum is the inner sum plus value · border size.
        const border = p.size - x.size;
        await assertClose(p.sum(), x.sum().add(value * border), { atol: 1e-12 });
      },
    ),
    RUNS,
  );
});

Deno.test("movement: concat and stack", async () => {
  const a = f64([[1, 2], [3, 4]]), b = f64([[5, 6]]), c = f64([[7], [8]]);
  assert.deepEqual(await Tensor.concat([a, b]).toArray(), [[1, 2], [3, 4], [5, 6]]);
  assert.deepEqual(await Tensor.concat([a, c], 1).toArray(), [[1, 2, 7], [3, 4, 8]]);
  assert.deepEqual(await Tensor.concat([a, c], -1).toArray(), [[1, 2, 7], [3, 4, 8]]);
  assert.deepEqual(await Tensor.stack([a, a.neg()]).toArray(), [[[1, 2], [3, 4]], [[
    -1,
    -2,
  ], [-3, -4]]]);
  assert.deepEqual(await Tensor.stack([a, a.neg()], 2).toArray(), [
    [[1, -1], [2, -2]],
    [[3, -3], [4, -4]],
  ]);
  // Laws: concat then slice gives the parts back.
  await fc.assert(
    fc.asyncProperty(tensors, tensors, async (x, y) => {
      const ys = y.reshape([y.size]);
      const xs = x.reshape([x.size]);
      const joined = Tensor.concat([xs, ys]);
      await assertClose(joined.slice([[0, x.size]]), xs, exact);
      await assertClose(joined.slice([[x.size]]), ys, exact);
    }),
    RUNS,
  );
});

Deno.test("movement: concat and stack of bool tensors", async (t) => {
  for (const backend of ["interpreter", "cpu"]) {
    await t.step(backend, async () => {
      const bools = (v: number[], shape: number[]) =>
        Tensor.from(v, { shape, backend, dtype: "float32" }).gt(0);
      const a = bools([1, 0, 0, 1], [2, 2]), b = bools([1, 1], [1, 2]);
      const joined = Tensor.concat([a, b]);
      assert.equal(joined.dtype, "bool");
      assert.deepEqual(await joined.toArray(), [[true, false], [false, true], [true, true]]);
      const stacked = Tensor.stack([a, a.logicalNot()], 2);
      assert.equal(stacked.dtype, "bool");
      assert.deepEqual(await stacked.toArray(), [
        [[true, false], [false, true]],
        [[false, true], [true, false]],
      ]);
    });
  }
});
