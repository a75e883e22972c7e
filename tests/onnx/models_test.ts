// Whole models exported and run by ONNX Runtime: the MNIST CNN with BatchNorm2d and with RBN
// (examples/mnist_model.ts) and an MLP. Outputs must match our CPU backend within 1e-5
// (absolute and relative, float32): the logits sum 784 products in the classifier and 72 in
// each convolution, whose float32 rounding differs between the two runtimes by far less.

import { deepStrictEqual, ok } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import {
  BatchNorm2d,
  GroupNorm,
  LayerNorm,
  Linear,
  type Module,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
} from "../../nn/mod.ts";
import { exportOnnx } from "../../onnx/mod.ts";
import { SmallCnn } from "../../examples/mnist_model.ts";
import { assertRuntimeMatches, decodeModel, opTypes } from "./runtime.ts";

/** Moves every state tensor away from its initial value, so no term of the model vanishes. */
async function perturb(model: Module, seed: number): Promise<void> {
  // Two training-mode batches give running statistics of their own.
  for (let i = 0; i < 2; i++) {
    model.forward(Tensor.randn([4, 1, 28, 28], { seed: seed + i }));
    await model.commitState();
  }
  for (const [i, [name, p]] of model.namedParameters().entries()) {
    if (/norm\d\.(weight|bias|center_weight|scale_weight|scale_bias)$/.test(name)) {
      model.setTensor(
        name,
        Tensor.randn(p.shape, { seed: seed + 100 + i, std: 0.5 }).add(
          name.endsWith("weight") && !name.includes("center") ? 1 : 0,
        ),
      );
    }
  }
  model.eval();
}

function initializerNames(bytes: Uint8Array): string[] {
  return decodeModel(bytes).graph!.initializer!.map((t) => t.name!);
}

const CNN_STATE = (norm: string[]) =>
  [
    "conv1.weight",
    "conv1.bias",
    ...norm.map((n) => `norm1.${n}`),
    "conv2.weight",
    "conv2.bias",
    ...norm.map((n) => `norm2.${n}`),
    "fc.weight",
    "fc.bias",
  ].sort();

Deno.test("ONNX: the MNIST CNN with BatchNorm2d runs in ONNX Runtime as Conv/BatchNormalization/Relu/MaxPool/Gemm", async () => {
  const model = new SmallCnn((c) => new BatchNorm2d(c), 3);
  await perturb(model, 10);
  const x = Tensor.randn([5, 1, 28, 28], { seed: 7 });
  const bytes = await exportOnnx(model, x);
  deepStrictEqual(opTypes(bytes), [
    "Conv",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "Conv",
    "BatchNormalization",
    "Relu",
    "MaxPool",
    "Reshape",
    "Gemm",
  ]);
  const names = initializerNames(bytes).filter((n) => !n.startsWith("const_")).sort();
  deepStrictEqual(names, CNN_STATE(["weight", "bias", "running_mean", "running_var"]));
  await assertRuntimeMatches(bytes, [x], [model.forward(x)], 1e-5, "CNN with BN");
});

Deno.test("ONNX: the MNIST CNN with RBN runs in ONNX Runtime, RBN as its equations", async () => {
  const model = new SmallCnn((c) => new RepresentativeBatchNorm2d(c), 4);
  await perturb(model, 20);
  const x = Tensor.randn([3, 1, 28, 28], { seed: 8 });
  const bytes = await exportOnnx(model, x);
  const ops = opTypes(bytes);
  // X_cm = X + w_m·mean_HW(X); X_s = BN(X_cm) with running statistics; K_s = mean_HW(X_s);
  // Y = γ·σ(w_v·K_s + w_b)·X_s + β.
  const rbnOps = [
    "ReduceMean",
    "Mul",
    "Add",
    "BatchNormalization",
    "ReduceMean",
    "Mul",
    "Add",
    "Sigmoid",
    "Mul",
    "Mul",
    "Add",
  ];
  const count = (op: string) => ops.filter((o) => o === op).length;
  for (const op of new Set(rbnOps)) {
    ok(count(op) >= 2 * rbnOps.filter((o) => o === op).length, `${op} missing in ${ops}`);
  }
  deepStrictEqual(ops.filter((o) => ["Conv", "MaxPool", "Gemm", "Relu"].includes(o)), [
    "Conv",
    "Relu",
    "MaxPool",
    "Conv",
    "Relu",
    "MaxPool",
    "Gemm",
  ]);
  const names = initializerNames(bytes).filter((n) => !n.startsWith("const_")).sort();
  deepStrictEqual(
    names,
    CNN_STATE([
      "weight",
      "bias",
      "center_weight",
      "scale_weight",
      "scale_bias",
      "running_mean",
      "running_var",
    ]),
  );
  await assertRuntimeMatches(bytes, [x], [model.forward(x)], 1e-5, "CNN with RBN");
});

Deno.test("ONNX: an MLP with LayerNorm, and a function of it with log-softmax, run in ONNX Runtime", async () => {
  const mlp = new Sequential(
    new Linear(20, 32, { seed: 1 }),
    new LayerNorm([32]),
    new ReLU(),
    new Linear(32, 10, { seed: 3 }),
  ).eval();
  const x = Tensor.randn([6, 20], { seed: 9 });
  const bytes = await exportOnnx(mlp, x, { inputNames: ["features"], outputNames: ["logits"] });
  deepStrictEqual(opTypes(bytes), ["Gemm", "LayerNormalization", "Relu", "Gemm"]);
  const model = decodeModel(bytes);
  deepStrictEqual(model.graph!.input!.map((v) => v.name), ["features"]);
  deepStrictEqual(model.graph!.output!.map((v) => v.name), ["logits"]);
  deepStrictEqual(initializerNames(bytes).sort(), [
    "0.bias",
    "0.weight",
    "1.bias",
    "1.weight",
    "3.bias",
    "3.weight",
  ]);
  await assertRuntimeMatches(bytes, [x], [mlp.forward(x)], 1e-5, "MLP");

  // A function of two inputs with two outputs: weights become anonymous initializers.
  const f = (a: Tensor, b: Tensor) => [mlp.forward(a.add(b)).logSoftmax(), a.mul(b).sum(1)];
  const y = Tensor.randn([6, 20], { seed: 10 });
  const two = await exportOnnx(f, [x, y]);
  await assertRuntimeMatches(two, [x, y], f(x, y), 1e-5, "two outputs");
});

Deno.test("ONNX: GroupNorm in a convolutional block runs in ONNX Runtime", async () => {
  const gn = new GroupNorm(2, 4);
  gn.loadStateDict({
    weight: Tensor.randn([4], { seed: 1 }),
    bias: Tensor.randn([4], { seed: 2 }),
  });
  const w = Tensor.randn([4, 3, 3, 3], { seed: 3 });
  const f = (x: Tensor) => gn.forward(x.conv2d(w)).sigmoid();
  const x = Tensor.randn([2, 3, 6, 6], { seed: 4 });
  const bytes = await exportOnnx(f, x);
  deepStrictEqual(opTypes(bytes), ["Conv", "GroupNormalization", "Sigmoid"]);
  await assertRuntimeMatches(bytes, [x], [f(x)], 1e-5, "GroupNorm");
});
