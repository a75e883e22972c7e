/**
 * Threads in the CPU backend: a kernel split across threads must give the same bytes as on one
 * thread (every output element is computed by one thread with the same code), on random programs
 * and their gradients, on larger contractions, and after the workers are stopped and restarted.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  CpuBackend,
  cpuThreads,
  gradients,
  registerBackend,
  setCpuThreads,
  Tensor,
} from "../../mod.ts";
import { build, type Recipe, recipe } from "./cpu_random_graphs.ts";

const single = new CpuBackend({ threads: 1 });
// Three threads on small shapes: slices of uneven length, and every kernel split
// (minParallelWork 0) so that tiny random programs exercise the threaded path.
const threaded = new CpuBackend({ threads: 3, minParallelWork: 0 });
registerBackend("cpu-threads-1", () => single);
registerBackend("cpu-threads-3", () => threaded);

function bytes(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

async function assertSameBytes(a: Tensor, b: Tensor, msg: string): Promise<void> {
  assert.deepStrictEqual(bytes(await a.data()), bytes(await b.data()), msg);
}

async function sameForward(r: Recipe, dtype: "float32" | "float64"): Promise<void> {
  const one = build(r, "cpu-threads-1", dtype).out;
  const three = build(r, "cpu-threads-3", dtype).out;
  await assertSameBytes(three, one, dtype);
}

async function sameGradients(r: Recipe): Promise<void> {
  const grads = (backend: string): Tensor[] => {
    const { out, inputs } = build(r, backend, "float64");
    const weight = out.size === 1 ? out : out.mul(out.sin().add(2));
    return gradients(weight.sum(), [...inputs]);
  };
  const one = grads("cpu-threads-1");
  const three = grads("cpu-threads-3");
  for (let i = 0; i < one.length; i++) await assertSameBytes(three[i], one[i], `gradient ${i}`);
}

function seeded(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** Matmul, conv2d and reductions big enough to be split on the default threshold too. */
function contractions(backend: string): Tensor[] {
  const from = (shape: number[], seed: number) =>
    Tensor.from(seeded(shape.reduce((p, d) => p * d, 1), seed), { shape, backend });
  const a = from([67, 45], 1);
  const b = from([45, 33], 2);
  const x = from([3, 5, 17, 19], 3);
  const w = from([7, 5, 3, 3], 4);
  const y = x.conv2d(w, { padding: 1 });
  return [a.matmul(b), y, y.sum(1), y.mean([0, 2, 3]), a.exp().sum(0)];
}

Deno.test("threaded cpu kernels give the bytes of one thread on random programs", async (t) => {
  await threaded.startThreads();
  await t.step("float64", async () => {
    await fc.assert(fc.asyncProperty(recipe(), (r) => sameForward(r, "float64")), {
      numRuns: 60,
    });
  });
  await t.step("float32", async () => {
    await fc.assert(fc.asyncProperty(recipe(), (r) => sameForward(r, "float32")), {
      numRuns: 40,
    });
  });
  await t.step("gradients", async () => {
    await fc.assert(fc.asyncProperty(recipe(6), sameGradients), { numRuns: 30 });
  });
});

Deno.test("threaded cpu kernels give the bytes of one thread on contractions", async () => {
  await threaded.startThreads();
  const one = contractions("cpu-threads-1");
  const three = contractions("cpu-threads-3");
  for (let i = 0; i < one.length; i++) await assertSameBytes(three[i], one[i], `output ${i}`);
});

Deno.test("cpu workers stop on dispose and restart on the next kernel", async () => {
  await threaded.startThreads();
  const before = await contractions("cpu-threads-3")[0].data();
  threaded.dispose();
  // The next run starts the workers again.
  const during = await contractions("cpu-threads-3")[0].data();
  await threaded.startThreads();
  const after = await contractions("cpu-threads-3")[0].data();
  assert.deepStrictEqual(bytes(during), bytes(before));
  assert.deepStrictEqual(bytes(after), bytes(before));
  threaded.dispose();
});

Deno.test("cpu buffers are shared; reads are plain copies", async () => {
  const buf = threaded.alloc("float32", 4);
  assert.ok(buf.buffer instanceof SharedArrayBuffer);
  threaded.write(buf, Float32Array.of(1, 2, 3, 4));
  const copy = await threaded.read(buf);
  assert.ok(copy.buffer instanceof ArrayBuffer);
  assert.deepStrictEqual([...copy], [1, 2, 3, 4]);
  threaded.free(buf);
});

Deno.test("thread counts are checked and settable", () => {
  assert.throws(() => new CpuBackend({ threads: 0 }), /CpuBackend: threads must be an integer/);
  assert.throws(() => new CpuBackend({ threads: 1.5 }), /got 1.5/);
  assert.throws(() => new CpuBackend({ minParallelWork: -1 }), /minParallelWork must be >= 0/);
  assert.throws(() => setCpuThreads(0), /setCpuThreads: threads must be an integer/);
  setCpuThreads(2);
  assert.equal(cpuThreads(), 2);
  assert.equal(new CpuBackend().threads, 2);
  assert.equal(new CpuBackend({ threads: 1 }).threads, 1);
  setCpuThreads(undefined);
  assert.ok(cpuThreads() >= 1 && cpuThreads() <= 4);
});
