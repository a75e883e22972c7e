/**
 * DataLoader: shuffled, seeded mini-batches as fresh leaves, so a training loop over them
 * compiles only its first step (slicing a resident tensor at a new offset compiles per offset).
 */
import { deepStrictEqual, notDeepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { backendStats, registerBackend, Tensor } from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/backend.ts";
import { crossEntropy, DataLoader, Linear, SGD, trainStep } from "../../nn/mod.ts";

const backend = "cpu-data-loader";
registerBackend(backend, () => new CpuBackend({ threads: 1 }));
const on = { backend } as const;
const compiled = async () => (await backendStats(backend)).kernelsCompiled;

const ROWS = 100, BATCH = 8;
/** Features whose first column is the row index, and labels `row mod 3`, to trace rows. */
function dataset() {
  const xs = new Float32Array(ROWS * 4);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c < 4; c++) xs[r * 4 + c] = c === 0 ? r : c;
  const labels = Float32Array.from({ length: ROWS }, (_, r) => r % 3);
  return {
    x: Tensor.from(xs, { shape: [ROWS, 4], ...on }),
    y: Tensor.from(labels, { shape: [ROWS], ...on }),
  };
}

/** Kernels compiled by each of `steps` training steps on batches from `next`. */
async function compilesPerStep(steps: number, next: (i: number) => [Tensor, Tensor]) {
  const model = new Linear(4, 3, { seed: 0, ...on });
  const opt = new SGD(model, { lr: 1e-3, momentum: 0.9 });
  const counts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const [xb, yb] = next(i);
    const before = await compiled();
    await trainStep(model, opt, () => crossEntropy(model.forward(xb), yb));
    counts.push((await compiled()) - before);
  }
  return counts;
}

Deno.test("50 steps over shuffled DataLoader batches compile nothing after step 1", async () => {
  const { x, y } = dataset();
  // The problem: slicing at a new offset each step bakes the offset into the program.
  const sliced = await compilesPerStep(6, (i) => {
    const at = (i * BATCH) % (ROWS - BATCH);
    return [x.slice([[at, at + BATCH]]), y.slice([[at, at + BATCH]])];
  });
  strictEqual(sliced.slice(1).some((c) => c > 0), true, `slicing compiles per offset: ${sliced}`);

  const loader = await DataLoader.from([x, y], {
    batchSize: BATCH,
    shuffle: true,
    seed: 1,
    dropLast: true,
  });
  let it = loader[Symbol.iterator]();
  const counts = await compilesPerStep(50, () => {
    let r = it.next();
    if (r.done) r = (it = loader[Symbol.iterator]()).next(); // next epoch, new order
    return r.value as [Tensor, Tensor];
  });
  strictEqual(counts[0] > 0, true);
  deepStrictEqual(counts.slice(1).filter((c) => c !== 0), [], `kernels per step: ${counts}`);
  loader.dispose();
});

/** Row indices (column 0 of x) of every batch of one epoch, checking y stays paired. */
async function epochRows(loader: DataLoader): Promise<number[][]> {
  const out: number[][] = [];
  for (const [xb, yb] of loader) {
    const xs = await xb.data(), ys = await yb.data();
    const rows = Array.from({ length: xb.shape[0] }, (_, i) => xs[i * 4]);
    deepStrictEqual(Array.from(ys), rows.map((r) => r % 3), "labels stay with their rows");
    deepStrictEqual(Array.from(xs.subarray(0, 4)).slice(1), [1, 2, 3], "whole rows are copied");
    out.push(rows);
  }
  return out;
}

Deno.test("DataLoader: order, shuffling, seeds, drop-last and the last batch", async (t) => {
  const { x, y } = dataset();
  await t.step("without shuffling, rows in order; a short last batch", async () => {
    const loader = await DataLoader.from([x, y], { batchSize: 30 });
    strictEqual(loader.length, 4);
    const rows = await epochRows(loader);
    deepStrictEqual(rows.map((b) => b.length), [30, 30, 30, 10]);
    deepStrictEqual(rows.flat(), Array.from({ length: ROWS }, (_, i) => i));
  });
  await t.step("dropLast skips the short batch", async () => {
    const loader = await DataLoader.from([x, y], { batchSize: 30, dropLast: true });
    strictEqual(loader.length, 3);
    deepStrictEqual((await epochRows(loader)).map((b) => b.length), [30, 30, 30]);
  });
  await t.step("shuffled epochs are permutations, new each epoch, fixed by the seed", async () => {
    const a = await DataLoader.from([x, y], { batchSize: 16, shuffle: true, seed: 5 });
    const b = await DataLoader.from([x, y], { batchSize: 16, shuffle: true, seed: 5 });
    const c = await DataLoader.from([x, y], { batchSize: 16, shuffle: true, seed: 6 });
    const a1 = (await epochRows(a)).flat(), a2 = (await epochRows(a)).flat();
    const all = Array.from({ length: ROWS }, (_, i) => i);
    deepStrictEqual([...a1].sort((p, q) => p - q), all);
    deepStrictEqual([...a2].sort((p, q) => p - q), all);
    notDeepStrictEqual(a1, a2, "each epoch draws a new order");
    notDeepStrictEqual(a1, all, "shuffled");
    deepStrictEqual((await epochRows(b)).flat(), a1, "same seed, same batches");
    notDeepStrictEqual((await epochRows(c)).flat(), a1, "another seed, other batches");
  });
  await t.step("one row, batch larger than the data set, and a size-1 batch", async () => {
    const one = await DataLoader.from([x.slice([[3, 4]])], { batchSize: 5 });
    const batches = [...one].map((b) => b[0].shape);
    deepStrictEqual(batches, [[1, 4]]);
    const none = await DataLoader.from([x.slice([[0, 1]])], { batchSize: 5, dropLast: true });
    strictEqual(none.length, 0);
    deepStrictEqual([...none], []);
  });
});

Deno.test("DataLoader keeps dtype, backend and row shape; disposes the previous batch", async () => {
  const x = Tensor.randn([6, 2, 3], { seed: 2, dtype: "float64", backend: "interpreter" });
  const mask = Tensor.from([1, 0, 1, 1, 0, 0], { dtype: "bool", backend: "interpreter" });
  const loader = await DataLoader.from([x, mask], { batchSize: 4 });
  const it = loader[Symbol.iterator]();
  const [xb, mb] = it.next().value!;
  deepStrictEqual([xb.shape, xb.dtype, xb.backend], [[4, 2, 3], "float64", "interpreter"]);
  deepStrictEqual([mb.shape, mb.dtype], [[4], "bool"]);
  deepStrictEqual(Array.from(await xb.data()), Array.from(await x.data()).slice(0, 24));
  it.next();
  await rejects(() => xb.data(), /disposed/, "drawing a batch disposes the previous one");
  loader.dispose();

  const kept = await DataLoader.from([x], { batchSize: 4, retain: true });
  const [first] = [...kept].map((b) => b[0]);
  strictEqual((await first.data()).length, 24, "retain keeps every batch");
});

Deno.test("DataLoader.from rejects bad input with a clear error", async () => {
  const x = Tensor.zeros([5, 2]);
  await rejects(() => DataLoader.from([], { batchSize: 2 }), /expected at least one tensor/);
  await rejects(
    () => DataLoader.from([x, Tensor.zeros([4])], { batchSize: 2 }),
    /DataLoader.from: tensor 1 has shape \[4\] and tensor 0 \[5, 2\]; expected the same length/,
  );
  await rejects(() => DataLoader.from([x], { batchSize: 0 }), /batchSize must be a positive/);
  await rejects(() => DataLoader.from([Tensor.zeros([])], { batchSize: 1 }), /is a scalar/);
});
