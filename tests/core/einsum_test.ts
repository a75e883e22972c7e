// einsum against torch fixtures, explicit formulas (matmul, sums, diagonals), gradcheck, errors
// and fusion (one kernel per pairwise contraction on the CPU backend).

import { strict as assert } from "node:assert";
import { backendStats, einsum, gradients, jvp, Tensor, vmap } from "../../mod.ts";
import { assertClose, gradcheck } from "../../testing/mod.ts";
import { API_FIXTURES, inputsOf, nums, weightsOf } from "../helpers/api_fixtures.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { f64, values } from "./helpers.ts";

const gpus = await hasWebGpu() ? webgpuBackends() : [];

// Sums of at most a few dozen products of values in [-1, 1] in float64: the order of additions
// (ours vs torch's) moves results by far less than 1e-13.
const tol = { rtol: 1e-12, atol: 1e-13 };

Deno.test("einsum matches torch.einsum: values and gradients", async (t) => {
  for (const c of API_FIXTURES.einsum) {
    for (const backend of ["interpreter", "cpu"]) {
      await t.step(`${c.spec} on ${backend}`, async () => {
        const xs = inputsOf(c, backend);
        const y = einsum(c.spec as string, ...xs);
        assert.deepEqual(y.shape, c.output.shape);
        await assertClose(y, nums(c.output.data), tol);
        const gs = gradients(y.mul(weightsOf(c, backend)).sum(), xs);
        for (const [i, g] of gs.entries()) await assertClose(g, nums(c.grads[i]), tol);
      });
    }
  }
});

Deno.test("einsum on WebGPU (float32) matches torch.einsum", async (t) => {
  for (const c of API_FIXTURES.einsum) {
    for (const backend of gpus) {
      await t.step(`${c.spec} on ${backend}`, async () => {
        const xs = inputsOf(c, backend, "float32");
        const y = einsum(c.spec as string, ...xs);
        // Float32 inputs in [-1, 1], at most 20 products per output summed: a few ulps of 1.
        await assertClose(y, nums(c.output.data), { rtol: 1e-5, atol: 1e-5 });
      });
    }
  }
});

Deno.test("einsum under vmap and jvp equals the batched spec and the product rule", async () => {
  const r = (shape: number[], seed: number) =>
    Tensor.randn(shape, { dtype: "float64", backend: "interpreter", seed });
  const m = r([5, 3, 4], 1), v = r([5, 4], 2);
  const batched = vmap((a: Tensor, b: Tensor) => einsum("ij,j->i", a, b))(m, v);
  await assertClose(batched, await values(einsum("bij,bj->bi", m, v)), tol);
  const dm = r([5, 3, 4], 3), dv = r([5, 4], 4);
  const [, dy] = jvp((a: Tensor, b: Tensor) => einsum("bij,bj->bi", a, b), [m, v], [dm, dv]);
  const want = einsum("bij,bj->bi", dm, v).add(einsum("bij,bj->bi", m, dv));
  await assertClose(dy as Tensor, await values(want), tol);
});

Deno.test("einsum of a matmul spec builds the very node matmul builds (hash-consed)", () => {
  const a = Tensor.rand([3, 4], { seed: 1 }), b = Tensor.rand([4, 5], { seed: 2 });
  assert.equal(einsum("ij,jk->ik", a, b).node, a.matmul(b).node);
  const x = Tensor.rand([2, 3, 4], { seed: 3 }), y = Tensor.rand([2, 4, 5], { seed: 4 });
  assert.equal(einsum("bij,bjk->bik", x, y).node, x.matmul(y).node);
});

Deno.test("einsum equals explicit formulas", async () => {
  const a = Tensor.randn([3, 4], { dtype: "float64", backend: "interpreter", seed: 1 });
  const b = Tensor.randn([4, 5], { dtype: "float64", backend: "interpreter", seed: 2 });
  const m = Tensor.randn([4, 4], { dtype: "float64", backend: "interpreter", seed: 3 });
  await assertClose(einsum("ij,jk->ik", a, b), await values(a.matmul(b)), tol);
  await assertClose(einsum("ij,jk->ki", a, b), await values(a.matmul(b).transpose()), tol);
  await assertClose(einsum("ij->j", a), await values(a.sum(0)), tol);
  await assertClose(einsum("ij", a), await values(a), tol);
  await assertClose(einsum("ji", a), await values(a.transpose()), tol);
  const mv = await values(m);
  const diag = [0, 1, 2, 3].map((i) => mv[i * 5]);
  await assertClose(einsum("ii->i", m), diag, tol);
  await assertClose(einsum("ii", m), [diag.reduce((s, v) => s + v)], tol);
  // A letter repeated three times: the main diagonal of a cube.
  const cube = f64(Array.from({ length: 27 }, (_, i) => i)).reshape([3, 3, 3]);
  assert.deepEqual(await values(einsum("iii->i", cube)), [0, 13, 26]);
  // Extent-1 broadcasting of a letter, and size-0 axes.
  await assertClose(
    einsum("ij,ij->ij", a, a.sum(0, { keepdims: true })),
    await values(a.mul(a.sum(0, { keepdims: true }))),
    tol,
  );
  const empty = f64([], [0, 3]);
  assert.deepEqual(einsum("ij,jk->ik", empty, f64([1, 2, 3], [3, 1])).shape, [0, 1]);
  assert.deepEqual(await values(einsum("ij->j", empty)), [0, 0, 0]);
});

Deno.test("einsum gradients pass gradcheck (first and second order)", async () => {
  const r = (shape: number[], seed: number) =>
    Tensor.rand(shape, { dtype: "float64", backend: "interpreter", seed, low: -1, high: 1 });
  await gradcheck((a, b) => einsum("bij,bjk->bik", a, b), [r([2, 2, 3], 1), r([2, 3, 2], 2)], {
    order: 2,
  });
  await gradcheck((a) => einsum("ii->i", a), [r([3, 3], 3)]);
  await gradcheck((a, b, c) => einsum("...i,ij,...j->...", a, b, c), [
    r([2, 3], 4),
    r([3, 3], 5),
    r([1, 3], 6),
  ]);
});

Deno.test("einsum on the CPU backend: one kernel per pairwise contraction (float32)", async () => {
  const a = Tensor.randn([16, 8], { backend: "cpu", seed: 1 });
  const b = Tensor.randn([8, 12], { backend: "cpu", seed: 2 });
  const c = Tensor.randn([12, 4], { backend: "cpu", seed: 3 });
  await realizeAll(a, b, c);
  const count = async (y: Tensor) => {
    const before = (await backendStats("cpu")).kernelsRun;
    await y.data();
    return (await backendStats("cpu")).kernelsRun - before;
  };
  assert.equal(await count(einsum("ij,jk->ik", a, b)), 1);
  assert.equal(await count(einsum("ij,jk,kl->il", a, b, c)), 2);
  await assertClose(einsum("ij,jk->ik", a, b), await values(a.matmul(b)), {
    rtol: 1e-5,
    atol: 1e-5,
  });
});

async function realizeAll(...ts: Tensor[]) {
  for (const t of ts) await t.realize();
}

Deno.test("einsum errors name the spec and the offending operand, letter or shape", () => {
  const a = f64([1, 2, 3, 4, 5, 6], [2, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => einsum("ij,jk->ik", a), /einsum\("ij,jk->ik"\): the spec names 2 operand/],
    [() => einsum("ij,jk->ik", a, a), /letter 'j' has extent 2 in operand 1 \(shape \[2, 3\]\)/],
    [() => einsum("ijk", a), /operand 0 "ijk" has 3 letter\(s\) but shape \[2, 3\] has rank 2/],
    [() => einsum("ii", a), /letter 'i' repeats in operand 0 with extents 2 and 3/],
    [() => einsum("ij->k", a), /output letter 'k' appears in no operand/],
    [() => einsum("ij->ii", a), /output letter 'i' appears twice/],
    [() => einsum("i1", a), /character "1"/],
    [() => einsum("ij->i->j", a), /at most one "->"/],
    [() => einsum("......", a), /more than one "\.\.\."/],
  ];
  for (const [fn, re] of cases) assert.throws(fn, re);
});
