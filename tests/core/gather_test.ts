// gather and indexSelect against a loop over positions (exact: a gather copies values), their
// gradients (a scatter-add, repeated indices adding up) against a loop, NaN/±Infinity/-0
// values, empty and size-1 axes, index checks, on every backend.

import { strict as assert } from "node:assert";
import fc from "fast-check";
import { gradients, Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const backends = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];

function strides(shape: readonly number[]): number[] {
  const s = shape.map(() => 1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** `out[p] = x[p with axis ← index[p]]` and the scatter-add of `g` back into `x`'s shape. */
function reference(
  x: readonly number[],
  xShape: readonly number[],
  index: readonly number[],
  iShape: readonly number[],
  axis: number,
  g: readonly number[],
): { out: number[]; grad: number[] } {
  const xs = strides(xShape), is = strides(iShape);
  const out: number[] = [], grad = x.map(() => 0);
  for (let p = 0; p < index.length; p++) {
    let flat = 0;
    for (let d = 0; d < iShape.length; d++) {
      const c = Math.floor(p / is[d]) % iShape[d];
      flat += (d === axis ? index[p] : c) * xs[d];
    }
    out.push(x[flat]);
    grad[flat] += g[p];
  }
  return { out, grad };
}

// Equal values, NaN equal to NaN; -0 may come back as +0 (sums start from +0 on every backend).
const sameValue = (a: number, b: number) => a === b || (Number.isNaN(a) && Number.isNaN(b));

Deno.test("gather equals a loop over positions, values exactly, gradients as a scatter-add", async (t) => {
  const special = [NaN, Infinity, -Infinity, -0, 0, 1.5, -2.25, 3];
  const arb = fc.record({
    shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
    axisSeed: fc.nat(),
    m: fc.integer({ min: 0, max: 5 }),
    seed: fc.nat(),
  });
  for (const backend of backends) {
    await t.step(backend, async () => {
      await fc.assert(
        fc.asyncProperty(arb, async ({ shape, axisSeed, m, seed }) => {
          const axis = axisSeed % shape.length;
          const size = shape.reduce((a, b) => a * b, 1);
          const xs = Array.from(
            { length: size },
            (_, i) => special[(i * 7 + seed) % special.length],
          );
          const iShape = shape.map((d, i) => (i === axis ? m : Math.max(1, d - (seed % 2))));
          const ni = iShape.reduce((a, b) => a * b, 1);
          const idx = Array.from({ length: ni }, (_, i) => (i * 5 + seed) % shape[axis]);
          const gs = Array.from({ length: ni }, (_, i) => (i % 3) + 1);
          const x = Tensor.from(xs, { shape, backend });
          const index = Tensor.from(idx, { shape: iShape, dtype: "int32", backend });
          const y = x.gather(axis, index);
          assert.deepEqual(y.shape, iShape);
          const want = reference(xs, shape, idx, iShape, axis, gs);
          const got = await y.data();
          for (let i = 0; i < ni; i++) {
            assert.ok(sameValue(got[i], want.out[i]), `${i}: ${got[i]} vs ${want.out[i]}`);
          }
          // Finite inputs for the gradient: the scatter-add of g (small integers, exact).
          const xf = Tensor.from(xs.map((_, i) => i % 5), { shape, backend });
          const g = Tensor.from(gs, { shape: iShape, backend });
          const [dx] = gradients(xf.gather(axis, index).mul(g).sum(), [xf]);
          // Positions never gathered receive -0 (a sum of -0 terms): compared as numbers.
          assert.deepEqual(Array.from(await dx.data(), (v) => v + 0), want.grad);
        }),
        { numRuns: 40 },
      );
    });
  }
});

Deno.test("indexSelect picks slices in index order, repeats allowed; int32 inputs stay int32", async () => {
  for (const backend of backends) {
    const x = Tensor.from([[1, 2], [3, 4], [5, 6]], { backend });
    const i = Tensor.from([2, 0, 2], { dtype: "int32", backend });
    assert.deepEqual(Array.from(await x.indexSelect(0, i).data()), [5, 6, 1, 2, 5, 6]);
    assert.deepEqual(
      Array.from(await x.indexSelect(1, Tensor.from([1], { dtype: "int32", backend })).data()),
      [2, 4, 6],
    );
    const xi = Tensor.from([[7, -8], [9, 2147483647]], { dtype: "int32", backend });
    const yi = xi.indexSelect(0, Tensor.from([1, 1, 0], { dtype: "int32", backend }));
    assert.equal(yi.dtype, "int32");
    assert.deepEqual(Array.from(await yi.data()), [9, 2147483647, 9, 2147483647, 7, -8]);
  }
});

Deno.test("gather: bad indices are refused with the value and the range; computed ones give NaN", async () => {
  const x = Tensor.from([[1, 2, 3]]);
  assert.throws(
    () => x.gather(1, Tensor.from([[3]], { dtype: "int32" })),
    /gather: index 3 at flat position 0 is out of range for axis 1 of extent 3.*\[0, 3\)/,
  );
  assert.throws(
    () => x.indexSelect(1, Tensor.from([-1], { dtype: "int32" })),
    /indexSelect: index -1 .* expected an integer in \[0, 3\)/,
  );
  assert.throws(
    () => x.gather(1, Tensor.from([[1]])),
    /gather: index float32\[1, 1\] .* int32 index/,
  );
  assert.throws(() => x.gather(0, Tensor.from([1], { dtype: "int32" })), /rank 2/);
  assert.throws(() => x.gather(2, Tensor.from([[0]], { dtype: "int32" })), /gather/);
  // A computed index is only known when the program runs: out of range gives NaN, never a value.
  const computed = Tensor.from([[1, 5]], { dtype: "int32" }).add(
    Tensor.from([[0, 0]], { dtype: "int32" }),
  );
  const y = await x.gather(1, computed).data();
  assert.equal(y[0], 2);
  assert.ok(Number.isNaN(y[1]));
});
