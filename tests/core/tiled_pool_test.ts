/**
 * Pooling with stride equal to the kernel and dilation 1 reads its windows as a reshape/permute
 * view (core/tiled_windows.ts) instead of the overlapping window view. The two views hold the
 * same elements in the same order, so values and gradients must agree exactly (bitwise, `-0`
 * included): compared here on every backend and dtype at the edges (size-1 axes, ties, NaN,
 * ±Infinity, ±0, padding, sizes not divisible by the kernel), against the overlapping view fed to
 * the same `windowMax`. The schedule test pins the gain: the backward is one elementwise kernel
 * over the input, not a sum over the window positions each element could occupy.
 *
 * @module
 */

import assert from "node:assert/strict";
import { gradients, schedule, Tensor } from "../../mod.ts";
import type { DType } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { tiledWindows } from "../../core/tiled_windows.ts";
import { windowMax } from "../../core/window_max.ts";
import { targets } from "../nn/helpers.ts";

/** maxPool2d through the overlapping window view (the general path). */
function overlappingMaxPool(x: Tensor, k: number, padding: number): Tensor {
  const pads = x.shape.map((_, i) =>
    (i < x.ndim - 2 ? [0, 0] : [padding, padding]) as [number, number]
  );
  const windows = x.pad(pads, -Infinity).pool2d([k, k], [k, k], [1, 1]);
  const [h, w] = x.shape.slice(-2);
  const plane = Tensor.arange(h * w, undefined, 1, { dtype: x.dtype, backend: x.backend })
    .reshape([h, w]).pad([[padding, padding], [padding, padding]], -1);
  const index = plane.pool2d([k, k], [k, k], [1, 1]);
  return new Tensor(windowMax(windows.node, index.node), x.backend);
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, 1, -1];

/** Integer-valued data (many ties) with special values sprinkled in at seeded positions. */
function edgeData(n: number, seed: number): number[] {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: n }, () => {
    const r = next();
    return r < 0.3 ? SPECIAL[Math.floor(next() * SPECIAL.length)] : Math.floor(r * 6) - 3;
  });
}

const CASES: { shape: number[]; k: number; padding: number }[] = [
  { shape: [1, 1, 1, 1], k: 1, padding: 0 },
  { shape: [2, 1, 4, 4], k: 2, padding: 0 },
  { shape: [1, 3, 5, 7], k: 2, padding: 0 }, // remainders no window covers
  { shape: [2, 2, 5, 6], k: 2, padding: 1 },
  { shape: [3, 6, 9], k: 3, padding: 1 }, // rank 3
  { shape: [1, 1, 6, 6], k: 3, padding: 0 },
];

const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Object.is(a[i], b[i]),
      `${what}[${i}]: ${Object.is(a[i], -0) ? "-0" : a[i]} vs ${Object.is(b[i], -0) ? "-0" : b[i]}`,
    );
  }
};

Deno.test("maxPool2d with stride = kernel: values and gradients equal the overlapping view's", async (t) => {
  for (const { backend, dtype } of await targets()) {
    await t.step(`${backend} ${dtype}`, async () => {
      for (const [ci, { shape, k, padding }] of CASES.entries()) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = Tensor.from(edgeData(n, 7 + ci), { shape, dtype: dtype as DType, backend });
        const ours = x.maxPool2d(k, { padding });
        const ref = overlappingMaxPool(x, k, padding);
        assert.deepEqual(ours.shape, ref.shape);
        // Finite cotangents without -0: the overlapping view's overlap-add turns a -0 cotangent
        // into +0 (a sum with the other positions' zeros), the tiled view passes it through.
        const gy = Tensor.from(
          edgeData(ours.size, 99 + ci).map((v) => (isFinite(v) && !Object.is(v, -0) ? v : 2)),
          {
            shape: ours.shape,
            dtype: dtype as DType,
            backend,
          },
        );
        const [gOurs] = gradients(ours.mul(gy).sum(), [x]);
        const [gRef] = gradients(ref.mul(gy).sum(), [x]);
        const what = `${JSON.stringify(shape)} k=${k} p=${padding}`;
        sameBits(await ours.data(), await ref.data(), `value ${what}`);
        sameBits(await gOurs.data(), await gRef.data(), `gradient ${what}`);
      }
    });
  }
});

Deno.test("tiledWindows: only non-overlapping, undilated windows take the view", () => {
  const x = Tensor.zeros([1, 1, 6, 6]).node;
  assert.notEqual(tiledWindows(x, [2, 2], [2, 2], [1, 1]), null);
  assert.notEqual(tiledWindows(x, [2, 3], [2, 3], [1, 1]), null);
  assert.equal(tiledWindows(x, [2, 2], [1, 1], [1, 1]), null); // overlapping
  assert.equal(tiledWindows(x, [2, 2], [3, 3], [1, 1]), null); // gaps
  assert.equal(tiledWindows(x, [2, 2], [2, 2], [2, 2]), null); // dilated
  assert.equal(tiledWindows(x, [2, 2], [2, 1], [1, 1]), null); // one axis overlapping
});

Deno.test("maxPool2d 2×2 backward: one elementwise kernel over the input", () => {
  const x = Tensor.randn([4, 3, 8, 8], { seed: 1 });
  const y = x.maxPool2d(2);
  const gy = Tensor.randn(y.shape, { seed: 2 });
  const [gx] = gradients(y.mul(gy).sum(), [x]);
  const { program } = lower([y.node, gx.node], (n) => n.op === "buffer");
  const kernels = schedule(program).kernels;
  // The window maximum, the maximum of the choice keys, the forward sum, and the backward.
  assert.equal(kernels.length, 4);
  const last = kernels[kernels.length - 1];
  assert.deepEqual(last.loops.map((l) => l.extent), [12, 8, 8]);
  assert.ok(last.loops.every((l) => !l.reduce), "the backward sums over window positions");
});
