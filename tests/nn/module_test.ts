import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  Linear,
  Module,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
} from "../../nn/mod.ts";

const net = () =>
  new Sequential(
    new Conv2d(1, 2, 3, { padding: 1, seed: 1 }),
    new RepresentativeBatchNorm2d(2),
    new ReLU(),
    new Flatten(),
    new Linear(8, 3, { seed: 2 }),
  );

Deno.test("RBN state names, shapes and initial values follow the authors' module", async () => {
  const m = new RepresentativeBatchNorm2d(3, { dtype: "float64" });
  const state = m.stateDict();
  deepStrictEqual(Object.keys(state), [
    "weight",
    "bias",
    "center_weight",
    "scale_weight",
    "scale_bias",
    "running_mean",
    "running_var",
    "num_batches_tracked",
  ]);
  const init: Record<string, [number[], number]> = {
    weight: [[1, 3, 1, 1], 1],
    bias: [[1, 3, 1, 1], 0],
    center_weight: [[1, 3, 1, 1], 0],
    scale_weight: [[1, 3, 1, 1], 0],
    scale_bias: [[1, 3, 1, 1], 1],
    running_mean: [[3], 0],
    running_var: [[3], 1],
    num_batches_tracked: [[], 0],
  };
  for (const [name, [shape, value]] of Object.entries(init)) {
    deepStrictEqual(state[name].shape, shape, name);
    ok((await state[name].data()).every((v) => v === value), name);
  }
  deepStrictEqual(m.namedBuffers().map(([n]) => n), [
    "running_mean",
    "running_var",
    "num_batches_tracked",
  ]);
  const bare = new RepresentativeBatchNorm2d(3, { affine: false, trackRunningStats: false });
  deepStrictEqual(Object.keys(bare.stateDict()), ["center_weight", "scale_weight", "scale_bias"]);
});

Deno.test("dotted names, PyTorch order and train/eval reach every descendant", () => {
  const m = net();
  deepStrictEqual(m.namedParameters().map(([n]) => n), [
    "0.weight",
    "0.bias",
    "1.weight",
    "1.bias",
    "1.center_weight",
    "1.scale_weight",
    "1.scale_bias",
    "4.weight",
    "4.bias",
  ]);
  deepStrictEqual(m.namedBuffers().map(([n]) => n), [
    "1.running_mean",
    "1.running_var",
    "1.num_batches_tracked",
  ]);
  strictEqual(m.parameters().length, 9);
  m.eval();
  ok(m.namedModules().every(([, c]) => !c.training));
  m.train();
  ok(m.namedModules().every(([, c]) => c.training));
});

Deno.test("a custom module discovers tensor fields and child modules", () => {
  class Block extends Module {
    scale = Tensor.ones([2]);
    steps = Tensor.zeros([]);
    inner = new Linear(2, 2, { seed: 0 });
    #cache = Tensor.zeros([1]);
    constructor() {
      super();
      this.registerBuffer("steps");
    }
    forward(x: Tensor): Tensor {
      return this.inner.forward(x).mul(this.scale).add(this.#cache);
    }
  }
  const b = new Block();
  deepStrictEqual(Object.keys(b.stateDict()), ["scale", "steps", "inner.weight", "inner.bias"]);
  deepStrictEqual(b.namedParameters().map(([n]) => n), ["scale", "inner.weight", "inner.bias"]);
});

Deno.test("loadStateDict validates everything before changing anything", async (t) => {
  const m = new BatchNorm2d(2);
  const before = m.stateDict();
  const good = {
    weight: Tensor.from([2, 3]),
    bias: Tensor.from([4, 5]),
    running_mean: Tensor.from([0.5, 0.5]),
    running_var: Tensor.from([2, 2]),
    num_batches_tracked: Tensor.from([7], { shape: [], dtype: "float64" }),
  };
  await t.step("a shape mismatch throws and leaves the module unchanged", () => {
    throws(
      () => m.loadStateDict({ ...good, bias: Tensor.from([1, 2, 3]) }),
      /size mismatch for "bias": got \[3\], the module has \[2\]/,
    );
    deepStrictEqual(Object.entries(m.stateDict()), Object.entries(before));
  });
  await t.step("strict: missing and unexpected keys throw", () => {
    const { bias: _, ...missing } = good;
    throws(() => m.loadStateDict(missing), /missing key\(s\): "bias"/);
    throws(
      () => m.loadStateDict({ ...good, extra: Tensor.zeros([1]) }),
      /unexpected key\(s\): "extra"/,
    );
    deepStrictEqual(Object.entries(m.stateDict()), Object.entries(before));
  });
  await t.step("non-strict loads what matches and reports the rest", async () => {
    const r = m.loadStateDict({ weight: good.weight, extra: Tensor.zeros([1]) }, { strict: false });
    deepStrictEqual(r.unexpectedKeys, ["extra"]);
    deepStrictEqual(r.missingKeys, ["bias", "running_mean", "running_var", "num_batches_tracked"]);
    deepStrictEqual(Array.from(await m.weight!.data()), [2, 3]);
  });
  await t.step("values are cast to the module's dtype", async () => {
    m.loadStateDict(good);
    strictEqual(m.num_batches_tracked!.dtype, "float32");
    strictEqual(await m.num_batches_tracked!.item(), 7);
  });
});

Deno.test("train-mode forward replaces buffers lazily; commitState leaves detached leaves", async () => {
  const m = new BatchNorm2d(2, { dtype: "float64" });
  const first = m.running_mean!;
  m.forward(Tensor.randn([3, 2, 2, 2], { dtype: "float64", seed: 3 }));
  ok(m.running_mean !== first && !m.running_mean!.isRealized);
  strictEqual(m.pendingState().length, 3);
  await m.commitState();
  strictEqual(m.pendingState().length, 0);
  ok(m.buffers().every((b) => b.node.op === "buffer"));
  strictEqual(await m.num_batches_tracked!.item(), 1);
  m.eval().forward(Tensor.randn([3, 2, 2, 2], { dtype: "float64", seed: 4 }));
  strictEqual(m.pendingState().length, 0);
});

Deno.test("RBN leaves its input untouched (the reference adds into it in place)", async () => {
  const m = new RepresentativeBatchNorm2d(2, { dtype: "float64" });
  m.center_weight = Tensor.from([[[[0.5]], [[-2]]]], { dtype: "float64" });
  const x = Tensor.randn([2, 2, 3, 3], { dtype: "float64", seed: 9 });
  const before = await x.data();
  await m.forward(x).data();
  deepStrictEqual(await x.data(), before);
});

Deno.test("constructors reject bad sizes with the layer's name", () => {
  throws(() => new BatchNorm2d(0), /BatchNorm2d: numFeatures must be a positive integer/);
  throws(() => new Conv2d(3, 4, 3, { groups: 2 }), /Conv2d: .* divisible by groups 2/);
  throws(() => new RepresentativeBatchNorm2d(2, { momentum: 2 }), /momentum 2 is out of range/);
  throws(
    () => new RepresentativeBatchNorm2d(2).forward(Tensor.zeros([2, 2, 2])),
    /expected 4D input/,
  );
});
