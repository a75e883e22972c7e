/**
 * Differential tests: the CPU backend against the reference interpreter on random programs
 * (elementwise ops, broadcasting, reductions, movement ops, matmul, conv2d) and their gradients.
 */

import fc from "fast-check";
import { gradients, type Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { build, type Recipe, recipe } from "./cpu_random_graphs.ts";

// Tolerances. float64: both backends compute the same formulas in double precision; only the
// summation order of reductions may differ (loops are reordered and merged), which changes a
// sum of n terms by at most ~n·eps·Σ|terms|; with n < 1000 and values of order 1-100 that is far
// below 1e-9 relative to 1 + |value|.
const F64 = { rtol: 1e-9, atol: 1e-9 };
// float32: the interpreter rounds to float32 after every op while the CPU backend rounds once,
// when storing. Each rounding is a relative error of 6e-8; recipes have at most ~10 ops plus
// reductions of up to a few hundred terms whose cancellation can expose errors of the summands'
// magnitude (at most ~100 here), so the difference stays below ~100 · 300 · 6e-8 ≈ 2e-3 in
// absolute terms, which 2e-3 + 1e-3·|value| covers.
const F32 = { rtol: 1e-3, atol: 2e-3 };

async function compareForward(r: Recipe, dtype: "float32" | "float64") {
  const cpu = build(r, "cpu", dtype).out;
  const ref = build(r, "interpreter", dtype).out;
  await assertClose(cpu, await ref.data(), { ...(dtype === "float64" ? F64 : F32), msg: dtype });
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
  for (let i = 0; i < cpu.length; i++) {
    await assertClose(cpu[i], await ref[i].data(), { ...F64, msg: `gradient ${i}` });
  }
}

Deno.test("cpu backend equals the interpreter on random float64 programs", async () => {
  await fc.assert(fc.asyncProperty(recipe(), (r) => compareForward(r, "float64")), {
    numRuns: 80,
  });
});

Deno.test("cpu backend is close to the interpreter on random float32 programs", async () => {
  await fc.assert(fc.asyncProperty(recipe(), (r) => compareForward(r, "float32")), {
    numRuns: 40,
  });
});

Deno.test("cpu backend gradients equal the interpreter's on random programs", async () => {
  await fc.assert(fc.asyncProperty(recipe(6), compareGradients), { numRuns: 40 });
});
