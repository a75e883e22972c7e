/**
 * Every primitive and the composite ops built from them on WebGPU, against the interpreter, for
 * each kernel style (see tests/helpers/webgpu.ts).
 *
 * Tolerances: float32 rounding is 6e-8 relative; WGSL allows exp/log/sqrt a few ULP and sin an
 * absolute 2^-11 on [-π, π]; reductions sum in a different order, adding up to n·2^-24 of the
 * sum of magnitudes. rtol 1e-4 with atol 1e-4 covers all of these for the extents used here
 * (n <= 1000, values of order 1) while still catching any indexing mistake, which is O(1).
 *
 * @module
 */

import fc from "fast-check";
import { getBackend, Tensor, type WebGpuBackend } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { isRealized } from "../../core/realize.ts";
import { assertClose, tensor } from "../../testing/mod.ts";
import { hasWebGpu, onBoth, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const WEBGPU_BACKENDS = webgpuBackends();
const TOL = { rtol: 1e-4, atol: 1e-4 };

type Same = (msg: string, inputs: Tensor[], f: (...xs: Tensor[]) => Tensor) => Promise<void>;

/** Registers `name` with one step per WebGPU backend; `same` compares with the interpreter. */
function gpuTest(name: string, body: (same: Same, backend: string) => Promise<void>): void {
  Deno.test({ name, ignore: !gpu }, async (tt) => {
    for (const backend of WEBGPU_BACKENDS) {
      const same: Same = async (msg, inputs, f) => {
        const { gpu, ref } = await onBoth(inputs, f, backend);
        await assertClose(await gpu.data(), await ref.data(), { ...TOL, msg });
      };
      await tt.step(backend, () => body(same, backend));
    }
  });
}

const t = (shape: number[], min = -1, max = 1) =>
  fc.sample(tensor({ shape, min, max, backend: "interpreter" }), 1)[0];

gpuTest("webgpu: elementwise primitives match the interpreter", async (same) => {
  const x = t([3, 5]);
  const y = t([3, 5]);
  const pos = t([3, 5], 0.1, 3);
  await same("neg", [x], (a) => a.neg());
  await same("exp", [x], (a) => a.exp());
  await same("log", [pos], (a) => a.log());
  await same("sqrt", [pos], (a) => a.sqrt());
  await same("recip", [pos], (a) => a.reciprocal());
  await same("sin", [x], (a) => a.sin());
  await same("sigmoid", [x], (a) => a.mul(8).sigmoid());
  await same("tanh", [x], (a) => a.mul(30).tanh());
  await same("add", [x, y], (a, b) => a.add(b));
  await same("mul", [x, y], (a, b) => a.mul(b));
  await same("max", [x, y], (a, b) => a.maximum(b));
  await same("cmplt/where", [x, y], (a, b) => Tensor.where(a.lt(b), a, b.mul(3)));
  await same("cmpeq/cast", [x], (a) => a.eq(a.max()).cast("float32"));
  await same(
    "cast bool",
    [x],
    (a) => a.gt(0).cast("float32").add(a.lt(0).logicalNot().cast("float32")),
  );
  await same(
    "const broadcast",
    [x],
    (a) => a.add(2).mul(Tensor.from([[0.5], [2], [-1]], { backend: a.backend })),
  );
  await same("detach", [x], (a) => a.detach().mul(2));
});

gpuTest("webgpu: bool results read back as bool", async (_, backend) => {
  const x = Tensor.from([1, -2, 3], { backend });
  const m = await x.gt(0).data();
  if (!(m instanceof Uint8Array) || [...m].join() !== "1,0,1") {
    throw new Error(`expected Uint8Array [1, 0, 1], got ${m}`);
  }
});

gpuTest("webgpu: movement ops match the interpreter", async (same) => {
  const x = t([2, 3, 4]);
  await same("permute", [x], (a) => a.permute(2, 0, 1).mul(1));
  await same("expand", [x], (a) => a.sum(1, { keepdims: true }).expand([2, 5, 4]).mul(1));
  await same("reshape", [x], (a) => a.reshape([4, 6]).transpose().mul(1));
  await same("pad", [x], (a) => a.pad([[1, 0], [0, 2], [1, 1]]));
  await same("pad value", [x], (a) => a.pad([[0, 0], [1, 1], [0, 0]], -3));
  await same("slice", [x], (a) => a.slice([null, [1, 3], [0, 4, 2]]));
  await same("concat", [x, x], (a, b) => Tensor.concat([a, b.neg()], 1));
  await same("wide rows", [t([300, 70])], (a) => a.exp().transpose().mul(2));
});

gpuTest("webgpu: reductions of every size match the interpreter", async (_, backend) => {
  // Short, per-output, cooperative, flattened and split reductions, and loops longer than one
  // invocation may run serially.
  const cases: [number[], (a: Tensor) => Tensor][] = [
    [[4, 7], (a) => a.sum(1)],
    [[4, 7], (a) => a.max()],
    [[3, 700], (a) => a.sum(1)],
    [[700, 3], (a) => a.mean(0)],
    [[2, 40000], (a) => a.max(1)],
    [[1, 200000], (a) => a.sum()],
    [[1, 200000], (a) => a.mean(0)],
    [[3, 20000, 2], (a) => a.sum([0, 1])],
    [[2, 3, 40, 50], (a) => a.sum([0, 2, 3])],
    [[2, 3, 40, 50], (a) => a.min([1, 3])],
  ];
  for (const [shape, f] of cases) {
    const x = t(shape);
    const n = shape.reduce((p, d) => p * d, 1);
    // Sums of n uniform values have magnitude ~sqrt(n); the order error is n·2^-24.
    const atol = Math.max(1e-4, n * 2 ** -24 * 4);
    const { gpu, ref } = await onBoth([x], f, backend);
    await assertClose(await gpu.data(), await ref.data(), {
      rtol: 1e-4,
      atol,
      msg: `${f} over ${JSON.stringify(shape)}`,
    });
  }
});

gpuTest("webgpu: matmul, conv2d and pooling match the interpreter", async (same) => {
  const a = t([5, 7]);
  const b = t([7, 3]);
  await same("matmul", [a, b], (p, q) => p.matmul(q));
  await same("batched matmul", [t([2, 3, 4]), t([4, 5])], (p, q) => p.matmul(q));
  const x = t([2, 3, 6, 6]);
  const w = t([4, 3, 3, 3]);
  await same("conv2d", [x, w], (p, q) => p.conv2d(q, { padding: 1 }));
  await same("conv2d stride", [x, w], (p, q) => p.conv2d(q, { stride: 2, dilation: 1 }));
  await same("conv2d groups", [x, t([3, 1, 2, 2])], (p, q) => p.conv2d(q, { groups: 3 }));
  await same("maxPool2d", [x], (p) => p.maxPool2d(2));
  await same("avgPool2d", [x], (p) => p.avgPool2d(3, { stride: 1, padding: 1 }));
  await same("softmax", [x], (p) => p.softmax(-1));
});

gpuTest("webgpu: contractions large enough to tile match the interpreter", async (same) => {
  await same("matmul", [t([37, 50]), t([50, 29])], (p, q) => p.matmul(q));
  await same("batched matmul", [t([3, 20, 24]), t([3, 24, 18])], (p, q) => p.matmul(q));
  await same("matmul of exp", [t([20, 33]), t([33, 17])], (p, q) => p.exp().matmul(q.tanh()));
  const x = t([2, 4, 9, 9]);
  const w = t([6, 4, 3, 3]);
  await same("conv2d", [x, w], (p, q) => p.conv2d(q, { padding: 1 }));
  await same("conv2d stride", [x, w], (p, q) => p.conv2d(q, { stride: 2 }).relu());
});

Deno.test(
  { name: "webgpu: cooperative contractions are tiled in workgroup memory", ignore: !gpu },
  async () => {
    const backend = await getBackend("webgpu-cooperative") as WebGpuBackend;
    const y = Tensor.rand([37, 50]).matmul(Tensor.rand([50, 29]));
    const { kernels } = backend.inspect(lower([y.node], isRealized).program);
    if (kernels.length !== 1 || !/var<workgroup> sh\d+/.test(kernels[0].source)) {
      throw new Error(
        `expected one tiled kernel, got:\n${kernels.map((k) => k.source).join("\n")}`,
      );
    }
  },
);

gpuTest("webgpu: scalars, empty tensors and bool views match the interpreter", async (same) => {
  const x = t([4]);
  await same("scalar", [x], (a) => a.sum().mul(2).exp());
  await same("empty", [x], (a) => Tensor.zeros([0, 3], { backend: a.backend }).add(1));
  // The sum over an empty axis folds its load away: nothing may be bound for it.
  await same(
    "sum over an empty axis",
    [x],
    (a) => Tensor.zeros([2, 0], { backend: a.backend }).sum(1),
  );
  await same(
    "bool where",
    [x],
    (a) => Tensor.where(a.gt(0), a.lt(0.5), a.gt(-0.5)).cast("float32"),
  );
  await same("padded bool", [x], (a) => a.gt(0).pad([[1, 2]]).cast("float32"));
  // 1/0 is +∞ and exp(-∞) is 0 (WGSL may drop the sign of zero, so no -0 is divided).
  await same(
    "infinities",
    [x],
    (a) => Tensor.from([0, 1, 2, 4], { backend: a.backend }).reciprocal().maximum(a).neg().exp(),
  );
});
