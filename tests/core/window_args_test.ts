// Bad window arguments of conv2d and the pools (and their nn layers) throw errors naming the op,
// the argument, the value and what was expected, where they returned a tensor or failed inside
// a reshape before.

import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { AvgPool2d, Conv2d, MaxPool2d } from "../../nn/mod.ts";
import { throwsWith } from "../helpers/throws_with.ts";

const x = () => Tensor.ones([1, 2, 5, 5]);
const w = (k = 3) => Tensor.ones([4, 2, k, k]);

Deno.test("conv2d: invalid options", async (t) => {
  const cases: [string, () => unknown, ...string[]][] = [
    ["stride 0", () => x().conv2d(w(), { stride: 0 }), "conv2d", "stride 0", "positive integer"],
    ["stride [1, -1]", () => x().conv2d(w(), { stride: [1, -1] }), "stride [1,-1]"],
    ["stride 1.5", () => x().conv2d(w(), { stride: 1.5 }), "stride 1.5", "positive integer"],
    ["dilation 0", () => x().conv2d(w(), { dilation: 0 }), "conv2d", "dilation 0", "positive"],
    ["padding -1", () => x().conv2d(w(), { padding: -1 }), "padding -1", "non-negative"],
    ["groups 0", () => x().conv2d(w(), { groups: 0 }), "conv2d", "groups 0", "positive"],
    ["groups 1.5", () => x().conv2d(w(), { groups: 1.5 }), "groups 1.5"],
    ["groups 3", () => x().conv2d(w(), { groups: 3 }), "conv2d", "groups=3", "divisible"],
    ["kernel 6 > input 5", () => x().conv2d(w(6)), "conv2d", "[6, 6]", "padded input [5, 5]"],
    ["dilated kernel too big", () => x().conv2d(w(), { dilation: 3 }), "spans [7, 7]", "[5, 5]"],
    ["empty kernel", () => x().conv2d(Tensor.ones([4, 2, 0, 3])), "kernel size [0,3]"],
    ["rank 3 input", () => Tensor.ones([2, 5, 5]).conv2d(w()), "conv2d", "[2, 5, 5]"],
  ];
  for (const [name, fn, ...frags] of cases) await t.step(name, () => throwsWith(fn, ...frags));
  await t.step("padding makes a large kernel fit, as in torch", () => {
    assert.deepEqual(x().conv2d(w(6), { padding: 1 }).shape, [1, 4, 2, 2]);
    assert.deepEqual(x().conv2d(w(), { padding: 5 }).shape, [1, 4, 13, 13]);
  });
});

Deno.test("maxPool2d and avgPool2d: invalid options", async (t) => {
  for (const op of ["maxPool2d", "avgPool2d"] as const) {
    const pool = (k: number | [number, number], o = {}) => x()[op](k, o);
    const cases: [string, () => unknown, ...string[]][] = [
      ["stride 0", () => pool(2, { stride: 0 }), op, "stride 0", "positive integer"],
      ["dilation 0", () => pool(2, { dilation: 0 }), op, "dilation 0", "positive integer"],
      ["kernel 0", () => pool(0), op, "kernel size 0", "positive integer"],
      ["kernel [2, 0]", () => pool([2, 0]), op, "kernel size [2,0]"],
      ["padding -1", () => pool(2, { padding: -1 }), op, "padding -1", "non-negative"],
      ["padding 2 > 3/2", () => pool(3, { padding: 2 }), op, "padding [2, 2]", "half"],
      ["padding 1 > 1/2", () => pool(1, { padding: 1 }), op, "padding [1, 1]", "half"],
      ["kernel 6 > input 5", () => pool(6), op, "[6, 6]", "padded input [5, 5]"],
      ["rank 1", () => Tensor.ones([5])[op](2), op, "rank >= 2"],
    ];
    for (const [name, fn, ...frags] of cases) {
      await t.step(`${op} ${name}`, () => throwsWith(fn, ...frags));
    }
    await t.step(`${op} padding up to half the kernel, as in torch`, () => {
      assert.deepEqual(pool(2, { padding: 1 }).shape, [1, 2, 3, 3]);
      assert.deepEqual(pool(6, { padding: 1 }).shape, [1, 2, 1, 1]);
    });
  }
  await t.step(
    "pool2d windows",
    () => throwsWith(() => x().pool2d([2, 2], [0, 1], [1, 1]), "pool2d", "stride [0,1]"),
  );
});

Deno.test("nn layers validate their options at construction", async (t) => {
  const cases: [string, () => unknown, ...string[]][] = [
    ["Conv2d kernel 0", () => new Conv2d(2, 4, 0), "Conv2d", "kernel size 0", "positive"],
    ["Conv2d stride 0", () => new Conv2d(2, 4, 3, { stride: 0 }), "Conv2d", "stride 0"],
    ["Conv2d dilation 0", () => new Conv2d(2, 4, 3, { dilation: [1, 0] }), "dilation [1,0]"],
    ["Conv2d padding -1", () => new Conv2d(2, 4, 3, { padding: -1 }), "padding -1"],
    ["Conv2d inChannels 0", () => new Conv2d(0, 4, 3), "Conv2d", "inChannels 0", "positive"],
    ["Conv2d outChannels 2.5", () => new Conv2d(2, 2.5, 3), "outChannels 2.5"],
    ["Conv2d groups 0", () => new Conv2d(2, 4, 3, { groups: 0 }), "Conv2d", "groups 0"],
    ["Conv2d groups 3", () => new Conv2d(3, 4, 3, { groups: 3 }), "Conv2d", "divisible"],
    ["MaxPool2d stride 0", () => new MaxPool2d(2, { stride: 0 }), "MaxPool2d", "stride 0"],
    ["MaxPool2d kernel 0", () => new MaxPool2d(0), "MaxPool2d", "kernel size 0"],
    ["MaxPool2d dilation 0", () => new MaxPool2d(2, { dilation: 0 }), "dilation 0"],
    ["MaxPool2d padding 2 k3", () => new MaxPool2d(3, { padding: 2 }), "MaxPool2d", "half"],
    ["AvgPool2d stride -2", () => new AvgPool2d(2, { stride: -2 }), "AvgPool2d", "stride -2"],
    ["AvgPool2d padding 1.5", () => new AvgPool2d(3, { padding: 1.5 }), "padding 1.5"],
  ];
  for (const [name, fn, ...frags] of cases) await t.step(name, () => throwsWith(fn, ...frags));
});
