import assert from "node:assert/strict";
import { batch, IMAGE_SIZE, loadMnist, permutation } from "../../examples/mnist_data.ts";

Deno.test("MNIST data", async (t) => {
  const { train, test } = loadMnist(100);

  await t.step("each class gives its last 100 images to the test set", () => {
    const perClass = (labels: Uint8Array) =>
      Array.from({ length: 10 }, (_, d) => labels.filter((l) => l === d).length);
    assert.deepEqual(perClass(test.labels), new Array(10).fill(100));
    assert.ok(perClass(train.labels).every((n) => n > 500), "hundreds of images per class");
    assert.equal(train.images.length, train.count * IMAGE_SIZE * IMAGE_SIZE);
  });

  await t.step("pixels are intensities in [0, 1] and images are not blank", () => {
    assert.ok(train.images.every((v) => v >= 0 && v <= 1));
    const ink = (k: number) =>
      test.images.subarray(k * 784, (k + 1) * 784).reduce((a, b) => a + b, 0);
    for (const k of [0, 500, 999]) assert.ok(ink(k) > 10, `image ${k} has ink`);
  });

  await t.step("the training and test sets share no image", () => {
    const key = (set: typeof train, k: number) =>
      set.images.subarray(k * 784, (k + 1) * 784).join(",");
    const testKeys = new Set(Array.from({ length: test.count }, (_, k) => key(test, k)));
    let shared = 0;
    for (let k = 0; k < train.count; k += 7) if (testKeys.has(key(train, k))) shared++;
    assert.equal(shared, 0);
  });

  await t.step("permutation is a seeded permutation", () => {
    const p = permutation(1000, 3);
    assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
    assert.deepEqual(permutation(1000, 3), p);
    assert.notDeepEqual(permutation(1000, 4), p);
  });

  await t.step("batches are normalized NCHW tensors with their labels", async () => {
    const { x, y, labels } = batch(test, [0, 150, 999]);
    assert.deepEqual(x.shape, [3, 1, 28, 28]);
    assert.deepEqual(Array.from(await y.data()), Array.from(labels));
    assert.deepEqual(Array.from(labels), [0, 1, 9]);
    const px = await x.data();
    // Background pixels (0) map to -mean/std.
    assert.ok(Math.abs(Math.min(...px) - -0.1307 / 0.3081) < 1e-6);
  });
});
