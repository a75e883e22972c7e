/**
 * Independent reductions over the same loops and input run as one multi-output kernel, with the
 * values they have alone: bit-identical to the interpreter on the CPU backend (float32), within
 * the compensated-sum bound on WebGPU. The schedule's shape is checked directly, and random sets
 * of reductions (sums and maxima of elementwise functions of one input, with NaN and ±Infinity)
 * are compared across backends.
 *
 * @module
 */

import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import fc from "fast-check";
import { backendStats, realize, Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { lower } from "../../core/program.ts";
import { kernelOutputs, type Schedule, schedule } from "../../core/schedule.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";
import { firstDifference } from "./cpu_random_graphs.ts";

const gpu = await hasWebGpu();

function scheduleOf(outs: readonly Tensor[]): Schedule {
  const { program } = lower(outs.map((t) => t.node), (n) => n.op === "buffer");
  return schedule(program);
}

/** Output counts of the reduction kernels of `s`, in order. */
function reductionOutputs(s: Schedule): number[] {
  return s.kernels.filter((k) => k.reduceOp !== undefined).map((k) => kernelOutputs(k).length);
}

Deno.test("a mean and a mean of squares over the same axes are one kernel", () => {
  const x = Tensor.rand([4, 3, 5]);
  const s = scheduleOf([x.mean([0, 2]), x.square().mean([0, 2])]);
  // Two outputs of one reduction kernel, then the two scalings by 1/20.
  assertEquals(reductionOutputs(s), [2]);
  const k = s.kernels.find((k) => k.reduceOp !== undefined)!;
  assertEquals(kernelOutputs(k).map((o) => o.reduceOp), ["sum", "sum"]);
});

Deno.test("a sum and a max of one input fuse, each with its own reduce op", () => {
  const x = Tensor.rand([6, 7]);
  const s = scheduleOf([x.sum(1), x.max(1), x.exp().sum(1)]);
  assertEquals(s.kernels.length, 1);
  assertEquals(kernelOutputs(s.kernels[0]).map((o) => o.reduceOp), ["sum", "max", "sum"]);
});

Deno.test("dependent, differently shaped or unrelated reductions stay apart", () => {
  const x = Tensor.rand([4, 5]), y = Tensor.rand([4, 5]);
  const mean = x.mean(1, { keepdims: true });
  // The centered variance reads the mean: it cannot share the mean's loop nest.
  assertEquals(reductionOutputs(scheduleOf([mean, x.sub(mean).square().sum(1)])), [1, 1]);
  assertEquals(reductionOutputs(scheduleOf([x.sum(0), x.sum(1)])), [1, 1]); // other loops
  assertEquals(reductionOutputs(scheduleOf([x.sum(1), y.sum(1)])), [1, 1]); // nothing shared
});

Deno.test("contractions sharing an operand stay apart (each runs as a matrix product)", () => {
  const x = Tensor.rand([8, 6]), w1 = Tensor.rand([6, 5]), w2 = Tensor.rand([6, 5]);
  assertEquals(reductionOutputs(scheduleOf([x.matmul(w1), x.matmul(w2)])), [1, 1]);
  // A per-row dot product of two same-shaped operands is no contraction: it still fuses.
  const y = Tensor.rand([8, 6]);
  assertEquals(reductionOutputs(scheduleOf([x.mul(y).sum(1), x.sum(1)])), [2]);
});

Deno.test("a fused group runs where its inputs exist and before its readers", async () => {
  // s2 depends on s1 through z; t reads x like s1 but must wait for nothing. The group {s1, t}
  // may not move past z's reader.
  const x = Tensor.rand([3, 8], { backend: "cpu", dtype: "float32", seed: 1 });
  const s1 = x.sum(1, { keepdims: true });
  const z = x.div(s1);
  const s2 = z.max(1);
  const t = x.square().sum(1);
  const outs = [s2, t, s1];
  const s = scheduleOf(outs);
  const written = new Set<number>(
    s.buffers.flatMap((b, i) => (b.role.kind === "input" ? [i] : [])),
  );
  for (const k of s.kernels) {
    for (const b of k.reads) assert(written.has(b), `kernel ${k.id} reads buffer ${b} first`);
    for (const o of kernelOutputs(k)) written.add(o.buffer);
  }
  const got = await Promise.all(outs.map((o) => o.data()));
  const want = await Promise.all(outs.map((o) => o.to("interpreter").data()));
  got.forEach((g, i) => assertEquals(firstDifference(g, want[i]), undefined));
});

/** A reduction of an elementwise function of `x`. */
type Reduction = "sum" | "max" | "sumSquares" | "sumExp" | "maxNeg" | "sumAbsDiv";

function reduce(x: Tensor, r: Reduction, axes: number[]): Tensor {
  switch (r) {
    case "sum":
      return x.sum(axes);
    case "max":
      return x.max(axes);
    case "sumSquares":
      return x.square().sum(axes);
    case "sumExp":
      return x.exp().sum(axes);
    case "maxNeg":
      return x.neg().max(axes);
    case "sumAbsDiv":
      return x.abs().div(3).sum(axes);
  }
}

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0];

const cases = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
  axesMask: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
  reductions: fc.uniqueArray(
    fc.constantFrom<Reduction>("sum", "max", "sumSquares", "sumExp", "maxNeg", "sumAbsDiv"),
    { minLength: 2, maxLength: 4 },
  ),
  seed: fc.nat(),
  special: fc.option(fc.tuple(fc.nat(), fc.constantFrom(...SPECIALS)), { nil: undefined }),
});

function inputs(shape: number[], seed: number, special?: [number, number]): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  let s = seed >>> 0 || 1;
  const data = Float32Array.from({ length: n }, () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return (s / 2 ** 32) * 4 - 2;
  });
  if (special !== undefined) data[special[0] % n] = special[1];
  return data;
}

function outputsOf(
  shape: number[],
  mask: boolean[],
  reductions: Reduction[],
  data: Float32Array,
  backend: string,
): Tensor[] {
  const x = Tensor.from(data, { backend, dtype: "float32" }).reshape(shape);
  let axes = shape.flatMap((_, a) => (mask[a] ? [a] : []));
  if (axes.length === 0) axes = [shape.length - 1];
  return reductions.map((r) => reduce(x, r, axes));
}

Deno.test("random fused reductions on cpu equal the interpreter bit for bit", async () => {
  await fc.assert(
    fc.asyncProperty(cases, async ({ shape, axesMask, reductions, seed, special }) => {
      const data = inputs(shape, seed, special);
      const cpu = outputsOf(shape, axesMask, reductions, data, "cpu");
      const s = scheduleOf(cpu);
      const reducedLoops = s.kernels.some((k) => k.loops.some((l) => l.reduce));
      // With a reduction loop every output comes from one kernel (the scalings are inlined).
      if (reducedLoops) assertEquals(s.kernels.length, 1);
      await realize(...cpu);
      const ref = outputsOf(shape, axesMask, reductions, data, "interpreter");
      for (let i = 0; i < cpu.length; i++) {
        const diff = firstDifference(await cpu[i].data(), await ref[i].data());
        assert(diff === undefined, `${reductions[i]} over ${shape}: ${diff}`);
      }
    }),
    { numRuns: 150 },
  );
});

Deno.test(
  { name: "random fused reductions on webgpu are close to the interpreter", ignore: !gpu },
  async (t) => {
    for (const backend of webgpuBackends()) {
      await t.step(backend, async () => {
        await fc.assert(
          fc.asyncProperty(cases, async ({ shape, axesMask, reductions, seed, special }) => {
            const data = inputs(shape, seed, special);
            const outs = outputsOf(shape, axesMask, reductions, data, backend);
            await realize(...outs);
            const ref = outputsOf(shape, axesMask, reductions, data, "interpreter");
            for (let i = 0; i < outs.length; i++) {
              const got = await outs[i].data(), want = await ref[i].data();
              for (let j = 0; j < got.length; j++) {
                const g = got[j], w = want[j];
                if (Number.isNaN(w) || !Number.isFinite(w)) {
                  assert(Object.is(g, w) || (g === w), `${reductions[i]}[${j}]: ${g} vs ${w}`);
                  continue;
                }
                // At most 125 terms of magnitude <= e^2: float32 sums differ by a few ulps of
                // the sum of magnitudes; WGSL's exp is within 3 ulps plus 2^-21 absolute.
                assert(
                  Math.abs(g - w) <= 1e-5 * (Math.abs(w) + 125 * 8),
                  `${backend} ${reductions[i]} over ${shape}[${j}]: ${g} vs ${w}`,
                );
              }
            }
          }),
          { numRuns: 40 },
        );
      });
    }
  },
);

Deno.test({ name: "webgpu runs fused serial reductions as one kernel", ignore: !gpu }, async () => {
  const serial = webgpuBackends().find((b) => b.endsWith("serial"))!;
  const data = inputs([64, 10], 5);
  const outs = (backend: string) => {
    const x = Tensor.from(data, { backend, dtype: "float32" }).reshape([64, 10]);
    return [x.sum(1), x.max(1), x.square().sum(1)];
  };
  const before = (await backendStats(serial)).kernelsRun;
  const got = outs(serial);
  await realize(...got);
  // One dispatch for three outputs (each output alone would be its own kernel).
  assertEquals((await backendStats(serial)).kernelsRun - before, 1);
  const want = outs("interpreter");
  for (let i = 0; i < got.length; i++) {
    // Ten terms in [-2, 2): compensated float32 sums are within a few ulps of 40.
    await assertClose(got[i], await want[i].data(), { rtol: 0, atol: 1e-5 });
  }
});
