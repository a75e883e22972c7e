/**
 * The primitive `max` (elementwise and as a reduction) propagates NaN on every backend, as
 * PyTorch's `maximum`, `max` and `amax` do (torch 1.13: max([1, NaN, 3]) = NaN,
 * maximum([1, NaN, 3], [NaN, 2, 1]) = [NaN, NaN, 3]). WGSL leaves `max` with a NaN operand
 * unspecified, and a compiler may fold `x != x` to false, so the WGSL renderer tests the bits.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { gradients, jvp, Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const backends = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];

/** Values as a plain array, NaN kept (deepEqual treats NaN as equal to NaN). */
async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data());
}

Deno.test("max propagates NaN on every backend", async (t) => {
  for (const backend of backends) {
    await t.step(backend, async () => {
      const f = (d: number[]) => Tensor.from(d, { backend });
      assert.deepEqual(await values(f([1, NaN, 3]).max()), [NaN]);
      assert.deepEqual(await values(f([1, NaN, 3]).min()), [NaN]);
      assert.deepEqual(await values(f([NaN, -Infinity]).max()), [NaN]);
      assert.deepEqual(await values(f([-Infinity, -Infinity]).max()), [-Infinity]);
      assert.deepEqual(
        await values(f([1, NaN, 3]).maximum(f([NaN, 2, 1]))),
        [NaN, NaN, 3],
      );
      assert.deepEqual(
        await values(f([1, NaN, 3]).minimum(f([NaN, 2, 1]))),
        [NaN, NaN, 1],
      );
      // A long axis reaches the cooperative (workgroup) reduction on WebGPU.
      const long = new Float32Array(3000).fill(1);
      long[1777] = NaN;
      assert.deepEqual(
        await values(Tensor.from(long, { backend }).max()),
        [NaN],
      );
      long[1777] = 5;
      assert.deepEqual(await values(Tensor.from(long, { backend }).max()), [5]);
    });
  }
});

Deno.test("maximum's gradient: ties split, a NaN operand gives both all of it (torch 1.13)", async (t) => {
  // torch.maximum(a, b).backward(g) with a = [NaN, 1, 2, NaN, 3], b = [1, NaN, 2, NaN, 0],
  // g = [1, 2, 4, 8, 16] gives a.grad = [1, 2, 2, 8, 16], b.grad = [1, 2, 2, 8, 0].
  for (const backend of backends) {
    await t.step(backend, async () => {
      const a = Tensor.from([NaN, 1, 2, NaN, 3], { backend });
      const b = Tensor.from([1, NaN, 2, NaN, 0], { backend });
      const g = Tensor.from([1, 2, 4, 8, 16], { backend });
      const [ga, gb] = gradients(a.maximum(b).mul(g).sum(), [a, b]);
      assert.deepEqual(await values(ga), [1, 2, 2, 8, 16]);
      assert.deepEqual(await values(gb), [1, 2, 2, 8, 0]);
      // Forward mode is the transpose: tangents 1 and 10 give 11 where unordered, 5.5 at the tie.
      const [, tangent] = jvp((x: Tensor, y: Tensor) => x.maximum(y), [a, b], [
        Tensor.from([1, 1, 1, 1, 1], { backend }),
        Tensor.from([10, 10, 10, 10, 10], { backend }),
      ]);
      assert.deepEqual(await values(tangent as Tensor), [11, 11, 5.5, 11, 1]);
    });
  }
});
