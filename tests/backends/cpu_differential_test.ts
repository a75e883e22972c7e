/**
 * Differential tests: the CPU backend against the reference interpreter on random float64
 * programs (elementwise ops, broadcasting, reductions, movement ops, matmul, conv2d) and their
 * gradients. Float32 programs are in cpu_float32_exact_test.ts.
 *
 * The two must agree exactly: both compute every op in double precision with the same formulas,
 * and the CPU backend's sums add the reduced elements in the interpreter's order (row-major over
 * the reduced axes), so there is no rounding difference to tolerate.
 */

import fc from "fast-check";
import { gradients, type Tensor } from "../../mod.ts";
import { build, firstDifference, type Recipe, recipe } from "./cpu_random_graphs.ts";

async function assertSame(cpu: Tensor, ref: Tensor, what: string) {
  const diff = firstDifference(await cpu.data(), await ref.data());
  if (diff !== undefined) throw new Error(`${what}: ${diff}`);
}

async function compareForward(r: Recipe) {
  await assertSame(build(r, "cpu", "float64").out, build(r, "interpreter", "float64").out, "value");
}

async function compareGradients(r: Recipe) {
  const grads = (backend: string): Tensor[] => {
    const { out, inputs } = build(r, backend, "float64");
    // A fixed, non-uniform cotangent so that every output element matters differently.
    const weight = out.size === 1 ? out : out.mul(out.sin().add(2));
    return gradients(weight.sum(), [...inputs]);
  };
  const cpu = grads("cpu");
  const ref = grads("interpreter");
  for (let i = 0; i < cpu.length; i++) await assertSame(cpu[i], ref[i], `gradient ${i}`);
}

Deno.test("cpu backend equals the interpreter on random float64 programs", async () => {
  await fc.assert(fc.asyncProperty(recipe(), compareForward), { numRuns: 80 });
});

Deno.test("cpu backend gradients equal the interpreter's on random programs", async () => {
  await fc.assert(fc.asyncProperty(recipe(6), compareGradients), { numRuns: 80 });
});
