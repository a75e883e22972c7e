/**
 * Float32 on the CPU backend is bit-identical to the interpreter: every float32 op result is
 * rounded where the kernel computes it, and sums round each partial sum in the interpreter's
 * order. Random programs (values and gradients) and the cases that used to go wrong.
 *
 * Comparison: equal as numbers, or NaN on both sides. `+0` and `-0` count as equal: a max
 * reduction over both may return either (its zero-sign semantics are not what this file tests);
 * every op that would expose the sign (a division by the zero) is outside these programs, so a
 * differing sign cannot change any other value compared here.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import fc from "fast-check";
import { gradients, manualSeed, type Tensor, withBackend } from "../../mod.ts";
import { Linear } from "../../nn/mod.ts";
import { Tensor as T } from "../../mod.ts";
import { opGraph } from "../../testing/mod.ts";
import { build, firstDifference, type Recipe, recipe } from "./cpu_random_graphs.ts";

async function assertSame(cpu: readonly Tensor[], ref: readonly Tensor[], what: string) {
  for (let i = 0; i < cpu.length; i++) {
    const diff = firstDifference(await cpu[i].data(), await ref[i].data());
    if (diff !== undefined) {
      throw new Error(`${what} ${i === 0 ? "value" : `gradient ${i}`}: ${diff}`);
    }
  }
}

/** The output and the gradients of a weighted sum of it with respect to every input. */
function valueAndGradients(r: Recipe, backend: string): Tensor[] {
  const { out, inputs } = build(r, backend, "float32");
  // A non-uniform cotangent so that every output element matters differently.
  const loss = out.size === 1 ? out : out.mul(out.sin().add(2));
  return [out, ...gradients(loss.sum(), [...inputs])];
}

Deno.test("cpu float32 equals the interpreter bit for bit on 1000 random programs", async () => {
  await fc.assert(
    fc.asyncProperty(recipe(8), async (r) => {
      await assertSame(valueAndGradients(r, "cpu"), valueAndGradients(r, "interpreter"), "recipe");
    }),
    { numRuns: 1000 },
  );
});

/** Uniform float32 values in [-1, 1) from a seed. */
function uniform(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

Deno.test("cpu float32 equals the interpreter on random smooth graphs and gradients", async () => {
  await fc.assert(
    fc.asyncProperty(opGraph({ arity: 2, maxSteps: 8 }), fc.nat(), async (g, seed) => {
      const n = g.shape.reduce((p, d) => p * d, 1);
      const run = (backend: string) => {
        const xs = [0, 1].map((k) => T.from(uniform(n, seed + k), { shape: g.shape, backend }));
        const y = g.apply(...xs);
        return [y, ...gradients(y.mul(y).sum(), xs)];
      };
      await assertSame(run("cpu"), run("interpreter"), String(g));
    }),
    { numRuns: 200 },
  );
});

Deno.test("cpu float32: a fused value equals the stored one", async (t) => {
  await t.step("x - 2 equals its minimum somewhere", async () => {
    for (const backend of ["cpu", "interpreter"]) {
      const x = T.from([0.5, -0.3, 1.2], { backend });
      const y = x.sub(2);
      assert.deepEqual([...await y.eq(y.min()).data()], [0, 1, 0], backend);
    }
  });
  await t.step("the gradient of min(x - 2) is one-hot, not NaN", async () => {
    for (const backend of ["cpu", "interpreter"]) {
      const x = T.from([0.5, -0.3, 1.2], { backend });
      const [dx] = gradients(x.sub(2).min(), [x]);
      assert.deepEqual([...await dx.data()], [0, 1, 0], backend);
    }
  });
  await t.step("argmax of a linear layer's output is a class index", async () => {
    // Seed 0 gave class 4 of 4 on 31 of 64 rows before float32 results were rounded.
    const classes = (backend: string) =>
      withBackend(backend, () => {
        manualSeed(0);
        const layer = new Linear(5, 4);
        return layer.forward(T.randn([64, 5])).argmax(1);
      }).data();
    const cls = await classes("cpu");
    const bad = [...cls].filter((c) => !(c >= 0 && c < 4));
    assert.deepEqual(bad, [], `classes out of [0, 4): ${bad.length} of ${cls.length}`);
    assert.deepEqual([...cls], [...await classes("interpreter")]);
  });
});

Deno.test("cpu float32 sums round each partial sum in the interpreter's order", async () => {
  // Row-major over x.T, the first sum is 1e8, -1e8, 1, 1 = 2 in float32, while x's memory order
  // 1e8, 1, -1e8, 1 gives 1 (1e8 + 1 rounds to 1e8): the kernel must walk x.T's order. The second
  // is 1, 1e8, 1, -1e8 = 0 in float32 in either order, but 2 when accumulated in double.
  const cases: [number[][], number][] = [[[[1e8, 1], [-1e8, 1]], 2], [[[1, 1], [1e8, -1e8]], 0]];
  for (const [rows, want] of cases) {
    for (const backend of ["cpu", "interpreter"]) {
      const x = T.from(rows, { backend });
      assert.deepEqual([...await x.transpose().sum().reshape([1]).data()], [want], backend);
    }
  }
});
