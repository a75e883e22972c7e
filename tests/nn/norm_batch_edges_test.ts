// Norm layers with running statistics on edge batches, as torch 1.13: an empty batch (N = 0, or
// no spatial elements) leaves running_mean and running_var unchanged (BatchNorm still counts
// the batch in num_batches_tracked) and gives an empty output; one value per channel in training
// is an error.

import { strict as assert } from "node:assert";
import { backendNames, Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import {
  BatchNorm1d,
  BatchNorm2d,
  type BatchNormBase,
  InstanceEnhancementBatchNorm2d,
  InstanceNorm2d,
  RepresentativeBatchNorm2d,
} from "../../nn/mod.ts";

type Make = (
  opts: { dtype: "float64"; backend: string; momentum?: number | null },
) => BatchNormBase;

const layers: [string, Make, number[], number[][], boolean][] = [
  // name, constructor, a normal input shape, empty shapes, whether the counter grows
  ["BatchNorm1d", (o) => new BatchNorm1d(3, o), [4, 3], [[0, 3], [0, 3, 5], [2, 3, 0]], true],
  ["BatchNorm2d", (o) => new BatchNorm2d(3, o), [2, 3, 2, 2], [[0, 3, 2, 2], [2, 3, 0, 2]], true],
  [
    "RepresentativeBatchNorm2d",
    (o) => new RepresentativeBatchNorm2d(3, o),
    [2, 3, 2, 2],
    [[0, 3, 2, 2]],
    true,
  ],
  [
    "InstanceEnhancementBatchNorm2d",
    (o) => new InstanceEnhancementBatchNorm2d(3, o),
    [2, 3, 2, 2],
    [[0, 3, 2, 2]],
    true,
  ],
  [
    "InstanceNorm2d",
    (o) => new InstanceNorm2d(3, { ...o, trackRunningStats: true }),
    [2, 3, 2, 2],
    [[0, 3, 2, 2], [2, 3, 0, 2]],
    false,
  ],
];

async function state(m: BatchNormBase): Promise<number[][]> {
  await m.commitState();
  return [
    [...await m.running_mean!.data()],
    [...await m.running_var!.data()],
    [await m.num_batches_tracked!.item()],
  ];
}

Deno.test("norm layers: an empty training batch leaves the running statistics", async (t) => {
  for (const backend of backendNames().filter((b) => b !== "webgpu")) {
    for (const [name, make, shape, empties, counts] of layers) {
      for (const momentum of name === "InstanceNorm2d" ? [0.1] : [0.1, null]) {
        for (const empty of empties) {
          await t.step(`${name} ${backend} momentum ${momentum} input [${empty}]`, async () => {
            const m = make({ dtype: "float64", backend, momentum });
            m.forward(Tensor.randn(shape, { dtype: "float64", backend, seed: 3 }));
            const [mean, variance, [count]] = await state(m);
            const y = m.forward(Tensor.zeros(empty, { dtype: "float64", backend }));
            assert.deepEqual(y.shape, empty);
            assert.equal((await y.data()).length, 0);
            const after = await state(m);
            assert.deepEqual(after, [mean, variance, [counts ? count + 1 : count]]);
            // The next batch still moves the statistics to finite values.
            m.forward(Tensor.randn(shape, { dtype: "float64", backend, seed: 4 }));
            const next = await state(m);
            assert.ok(next[0].concat(next[1]).every(Number.isFinite), `${next}`);
            assert.notDeepEqual(next[0], mean);
          });
        }
      }
    }
  }
});

Deno.test("norm layers: an empty batch on every backend in float32", async (t) => {
  const backends = [...backendNames().filter((b) => b !== "webgpu")];
  if (await hasWebGpu()) backends.push(...webgpuBackends());
  for (const backend of backends) {
    await t.step(backend, async () => {
      const m = new BatchNorm2d(3, { backend });
      m.forward(Tensor.randn([2, 3, 2, 2], { backend, seed: 5 }));
      await m.commitState();
      const mean = [...await m.running_mean!.data()];
      const y = m.forward(Tensor.zeros([0, 3, 2, 2], { backend }));
      assert.equal((await y.data()).length, 0);
      await m.commitState();
      assert.deepEqual([...await m.running_mean!.data()], mean);
      assert.equal(await m.num_batches_tracked!.item(), 2);
    });
  }
});

Deno.test("norm layers: one value per channel in training is an error", async (t) => {
  const one: [string, () => BatchNormBase, number[], string][] = [
    ["BatchNorm1d", () => new BatchNorm1d(3), [1, 3], "value per channel"],
    ["BatchNorm1d", () => new BatchNorm1d(3), [1, 3, 1], "value per channel"],
    ["BatchNorm2d", () => new BatchNorm2d(3), [1, 3, 1, 1], "value per channel"],
    [
      "RepresentativeBatchNorm2d",
      () => new RepresentativeBatchNorm2d(3),
      [1, 3, 1, 1],
      "value per channel",
    ],
    [
      "InstanceEnhancementBatchNorm2d",
      () => new InstanceEnhancementBatchNorm2d(3),
      [1, 3, 1, 1],
      "value per channel",
    ],
    ["InstanceNorm2d", () => new InstanceNorm2d(3), [2, 3, 1, 1], "spatial element"],
  ];
  for (const [name, make, shape, what] of one) {
    await t.step(`${name} [${shape}]`, () => {
      const m = make();
      assert.throws(
        () => m.forward(Tensor.ones(shape)),
        (e: Error) =>
          e.message.includes(`Expected more than 1 ${what}`) &&
          e.message.includes(`torch.Size([${shape.join(", ")}])`),
      );
      // Evaluation mode with running statistics accepts it, as torch.
      if (m.trackRunningStats) assert.deepEqual(m.eval().forward(Tensor.ones(shape)).shape, shape);
    });
  }
});
