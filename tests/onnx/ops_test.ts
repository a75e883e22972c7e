// Single-operator models: every ONNX operator of the exporter's mapping, run by ONNX Runtime and
// compared with our CPU backend. Tolerance 1e-5 (absolute and relative): both sides compute in
// float32 and round each operation, but the runtime's transcendental functions, accumulation
// order in reductions and convolutions, and fused normalizations differ from ours by a few ulps
// (about 1e-7 relative); 1e-5 leaves room for sums of a few hundred terms and nothing more.

import { deepStrictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { batchNorm, groupNorm, layerNorm, linear } from "../../nn/mod.ts";
import { exportOnnx } from "../../onnx/mod.ts";
import { assertRuntimeMatches, opTypes, ortValues, runOnnx } from "./runtime.ts";

interface OpCase {
  /** The ONNX operators the model must consist of (in this order, nothing else). */
  ops: string[];
  f: (...xs: Tensor[]) => Tensor;
  inputs: () => Tensor[];
}

const randn = (shape: number[], seed: number, dtype: "float32" | "float64" = "float32") =>
  Tensor.randn(shape, { seed, dtype });
const positive = (shape: number[], seed: number) => Tensor.rand(shape, { seed, low: 0.1, high: 3 });
// Values with ties, zeros, ±Infinity and NaN, where the op is defined for them.
const edgy = () => Tensor.from([[0, -0, 1, -1, 2, 2], [Infinity, -Infinity, 0.5, -3, 1e-8, 7]]);

// NaN in every position class: both runtimes propagate it through these operators alike.
const withNaN = () => Tensor.from([[NaN, 1, -2, 3], [0.5, NaN, NaN, -1]]);

const ints = (v: number[] | number[][], shape?: number[]) =>
  Tensor.from(v.flat(), { dtype: "int32", shape: shape ?? [v.length] });

const W = randn([4, 3, 3, 3], 11);
const W_GROUPED = randn([4, 1, 3, 3], 12);
const B4 = randn([4], 13);

const CASES: Record<string, OpCase> = {
  // Primitives.
  Neg: { ops: ["Neg"], f: (x) => x.neg(), inputs: () => [edgy()] },
  Exp: { ops: ["Exp"], f: (x) => x.exp(), inputs: () => [edgy()] },
  Log: { ops: ["Log"], f: (x) => x.log(), inputs: () => [positive([3, 4], 1)] },
  Sqrt: { ops: ["Sqrt"], f: (x) => x.sqrt(), inputs: () => [positive([3, 4], 2)] },
  Reciprocal: { ops: ["Reciprocal"], f: (x) => x.reciprocal(), inputs: () => [positive([5], 3)] },
  Sin: { ops: ["Sin"], f: (x) => x.sin(), inputs: () => [randn([3, 4], 4)] },
  Sigmoid: { ops: ["Sigmoid"], f: (x) => x.sigmoid(), inputs: () => [edgy()] },
  Tanh: { ops: ["Tanh"], f: (x) => x.tanh(), inputs: () => [edgy()] },
  Add: { ops: ["Add"], f: (x, y) => x.add(y), inputs: () => [randn([2, 3], 5), randn([2, 3], 6)] },
  "Add (broadcast row)": {
    ops: ["Add"],
    f: (x, y) => x.add(y),
    inputs: () => [randn([2, 3], 5), randn([3], 6)],
  },
  "Add (scalar)": { ops: ["Add"], f: (x) => x.add(2.5), inputs: () => [randn([2, 3], 5)] },
  "Add (float64)": {
    ops: ["Add"],
    f: (x, y) => x.add(y),
    inputs: () => [randn([2, 3], 5, "float64"), randn([2, 1], 6, "float64")],
  },
  "Add (empty)": {
    ops: ["Add"],
    f: (x, y) => x.add(y),
    inputs: () => [Tensor.zeros([0, 3]), randn([3], 6)],
  },
  Mul: { ops: ["Mul"], f: (x, y) => x.mul(y), inputs: () => [randn([2, 3], 7), randn([2, 3], 8)] },
  Pow: {
    ops: ["Pow"],
    f: (x, y) => x.pow(y),
    inputs: () => [
      Tensor.from([[-2, -2, -2, 0, 0, 3], [-8, 1.5, 2, -0.5, 4, 0.25]]),
      Tensor.from([[-2, 3, 0.5, 0, -1, 2], [1 / 3, -1.5, 10, 3, 0.5, -2]]),
    ],
  },
  Max: { ops: ["Max"], f: (x, y) => x.maximum(y), inputs: () => [edgy(), edgy().neg()] },
  Less: { ops: ["Less"], f: (x, y) => x.lt(y), inputs: () => [edgy(), edgy().mul(0.5)] },
  "Less (gt swaps operands)": { ops: ["Less"], f: (x) => x.gt(0.5), inputs: () => [edgy()] },
  Equal: { ops: ["Equal"], f: (x, y) => x.eq(y), inputs: () => [edgy(), edgy().maximum(0)] },
  Where: {
    ops: ["Where"],
    f: (c, x, y) => Tensor.where(c, x, y),
    inputs: () => [randn([2, 3], 9).gt(0), randn([2, 3], 10), randn([1, 3], 11)],
  },
  "Cast (bool to float)": {
    ops: ["Less", "Cast"],
    f: (x) => x.lt(0).cast("float32"),
    inputs: () => [edgy()],
  },
  "Cast (float32 to float64)": {
    ops: ["Cast"],
    f: (x) => x.cast("float64"),
    inputs: () => [edgy()],
  },
  "Cast (float32 to int32, truncating)": {
    ops: ["Cast"],
    f: (x) => x.cast("int32"),
    inputs: () => [Tensor.from([2.7, -2.7, 0.5, -0.5, 1e6, -3])],
  },
  "Add, Mul and Neg (int32, wrapping)": {
    ops: ["Mul", "Neg", "Add"],
    f: (x, y) => x.mul(y).add(x.neg()),
    inputs: () => [ints([2147483647, -2147483648, 5, -7]), ints([2, 3, -4, 0])],
  },
  "ReduceSum and ReduceMax (int32)": {
    ops: ["ReduceSum", "ReduceMax", "Add"],
    f: (x) => x.sum(1, { keepdims: true }).add(x.max(1, { keepdims: true })),
    // No overflow here: ONNX Runtime's int32 sums overflow differently (C++ leaves it undefined).
    inputs: () => [ints([[1, -5, 3], [2147483640, 1, -3]], [2, 3])],
  },
  Identity: { ops: ["Identity"], f: (x) => x.detach(), inputs: () => [randn([3], 12)] },
  ReduceSum: {
    ops: ["ReduceSum"],
    f: (x) => x.sum(1, { keepdims: true }),
    inputs: () => [randn([3, 4, 5], 13)],
  },
  "ReduceSum (all, reshaped)": {
    ops: ["ReduceSum", "Reshape"],
    f: (x) => x.sum(),
    inputs: () => [randn([3, 4], 14)],
  },
  ReduceMax: {
    ops: ["ReduceMax"],
    f: (x) => x.max([0, 2], { keepdims: true }),
    inputs: () => [randn([3, 4, 5], 15)],
  },
  "ReduceMax (ties, infinities)": {
    ops: ["ReduceMax"],
    f: (x) => x.max(1, { keepdims: true }),
    inputs: () => [edgy()],
  },
  Reshape: { ops: ["Reshape"], f: (x) => x.reshape([4, 3]), inputs: () => [randn([2, 6], 16)] },
  Transpose: {
    ops: ["Transpose"],
    f: (x) => x.permute(2, 0, 1),
    inputs: () => [randn([2, 3, 4], 17)],
  },
  Expand: { ops: ["Expand"], f: (x) => x.expand([3, 2, 4]), inputs: () => [randn([2, 1], 18)] },
  Pad: { ops: ["Pad"], f: (x) => x.pad([[1, 0], [2, 3]]), inputs: () => [randn([2, 3], 19)] },
  Slice: {
    ops: ["Slice"],
    f: (x) => x.slice([[1, 3], [0, 5, 2]]),
    inputs: () => [randn([4, 6], 20)],
  },
  "Constant (expanded)": {
    ops: ["Expand"],
    f: (x) => Tensor.where(x.gt(0), 2, 2),
    inputs: () => [randn([2, 3], 21)],
  },

  "Exp (NaN)": { ops: ["Exp"], f: (x) => x.exp(), inputs: () => [withNaN()] },
  "Sigmoid (NaN)": { ops: ["Sigmoid"], f: (x) => x.sigmoid(), inputs: () => [withNaN()] },
  "Max (NaN)": {
    ops: ["Max"],
    f: (x, y) => x.maximum(y),
    inputs: () => [withNaN(), edgy().slice([null, [0, 4]])],
  },
  "Less (NaN)": { ops: ["Less"], f: (x) => x.lt(1), inputs: () => [withNaN()] },
  // Composites that ONNX has as operators.
  Sub: {
    ops: ["Sub"],
    f: (x, y) => x.sub(y),
    inputs: () => [randn([2, 3], 22), randn([2, 3], 23)],
  },
  Div: {
    ops: ["Div"],
    f: (x, y) => x.div(y),
    inputs: () => [randn([2, 3], 24), positive([3], 25)],
  },
  Relu: { ops: ["Relu"], f: (x) => x.relu(), inputs: () => [edgy()] },
  MatMul: {
    ops: ["MatMul"],
    f: (x, y) => x.matmul(y),
    inputs: () => [randn([2, 3, 4], 26), randn([4, 5], 27)],
  },
  "MatMul (vector)": {
    ops: ["MatMul"],
    f: (x, y) => x.matmul(y),
    inputs: () => [randn([4], 26), randn([4, 5], 27)],
  },
  "MatMul (float64)": {
    ops: ["MatMul"],
    f: (x, y) => x.matmul(y),
    inputs: () => [randn([3, 4], 26, "float64"), randn([4, 2], 27, "float64")],
  },
  Gemm: {
    ops: ["Gemm"],
    f: (x, w, b) => linear(x, w, b),
    inputs: () => [randn([5, 3], 28), randn([4, 3], 29), randn([4], 30)],
  },
  Conv: {
    ops: ["Conv"],
    f: (x) => x.conv2d(W, { bias: B4, padding: 1 }),
    inputs: () => [randn([2, 3, 6, 6], 31)],
  },
  "Conv (stride, dilation, asymmetric padding, no bias)": {
    ops: ["Conv"],
    f: (x) => x.conv2d(W, { stride: [2, 1], dilation: [1, 2], padding: [0, 2] }),
    inputs: () => [randn([1, 3, 9, 7], 32)],
  },
  "Conv (groups)": {
    ops: ["Conv"],
    f: (x) => x.conv2d(W_GROUPED, { groups: 4, bias: B4 }),
    inputs: () => [randn([2, 4, 5, 5], 33)],
  },
  MaxPool: { ops: ["MaxPool"], f: (x) => x.maxPool2d(2), inputs: () => [randn([2, 3, 6, 6], 34)] },
  "MaxPool (stride 1, padding, dilation)": {
    ops: ["MaxPool"],
    f: (x) => x.maxPool2d(3, { stride: 1, padding: 1, dilation: [1, 2] }),
    inputs: () => [randn([1, 2, 5, 7], 35)],
  },
  AveragePool: {
    ops: ["AveragePool"],
    f: (x) => x.avgPool2d(2),
    inputs: () => [randn([2, 3, 6, 6], 36)],
  },
  "AveragePool (padding counts as zeros)": {
    ops: ["AveragePool"],
    f: (x) => x.avgPool2d([3, 2], { stride: 2, padding: 1 }),
    inputs: () => [randn([1, 2, 5, 6], 37)],
  },
  ReduceMean: {
    ops: ["ReduceMean"],
    f: (x) => x.mean([1, 2]),
    inputs: () => [randn([2, 3, 4], 38)],
  },
  "ReduceMean (keepdims)": {
    ops: ["ReduceMean"],
    f: (x) => x.mean(-1, { keepdims: true }),
    inputs: () => [randn([2, 3, 4], 39)],
  },
  Softmax: { ops: ["Softmax"], f: (x) => x.softmax(1), inputs: () => [randn([2, 5, 3], 40)] },
  LogSoftmax: { ops: ["LogSoftmax"], f: (x) => x.logSoftmax(), inputs: () => [randn([4, 10], 41)] },
  BatchNormalization: {
    ops: ["BatchNormalization"],
    f: (x, m, v, w, b) => batchNorm(x, { runningMean: m, runningVar: v, weight: w, bias: b }).y,
    inputs: () => [
      randn([2, 3, 4, 4], 42),
      randn([3], 43),
      positive([3], 44),
      randn([3], 45),
      randn([3], 46),
    ],
  },
  "BatchNormalization (no affine)": {
    ops: ["BatchNormalization"],
    f: (x, m, v) => batchNorm(x, { runningMean: m, runningVar: v, eps: 1e-3 }).y,
    inputs: () => [randn([4, 3], 47), randn([3], 48), positive([3], 49)],
  },
  LayerNormalization: {
    ops: ["LayerNormalization"],
    f: (x, w, b) => layerNorm(x, [4, 5], { weight: w, bias: b }),
    inputs: () => [randn([2, 3, 4, 5], 50), randn([4, 5], 51), randn([4, 5], 52)],
  },
  "LayerNormalization (no affine)": {
    ops: ["LayerNormalization"],
    f: (x) => layerNorm(x, [6]),
    inputs: () => [randn([3, 6], 53)],
  },
  GroupNormalization: {
    ops: ["GroupNormalization"],
    f: (x, w, b) => groupNorm(x, 2, { weight: w, bias: b }),
    inputs: () => [randn([2, 4, 3, 3], 54), randn([4], 55), randn([4], 56)],
  },
  Concat: {
    ops: ["Concat"],
    f: (x, y) => Tensor.concat([x, y, x], 1),
    inputs: () => [randn([2, 3], 57), randn([2, 1], 58)],
  },
  "Pad (value)": {
    ops: ["Pad"],
    f: (x) => x.pad([[0, 1], [2, 0]], -1.5),
    inputs: () => [randn([2, 3], 59)],
  },
};

for (const [name, c] of Object.entries(CASES)) {
  Deno.test(`ONNX ${name}: ONNX Runtime matches our CPU backend`, async () => {
    const inputs = c.inputs();
    const bytes = await exportOnnx(c.f, inputs);
    deepStrictEqual(opTypes(bytes), c.ops);
    await assertRuntimeMatches(bytes, inputs, [c.f(...inputs)], 1e-5, name);
  });
}

Deno.test("ONNX NaN: relu agrees with ONNX Runtime; ReduceMax differs, as stated", async () => {
  // relu keeps NaN in both (ONNX's Relu is max(x, 0); ours keeps NaN as PyTorch's relu does).
  const x = Tensor.from([NaN, -1, 0, 2]);
  const relu = await exportOnnx((t: Tensor) => t.relu(), x);
  deepStrictEqual(ortValues(Object.values(await runOnnx(relu, [x]))[0]), [NaN, 0, 0, 2]);
  deepStrictEqual(Array.from(await x.relu().data()), [NaN, 0, 0, 2]);
  // ONNX Runtime's ReduceMax returns NaN only where NaN comes first in the reduced row; our max
  // (and MaxPool in both) propagates NaN from any position.
  const rows = Tensor.from([[0.5, NaN, -1], [NaN, 1, 3]]);
  const rowMax = (t: Tensor) => t.max(1, { keepdims: true });
  const bytes = await exportOnnx(rowMax, rows);
  deepStrictEqual(ortValues(Object.values(await runOnnx(bytes, [rows]))[0]), [0.5, NaN]);
  deepStrictEqual(Array.from(await rowMax(rows).data()), [NaN, NaN]);
});
