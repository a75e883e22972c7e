// Batching: every primitive's batching rule and random programs against stacking f per sample,
// with random in/out axes (negative, non-zero and null), on every backend; composition with
// grad, jvp and vmap itself; per-sample gradients as one program; trees of axes; errors.
//
// Tolerances: the batched program evaluates the same float operations per element as f on one
// sample, but fused differently (the CPU and WebGPU backends may order a reduction's additions
// differently), so results agree to the backend case's rounding tolerance (backends.ts).

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { backendStats, grad, realize, Tensor } from "../../mod.ts";
import { BATCH_RULES, vmap } from "../../core/vmap.ts";
import { jacrev } from "../../core/jacobian.ts";
import { rbn, RepresentativeBatchNorm2d } from "../../nn/mod.ts";
import { gradNorms, loopGrads, perSampleGrads, smallCnn } from "../../examples/per_sample_grads.ts";
import { jvp } from "../../core/transforms.ts";
import { assertClose, opGraph, shape, tensor } from "../../testing/mod.ts";
import { type BackendCase, forEachBackend } from "../properties/backends.ts";
import { f64, values } from "./helpers.ts";

/** Sample `i` of `x` along `axis` (the axis removed). */
const sample = (x: Tensor, axis: number, i: number) =>
  x.slice(x.shape.map((_, k) => (k === axis ? [i, i + 1] : null))).squeeze(axis);

/** The reference: f applied to each sample, results stacked along `outAxis`. */
function loop(
  f: (...xs: Tensor[]) => Tensor,
  args: Tensor[],
  inAxes: (number | null)[],
  outAxis: number,
  size: number,
): Tensor {
  const outs = Array.from(
    { length: size },
    (_, i) => f(...args.map((a, k) => (inAxes[k] === null ? a : sample(a, inAxes[k]!, i)))),
  );
  return Tensor.stack(outs, outAxis);
}

/**
 * Random arguments for an `arity`-ary f over samples of shape `s`: a batch size, an axis per
 * argument (at least one batched; null shares the argument), batched tensors, an output axis.
 */
function batchedCase(c: BackendCase, arity: number, s: number[], outRank: number, min = -2) {
  const axis: fc.Arbitrary<number | null> = fc.option(fc.integer({ min: 0, max: s.length }), {
    nil: null,
  });
  return fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.array(axis, { minLength: arity, maxLength: arity }),
    fc.integer({ min: -(outRank + 1), max: outRank }),
    fc.boolean(),
  ).chain(([size, axes, outAxis, negate]) => {
    if (!axes.some((a) => a !== null)) axes[0] = 0;
    const shapes = axes.map((a) => (a === null ? s : [...s.slice(0, a), size, ...s.slice(a)]));
    const ts = shapes.map((sh) =>
      tensor({ shape: sh, dtype: c.dtype, backend: c.backend, min, max: 2 })
    );
    // A negative in-axis counts from the end of the batched argument's rank.
    const inAxes = axes.map((a) => (a !== null && negate ? a - s.length - 1 : a));
    return fc.tuple(fc.constant({ size, inAxes, outAxis }), fc.tuple(...ts));
  });
}

async function checkBatching(
  c: BackendCase,
  f: (...xs: Tensor[]) => Tensor,
  arity: number,
  opts: { min?: number; runs?: number; sampleShape?: fc.Arbitrary<number[]> } = {},
) {
  const shapes = opts.sampleShape ?? shape({ minRank: 1, maxRank: 3, maxExtent: 3 });
  await fc.assert(
    fc.asyncProperty(
      shapes.chain((s) => {
        const probe = f(
          ...Array.from(
            { length: arity },
            () => Tensor.zeros(s, { dtype: c.dtype, backend: c.backend }),
          ),
        );
        return batchedCase(c, arity, s, probe.ndim, opts.min);
      }),
      async ([{ size, inAxes, outAxis }, args]) => {
        const got = vmap(f, { inAxes, outAxes: outAxis })(...args);
        const norm = inAxes.map((a, k) => (a === null || a >= 0 ? a : a + args[k].ndim));
        const outNorm = outAxis < 0 ? outAxis + got.ndim : outAxis;
        const want = loop(f, args, norm, outNorm, size);
        assert.deepEqual(got.shape, want.shape);
        await realize(got, want);
        await assertClose(got, want, c.tol);
      },
    ),
    { numRuns: opts.runs ?? Math.ceil(c.runs.numRuns / 3) },
  );
}

/** One function per primitive (the op named first is the one under test). */
const PRIMITIVE_CASES: Record<string, [(...xs: Tensor[]) => Tensor, number, number?]> = {
  neg: [(x) => x.neg(), 1],
  exp: [(x) => x.exp(), 1],
  log: [(x) => x.log(), 1, 0.5],
  sqrt: [(x) => x.sqrt(), 1, 0.5],
  recip: [(x) => x.reciprocal(), 1, 0.5],
  sin: [(x) => x.sin(), 1],
  sigmoid: [(x) => x.sigmoid(), 1],
  tanh: [(x) => x.tanh(), 1],
  floor: [(x) => x.mul(3).floor(), 1],
  round: [(x) => x.mul(3).round(), 1],
  floor_div: [(x, y) => x.mul(5).floorDivide(y.abs().add(0.5)), 2],
  fmod: [(x, y) => x.mul(5).fmod(y.sub(3)).add(x.mul(5).remainder(y.add(3))), 2],
  add: [(x, y) => x.add(y), 2],
  mul: [(x, y) => x.mul(y), 2],
  max: [(x, y) => x.maximum(y), 2],
  cmplt: [(x, y) => x.lt(y).cast(x.dtype), 2],
  cmpeq: [(x, y) => x.gt(0).eq(y.gt(0)).cast(x.dtype), 2],
  pow: [(x, y) => x.abs().add(0.5).pow(y), 2],
  where: [(x, y) => Tensor.where(x.lt(y), x, y.mul(3)), 2],
  cast: [(x) => x.cast(x.dtype === "float64" ? "float32" : "bool").cast(x.dtype), 1],
  detach: [(x) => x.detach().mul(x), 1],
  reduce_sum: [(x) => x.sum(0), 1],
  reduce_max: [(x) => x.max(-1, { keepdims: true }), 1],
  reshape: [(x) => x.reshape([...x.shape].reverse()), 1],
  permute: [(x) => x.permute(...x.shape.map((_, i) => x.ndim - 1 - i)), 1],
  expand: [(x) => x.unsqueeze(0).expand([2, ...x.shape]), 1],
  pad: [(x) => x.pad(x.shape.map((_, i) => [i % 2, 1] as [number, number]), 0.5), 1],
  slice: [(x) => x.slice(x.shape.map((d) => [d > 1 ? 1 : 0, d, 2] as [number, number, number])), 1],
};

Deno.test("vmap: every primitive's batching rule equals stacking f per sample", async (t) => {
  await forEachBackend(t, async (c) => {
    for (const [name, [f, arity, min]] of Object.entries(PRIMITIVE_CASES)) {
      const runs = c.backend === "webgpu" ? 3 : 8;
      await checkBatching(c, f, arity, { min, runs }).catch((e: Error) => {
        throw new Error(`the batching rule of ${name}: ${e.message}`);
      });
    }
    // A shared (closed-over) tensor broadcasts against the batched one; a rank-0 sample works.
    const w = Tensor.from([0.5, -1, 2], { dtype: c.dtype, backend: c.backend });
    await checkBatching(c, (x) => x.mul(w).sum(), 1, { sampleShape: fc.constant([3]) });
    await checkBatching(c, (x, y) => x.mul(y).exp(), 2, { sampleShape: fc.constant([]) });
  });
});

Deno.test("vmap: every primitive has a batching rule and a case above", () => {
  assert.deepEqual(
    Object.keys(BATCH_RULES).sort(),
    ["buffer", "const", ...Object.keys(PRIMITIVE_CASES)].sort(),
  );
});

Deno.test("vmap law: vmap(g) equals stacking g per sample on random programs", async (t) => {
  await forEachBackend(t, async (c) => {
    await fc.assert(
      fc.asyncProperty(
        opGraph({ arity: 2, maxSteps: 6, shape: shape({ maxRank: 3, maxExtent: 3 }) }).chain((g) =>
          fc.tuple(fc.constant(g), batchedCase(c, 2, g.shape, g.shape.length))
        ),
        async ([g, [{ size, inAxes, outAxis }, args]]) => {
          const got = vmap(g.apply, { inAxes, outAxes: outAxis })(...args);
          const norm = inAxes.map((a, k) => (a === null || a >= 0 ? a : a + args[k].ndim));
          const want = loop(g.apply, args, norm, outAxis < 0 ? outAxis + got.ndim : outAxis, size);
          await realize(got, want);
          await assertClose(got, want, c.tol);
        },
      ),
      c.runs,
    );
  });
});

const linearLoss = (w: Tensor, x: Tensor, y: Tensor) => x.mul(w).sum().sub(y).square().tanh();

Deno.test("vmap: per-sample gradients are one program whose kernel count does not grow with the batch", async () => {
  const kernels = async (size: number) => {
    const w = Tensor.rand([4], { seed: 1, dtype: "float64", backend: "cpu" });
    const x = Tensor.rand([size, 4], { seed: 2, dtype: "float64", backend: "cpu" });
    const y = Tensor.rand([size], { seed: 3, dtype: "float64", backend: "cpu" });
    await realize(w, x, y);
    const before = (await backendStats("cpu")).kernelsRun;
    const g = vmap(grad(linearLoss), { inAxes: [null, 0, 0] })(w, x, y);
    await g.realize();
    const run = (await backendStats("cpu")).kernelsRun - before;
    const want = Tensor.stack(
      Array.from({ length: size }, (_, i) => grad(linearLoss)(w, sample(x, 0, i), sample(y, 0, i))),
    );
    await assertClose(g, want, { rtol: 1e-12, atol: 1e-14 });
    return run;
  };
  const [k2, k16] = [await kernels(2), await kernels(16)];
  assert.equal(k2, k16, `kernels for batch 2 (${k2}) and batch 16 (${k16}) should be equal`);
  // As many kernels as the gradient of one sample: the batch lives inside the same loop nests.
  const w = Tensor.rand([4], { seed: 1, dtype: "float64", backend: "cpu" });
  const x = Tensor.rand([4], { seed: 2, dtype: "float64", backend: "cpu" });
  const y = Tensor.rand([], { seed: 3, dtype: "float64", backend: "cpu" });
  await realize(w, x, y);
  const before = (await backendStats("cpu")).kernelsRun;
  await grad(linearLoss)(w, x, y).realize();
  assert.equal(k2, (await backendStats("cpu")).kernelsRun - before);
});

Deno.test("vmap composes with grad, jvp and itself", async (t) => {
  const x = f64([[0.5, -1, 2], [1, 0.25, -0.5]]);
  const f = (v: Tensor) => v.sin().mul(v).sum();
  await t.step("grad of a sum over vmap is the stack of per-sample gradients", async () => {
    const g = grad((xs: Tensor) => vmap(f)(xs).sum())(x);
    await assertClose(g, Tensor.stack([grad(f)(sample(x, 0, 0)), grad(f)(sample(x, 0, 1))]));
  });
  await t.step("jvp of vmap equals vmap of jvp", async () => {
    const v = f64([[1, 2, 3], [-1, 0, 0.5]]);
    const [, a] = jvp(vmap(f), [x], [v]);
    const b = vmap((x: Tensor, v: Tensor) => jvp(f, [x], [v])[1])(x, v);
    await assertClose(a, b, { rtol: 1e-14, atol: 0 });
  });
  await t.step("vmap of vmap: an outer product", async () => {
    const a = f64([1, 2, 3]), b = f64([10, 20]);
    const outer = vmap((p: Tensor) => vmap((q: Tensor) => p.mul(q))(b))(a);
    assert.deepEqual(outer.shape, [3, 2]);
    assert.deepEqual(await values(outer), [10, 20, 20, 40, 30, 60]);
  });
});

Deno.test("vmap: trees of arguments, inAxes and outAxes", async () => {
  const params = { w: f64([1, 2]), b: f64([0.5]) };
  const xs = f64([[1, 1], [2, 0], [0, 3]]).permute(1, 0); // batch along axis 1
  const f = (p: { w: Tensor; b: Tensor }, x: Tensor) => ({
    y: x.mul(p.w).sum([0], { keepdims: true }).add(p.b),
    w2: p.w.mul(2),
  });
  const out = vmap(f, { inAxes: [{ w: null, b: null }, 1], outAxes: { y: 1, w2: null } })(
    params,
    xs,
  );
  assert.deepEqual(out.y.shape, [1, 3]);
  assert.deepEqual(await values(out.y), [3.5, 2.5, 6.5]);
  assert.deepEqual(await values(out.w2), [2, 4]);
  // An unbatched result with a numeric out-axis is broadcast along the batch.
  const both = vmap(f, { inAxes: [null, -1] })(params, xs);
  assert.deepEqual(both.w2.shape, [3, 2]);
});

Deno.test("vmap: bad input fails clearly", async (t) => {
  const a = f64([[1, 2], [3, 4], [5, 6]]), b = f64([[1, 2], [3, 4]]);
  const add = (x: Tensor, y: Tensor) => x.add(y);
  await t.step("mismatched batch sizes name both arguments and sizes", () =>
    assert.throws(
      () => vmap(add)(a, b),
      /vmap: batched arguments have different batch sizes: argument 0 has 3 along axis 0 \(shape \[3, 2\]\), argument 1 has 2 along axis 0 \(shape \[2, 2\]\)/,
    ));
  await t.step(
    "axis out of range",
    () =>
      assert.throws(
        () => vmap(add, { inAxes: [2, 0] })(a, a),
        /batch axis 2 is out of range for argument 0 of shape \[3, 2\]/,
      ),
  );
  await t.step(
    "inAxes structure",
    () =>
      assert.throws(
        () => vmap(add, { inAxes: [0] })(a, a),
        /inAxes for arguments is an array of 1 but arguments is an array of 2/,
      ),
  );
  await t.step(
    "nothing batched",
    () => assert.throws(() => vmap(add, { inAxes: null })(a, a), /no argument is batched/),
  );
  await t.step(
    "a batched result with outAxes null",
    () =>
      assert.throws(
        () => vmap(add, { outAxes: null })(a, a),
        /result depends on a batched argument but its outAxes is null/,
      ),
  );
  await t.step("reading the data of a traced argument", async () => {
    const leak: Tensor[] = [];
    vmap((x: Tensor) => (leak.push(x), x))(a);
    await assert.rejects(
      () => leak[0].data(),
      /vmap: f read the data of a batched argument while it was traced/,
    );
  });
});

Deno.test("vmap: per-sample gradients of an RBN layer", async (t) => {
  const o = { dtype: "float64", backend: "cpu" } as const;
  const layer = new RepresentativeBatchNorm2d(3, o).eval();
  layer.center_weight = Tensor.randn([1, 3, 1, 1], { ...o, seed: 1 });
  layer.scale_weight = Tensor.randn([1, 3, 1, 1], { ...o, seed: 2 });
  layer.running_mean = Tensor.randn([3], { ...o, seed: 3 });
  layer.running_var = Tensor.rand([3], { ...o, seed: 4, low: 0.5, high: 2 });
  const params = Object.fromEntries(layer.namedParameters());
  const xs = Tensor.randn([5, 3, 4, 4], { ...o, seed: 5 });
  const w = Tensor.randn([3, 4, 4], { ...o, seed: 6 });
  // The loop differentiates realized copies of the samples: grad follows nodes, and x.unsqueeze(0)
  // of a lazy squeezed slice is built as the slice itself, which would hide x from grad.
  const samples = await Promise.all(
    Array.from(
      { length: 5 },
      async (_, i) => Tensor.from(await sample(xs, 0, i).data(), { ...o, shape: [3, 4, 4] }),
    ),
  );
  const perSampleLoop = (loss: (p: typeof params, x: Tensor) => Tensor) =>
    samples.map((x) => grad(loss, { argnums: [0, 1] })(params, x));
  await t.step("eval mode: vmap(grad) equals a loop over samples", async () => {
    const loss = (_: typeof params, x: Tensor) =>
      layer.forward(x.unsqueeze(0)).squeeze(0).mul(w).sum();
    const [gp, gx] = vmap(grad(loss, { argnums: [0, 1] }), { inAxes: [null, 0] })(
      params,
      xs,
    ) as unknown as [typeof params, Tensor];
    const rows = perSampleLoop(loss) as unknown as [typeof params, Tensor][];
    await assertClose(gx, Tensor.stack(rows.map((r) => r[1])), { rtol: 1e-12, atol: 1e-14 });
    for (const k of Object.keys(params)) {
      assert.deepEqual(gp[k].shape, [5, ...params[k].shape]);
      await assertClose(gp[k], Tensor.stack(rows.map((r) => r[0][k])), {
        rtol: 1e-12,
        atol: 1e-14,
      });
    }
  });
  await t.step("training mode: each sample is normalized as a batch of one", async () => {
    // Batch statistics couple samples; vmap runs f per sample, so the statistics inside f are
    // those of one sample: the result equals the loop over batches of one, not the rows of the
    // Jacobian of the batch's per-sample losses (which include the coupling).
    const train = (x: Tensor) =>
      rbn(x, {
        centerWeight: params.center_weight,
        scaleWeight: params.scale_weight,
        scaleBias: params.scale_bias,
        weight: params.weight,
        bias: params.bias,
        training: true,
      }).y;
    const loss = (_: typeof params, x: Tensor) => train(x.unsqueeze(0)).squeeze(0).mul(w).sum();
    const g = vmap(grad(loss), { inAxes: [null, 0] })(params, xs);
    const rows = Array.from({ length: 5 }, (_, i) => grad(loss)(params, sample(xs, 0, i)));
    await assertClose(g.weight, Tensor.stack(rows.map((r) => r.weight)), {
      rtol: 1e-12,
      atol: 1e-14,
    });
    const coupled = jacrev((_: typeof params) => train(xs).mul(w.unsqueeze(0)).sum([1, 2, 3]))(
      params,
    ) as typeof params;
    const gap = await g.weight.sub(coupled.weight).abs().max().item();
    assert.ok(gap > 1e-3, `batch-of-one and coupled gradients should differ, got ${gap}`);
  });
});

Deno.test("vmap at the edges: empty and size-1 batches, NaN and ±Infinity", async (t) => {
  await forEachBackend(t, async (c) => {
    const o = { dtype: c.dtype, backend: c.backend } as const;
    const f = (x: Tensor) => x.exp().mul(x.max()).sum([0], { keepdims: true });
    const empty = vmap(grad((x: Tensor) => x.square().sum()))(Tensor.zeros([0, 3], o));
    assert.deepEqual(empty.shape, [0, 3]);
    assert.equal((await empty.data()).length, 0);
    assert.deepEqual(vmap(f)(Tensor.zeros([0, 2], o)).shape, [0, 1]);
    const special = Tensor.from([[NaN, 1], [Infinity, -Infinity], [-Infinity, 0], [2, 3]], o);
    for (const xs of [special, special.slice([[3, 4]])]) {
      const got = vmap(f, { outAxes: 1 })(xs);
      const want = loop(f, [xs], [0], 1, xs.shape[0]);
      await realize(got, want);
      await assertClose(got, want, c.tol);
    }
  });
});

Deno.test("examples/per_sample_grads.ts: per-sample CNN gradient norms equal the loop", async () => {
  const model = smallCnn(3);
  const xs = Tensor.randn([4, 1, 8, 8], { dtype: "float64", backend: "cpu", seed: 9 });
  const ys = Tensor.from([0, 2, 1, 1], { dtype: "float64", backend: "cpu" });
  const batched = gradNorms(perSampleGrads(model, xs, ys));
  const looped = gradNorms(loopGrads(model, xs, ys));
  await realize(batched, looped);
  await assertClose(batched, looped, { rtol: 1e-12, atol: 1e-14 });
  // Different samples have different gradients: the comparison is not between constants.
  const v = await values(batched);
  assert.ok(Math.max(...v) - Math.min(...v) > 1e-3, `norms ${v}`);
});
