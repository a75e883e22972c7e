/**
 * The CPU backend's WebAssembly GEMM path (backends/cpu/gemm) against the interpreter: random
 * matmuls, batched matmuls and conv2d (forward and both gradients, with stride, padding and
 * dilation), float32 bit for bit and float64 (which stays on the JavaScript loops) bit for bit,
 * with sizes 1, tails that are not multiples of the micro tile, empty axes and reductions longer
 * than one K block. Each case also checks that the contraction really took the GEMM path.
 *
 * Comparison: equal as numbers (`+0` equals `-0`: a sum of signed zeros starts at `+0` on both
 * sides, so no sign can differ except through a product, which both compute the same way), or
 * NaN on both sides (NaN payloads are not observable through the API).
 *
 * @module
 */

import { strict as assert } from "node:assert";
import fc from "fast-check";
import { CpuBackend, type DType, gradients, setCpuFma, Tensor } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { relaxedSimd } from "../../backends/cpu/gemm/micro_kernel.ts";
import { firstDifference } from "./cpu_random_graphs.ts";

/** Values of mixed magnitudes (so that a different summation order rounds differently). */
function values(n: number, seed: number, special: boolean): number[] {
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return s / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const u = next();
    if (special && u < 0.02) return [NaN, Infinity, -Infinity, 0, -0][Math.floor(next() * 5)];
    return (next() * 2 - 1) * 2 ** Math.floor(next() * 12 - 6);
  });
}

const inspector = new CpuBackend({ threads: 1 });

/** How many kernels of the program computing `outs` take the GEMM path. */
function gemmKernels(outs: readonly Tensor[]): number {
  const { program } = lower(outs.map((t) => t.node), (n) => n.op === "buffer");
  return inspector.inspect(program).sources.filter((s) => s.includes(": gemm ")).length;
}

interface Built {
  outs: Tensor[];
  gemm: number;
}

/**
 * Compares `build` on cpu and on the interpreter; `expectGemm` when the shapes make a real
 * contraction (sizes of 0 or a reduction of length 1 may schedule no reduction at all).
 */
async function assertSameOn(
  build: (backend: string) => Built,
  what: string,
  dtype: DType,
  expectGemm: boolean,
) {
  const cpu = build("cpu"), ref = build("interpreter");
  if (dtype === "float32" && expectGemm) {
    assert.ok(cpu.gemm > 0, `${what}: no kernel took the GEMM path`);
  }
  for (let i = 0; i < cpu.outs.length; i++) {
    const diff = firstDifference(await cpu.outs[i].data(), await ref.outs[i].data());
    if (diff !== undefined) throw new Error(`${what} (${dtype}) output ${i}: ${diff}`);
  }
}

const dtypes: DType[] = ["float32", "float64"];
const dim = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 19 }));

Deno.test("gemm: matmuls (plain, transposed, batched, broadcast) equal the interpreter", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        m: dim,
        n: dim,
        k: dim,
        batch: fc.integer({ min: 0, max: 3 }),
        layout: fc.integer({ min: 0, max: 3 }),
        seed: fc.nat(),
        special: fc.boolean(),
        dtype: fc.constantFrom(...dtypes),
      }),
      async ({ m, n, k, batch, layout, seed, special, dtype }) => {
        const build = (backend: string): Built => {
          const t = (shape: number[], s: number) =>
            Tensor.from(values(shape.reduce((p, d) => p * d, 1), s, special), {
              shape,
              dtype,
              backend,
            });
          let a: Tensor, b: Tensor;
          if (batch === 0) {
            // Operands stored transposed or not: strides differ, the product is the same.
            a = layout & 1 ? t([k, m], seed).permute(1, 0) : t([m, k], seed);
            b = layout & 2 ? t([n, k], seed + 1).permute(1, 0) : t([k, n], seed + 1);
          } else {
            // Batched, with A broadcast over the batch when layout is odd.
            a = layout & 1 ? t([1, m, k], seed).expand([batch, m, k]) : t([batch, m, k], seed);
            b = layout & 2
              ? t([batch, n, k], seed + 1).permute(0, 2, 1)
              : t([batch, k, n], seed + 1);
          }
          const c = a.matmul(b);
          // Gradients contract over M or N: more contraction kernels of other shapes.
          const g = m * n * k * Math.max(batch, 1) > 0
            ? gradients(c.mul(t(c.shape as number[], seed + 2)).sum(), [a, b])
            : [];
          const outs = [c, ...g];
          return { outs, gemm: gemmKernels(outs) };
        };
        await assertSameOn(
          build,
          `matmul m=${m} n=${n} k=${k} batch=${batch} layout=${layout}`,
          dtype,
          Math.min(m, n, k) >= 2,
        );
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("gemm: conv2d forward and gradients equal the interpreter", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        n: fc.integer({ min: 1, max: 2 }),
        cin: fc.integer({ min: 1, max: 5 }),
        cout: fc.integer({ min: 1, max: 6 }),
        h: fc.integer({ min: 1, max: 9 }),
        w: fc.integer({ min: 1, max: 9 }),
        kh: fc.integer({ min: 1, max: 3 }),
        kw: fc.integer({ min: 1, max: 3 }),
        stride: fc.integer({ min: 1, max: 2 }),
        padding: fc.integer({ min: 0, max: 2 }),
        dilation: fc.integer({ min: 1, max: 2 }),
        seed: fc.nat(),
        special: fc.boolean(),
        dtype: fc.constantFrom(...dtypes),
      }),
      async (c) => {
        const { n, cin, cout, h, w, kh, kw, stride, padding, dilation, seed, special, dtype } = c;
        fc.pre(h + 2 * padding >= dilation * (kh - 1) + 1);
        fc.pre(w + 2 * padding >= dilation * (kw - 1) + 1);
        const out = (x: number, k: number) =>
          Math.floor((x + 2 * padding - dilation * (k - 1) - 1) / stride) + 1;
        // The forward pass has a reduction and at least 4 outputs (fewer stay on the JS loops).
        const real = cin * kh * kw >= 2 && cout * n * out(h, kh) * out(w, kw) >= 4;
        const build = (backend: string): Built => {
          const t = (shape: number[], s: number) =>
            Tensor.from(values(shape.reduce((p, d) => p * d, 1), s, special), {
              shape,
              dtype,
              backend,
            });
          const x = t([n, cin, h, w], seed), wt = t([cout, cin, kh, kw], seed + 1);
          const y = x.conv2d(wt, { stride, padding, dilation });
          const g = gradients(y.mul(t(y.shape as number[], seed + 2)).sum(), [x, wt]);
          const outs = [y, ...g];
          return { outs, gemm: gemmKernels(outs) };
        };
        await assertSameOn(build, `conv2d ${JSON.stringify(c)}`, dtype, real);
      },
    ),
    { numRuns: 120 },
  );
});

Deno.test("gemm: large float32 products over many blocks and threads equal the interpreter", async (t) => {
  // K past one K block (256) carries accumulators across blocks; M and N past one unit split
  // the job across threads; the odd sizes leave tails in every direction.
  for (const [m, n, k] of [[70, 270, 300], [3, 517, 1031], [133, 5, 257]]) {
    await t.step(`${m}×${k} · ${k}×${n}`, async () => {
      const build = (backend: string): Built => {
        const a = Tensor.from(values(m * k, m, false), { shape: [m, k], backend });
        const b = Tensor.from(values(k * n, n, false), { shape: [k, n], backend });
        const outs = [a.matmul(b)];
        return { outs, gemm: gemmKernels(outs) };
      };
      await assertSameOn(build, `matmul ${m}x${k}x${n}`, "float32", true);
    });
  }
  await t.step("conv2d 2·8·20² → 12, 3×3, padding 1, with gradients", async () => {
    const build = (backend: string): Built => {
      const x = Tensor.from(values(2 * 8 * 400, 1, false), { shape: [2, 8, 20, 20], backend });
      const wt = Tensor.from(values(12 * 8 * 9, 2, false), { shape: [12, 8, 3, 3], backend });
      const y = x.conv2d(wt, { padding: 1 });
      const outs = [y, ...gradients(y.square().sum(), [x, wt])];
      return { outs, gemm: gemmKernels(outs) };
    };
    await assertSameOn(build, "conv2d", "float32", true);
  });
});

Deno.test("gemm: operands through nested pads (four conditions) and casts equal the interpreter", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        m: fc.integer({ min: 1, max: 12 }),
        k: fc.integer({ min: 1, max: 12 }),
        n: fc.integer({ min: 1, max: 20 }),
        seed: fc.nat(),
        special: fc.boolean(),
      }),
      async ({ m, k, n, seed, special }) => {
        const build = (backend: string): Built => {
          const f32 = (shape: number[], s: number) =>
            Tensor.from(values(shape[0] * shape[1], s, special), { shape, backend });
          // [m, k] padded, sliced and padded again: [m + 3, k + 4], read under four conditions.
          const a = f32([m, k], seed).pad([[1, 2], [2, 1]]).slice([[1, m + 3], [0, k + 3]])
            .pad([[1, 0], [0, 1]]);
          // A float64 operand rounded to float32, and a bool one (stored as 0/1).
          const b64 = Tensor.from(values((k + 4) * n, seed + 1, special), {
            shape: [k + 4, n],
            dtype: "float64",
            backend,
          });
          const mask = Tensor.from(values((k + 4) * n, seed + 2, false).map((x) => x > 0 ? 1 : 0), {
            shape: [k + 4, n],
            dtype: "bool",
            backend,
          });
          const outs = [a.matmul(b64.cast("float32")), a.matmul(mask.cast("float32"))];
          return { outs, gemm: gemmKernels(outs) };
        };
        await assertSameOn(build, `padded m=${m} k=${k} n=${n}`, "float32", true);
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("gemm: padding conditions that depend on the batch point equal the interpreter", async () => {
  // A padded along the batch axis: its rows are all zeros at some batch points, read at others,
  // so the packing modes change from one batch point to the next.
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        batch: fc.integer({ min: 1, max: 4 }),
        m: fc.integer({ min: 1, max: 13 }),
        k: fc.integer({ min: 1, max: 11 }),
        n: fc.integer({ min: 1, max: 17 }),
        before: fc.integer({ min: 0, max: 2 }),
        seed: fc.nat(),
      }),
      async ({ batch, m, k, n, before, seed }) => {
        const build = (backend: string): Built => {
          const t = (shape: number[], s: number) =>
            Tensor.from(values(shape.reduce((p, d) => p * d, 1), s, false), { shape, backend });
          const nb = batch + before + 1;
          const a = t([batch, m, k], seed).pad([[before, 1], [0, 0], [1, 0]]);
          const b = t([nb, k + 1, n], seed + 1);
          const outs = [a.matmul(b)];
          return { outs, gemm: gemmKernels(outs) };
        };
        await assertSameOn(
          build,
          `batch-padded batch=${batch} m=${m} k=${k} n=${n} before=${before}`,
          "float32",
          Math.min(m, n) >= 2,
        );
      },
    ),
    { numRuns: 40 },
  );
});

Deno.test("gemm: operands with fused elementwise prologues equal the interpreter", async () => {
  // A normalization, relu and max-pool fused into a convolution's input (as in the MNIST
  // model), and a sigmoid on a broadcast matmul operand; values and gradients.
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        n: fc.integer({ min: 1, max: 3 }),
        cin: fc.integer({ min: 1, max: 4 }),
        cout: fc.integer({ min: 1, max: 5 }),
        hw: fc.integer({ min: 2, max: 9 }),
        seed: fc.nat(),
        special: fc.boolean(),
      }),
      async ({ n, cin, cout, hw, seed, special }) => {
        const build = (backend: string): Built => {
          const t = (shape: number[], s: number) =>
            Tensor.from(values(shape.reduce((p, d) => p * d, 1), s, special), {
              shape,
              backend,
            });
          const x = t([n, cin, 2 * hw, 2 * hw], seed);
          const scale = t([1, cin, 1, 1], seed + 1), shift = t([1, cin, 1, 1], seed + 2);
          const h = x.mul(scale).add(shift).relu().maxPool2d(2);
          const wt = t([cout, cin, 3, 3], seed + 3);
          const y = h.conv2d(wt, { padding: 1 });
          const m = t([n, 3, cin], seed + 4).sigmoid().matmul(t([cin, 5], seed + 5));
          const g = gradients(y.mul(t(y.shape as number[], seed + 6)).sum(), [x, wt, scale]);
          const outs = [y, m, ...g];
          return { outs, gemm: gemmKernels(outs) };
        };
        await assertSameOn(
          build,
          `prologue n=${n} cin=${cin} cout=${cout} hw=${hw}`,
          "float32",
          true,
        );
      },
    ),
    { numRuns: 60 },
  );
});

Deno.test("gemm: fused multiply-adds stay within the float32 dot-product bound of the interpreter", async () => {
  // Two float32 sums of the same K products in the same order are each within γ_K·Σ|a·b| of the
  // exact sum (γ_K = K·u / (1 − K·u), u = 2⁻²⁴), whether each product is rounded or fused, so
  // they differ by at most 2·γ_K·Σ|a·b|. Σ|a·b| is the same contraction of |a| and |b| in
  // float64; gradients of Σ y·g give it for the gradients too. K is the longest reduction.
  setCpuFma(true);
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          m: fc.integer({ min: 1, max: 13 }),
          n: fc.integer({ min: 1, max: 21 }),
          k: fc.integer({ min: 1, max: 600 }),
          cin: fc.integer({ min: 1, max: 6 }),
          hw: fc.integer({ min: 3, max: 12 }),
          seed: fc.nat(),
          special: fc.boolean(),
        }),
        async ({ m, n, k, cin, hw, seed, special }) => {
          const run = (backend: string, abs: boolean) => {
            const dtype: DType = abs ? "float64" : "float32";
            const t = (shape: number[], s: number) => {
              const v = values(shape.reduce((p, d) => p * d, 1), s, special);
              return Tensor.from(abs ? v.map(Math.abs) : v, { shape, dtype, backend });
            };
            const a = t([m, k], seed), b = t([k, n], seed + 1);
            const c = a.matmul(b);
            const x = t([2, cin, hw, hw], seed + 2), w = t([n, cin, 3, 3], seed + 3);
            const y = x.conv2d(w, { padding: 1 });
            const loss = c.mul(t([m, n], seed + 4)).sum().add(
              y.mul(t([2, n, hw, hw], seed + 5)).sum(),
            );
            return [c, y, ...gradients(loss, [a, b, x, w])];
          };
          const outs = run("cpu", false), ref = run("interpreter", false);
          const bound = run("interpreter", true);
          const sources = inspector.inspect(
            lower(outs.map((o) => o.node), (x) => x.op === "buffer").program,
          ).sources.filter((s) => s.includes(": gemm "));
          // The conv2d forward pass alone has 2·n·hw² ≥ 18 outputs: always a GEMM.
          assert.ok(sources.length > 0, "no kernel took the GEMM path");
          const fused = sources.filter((s) => s.includes(", fma)")).length;
          assert.equal(fused, relaxedSimd() ? sources.length : 0, "GEMM kernels with fma");
          const K = Math.max(k, m, n, cin * 9, n * 9, 2 * hw * hw);
          const u = 2 ** -24, gamma = (K * u) / (1 - K * u);
          for (let i = 0; i < outs.length; i++) {
            const [got, want, s] = await Promise.all(
              [outs[i], ref[i], bound[i]].map((o) => o.data()),
            );
            for (let j = 0; j < got.length; j++) {
              if (!Number.isFinite(want[j]) || !Number.isFinite(got[j])) {
                assert.ok(
                  Object.is(got[j], want[j]) || (Number.isNaN(got[j]) && Number.isNaN(want[j])),
                  `output ${i}[${j}]: ${got[j]} vs ${want[j]}`,
                );
                continue;
              }
              const tol = 2 * gamma * s[j] + K * 2 ** -149;
              assert.ok(
                Math.abs(got[j] - want[j]) <= tol,
                `output ${i}[${j}]: ${got[j]} vs ${want[j]}, bound ${tol} (m=${m} n=${n} k=${k})`,
              );
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  } finally {
    setCpuFma(undefined);
  }
});
