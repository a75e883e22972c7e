// matmul, conv2d and pooling against direct loops written here, hand-checked examples and laws.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import type { Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";
import { f64, flatIndex, t64, values } from "./helpers.ts";

const RUNS = { numRuns: 20 } as const;
// Sums of at most a few dozen products of values in [-1, 1]: the order of additions changes
// results by far less than 1e-13.
const tol = { rtol: 1e-12, atol: 1e-13 };

/** [M, K] @ [K, N] by the textbook triple loop. */
function matmulLoop(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const out = new Array(m * n).fill(0);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) out[i * n + j] += a[i * k + p] * b[p * n + j];
    }
  }
  return out;
}

Deno.test("matmul: 2-D, 1-D and batched with broadcast batch axes match the loop", async () => {
  const dims = fc.tuple(
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 1, max: 3 }),
  );
  await fc.assert(
    fc.asyncProperty(
      dims.chain(([m, k, n]) =>
        fc.tuple(
          fc.constant([m, k, n]),
          t64({ shape: [2, 1, m, k] }),
          t64({ shape: [3, k, n] }),
          t64({ shape: [k] }),
        )
      ),
      async ([[m, k, n], a, b, v]) => {
        const [va, vb, vv] = [await values(a), await values(b), await values(v)];
        const out = a.matmul(b);
        assert.deepEqual(out.shape, [2, 3, m, n]);
        const expected: number[] = [];
        for (let i = 0; i < 2; i++) {
          for (let j = 0; j < 3; j++) {
            expected.push(
              ...matmulLoop(
                va.slice(i * m * k, (i + 1) * m * k),
                vb.slice(j * k * n, (j + 1) * k * n),
                m,
                k,
                n,
              ),
            );
          }
        }
        await assertClose(out, expected, tol);
        // 1-D operands: a vector on the left drops the M axis, on the right the N axis.
        const b0 = b.slice([0]);
        await assertClose(v.matmul(b0), matmulLoop(vv, vb.slice(0, k * n), 1, k, n), tol);
        const a0 = a.slice([0, 0]);
        await assertClose(a0.matmul(v), matmulLoop(va.slice(0, m * k), vv, m, k, 1), tol);
        assert.deepEqual(v.matmul(v).shape, []);
        // (A B)ᵀ = Bᵀ Aᵀ.
        await assertClose(a0.matmul(b0).transpose(), b0.transpose().matmul(a0.transpose()), tol);
      },
    ),
    RUNS,
  );
  assert.deepEqual(await f64([[1, 2], [3, 4]]).matmul(f64([[5, 6], [7, 8]])).toArray(), [
    [19, 22],
    [43, 50],
  ]);
});

interface ConvCase {
  n: number;
  cin: number;
  cout: number;
  groups: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
}

/** Direct-loop conv2d (cross-correlation with zero padding), as PyTorch defines it. */
function convLoop(x: number[], wt: number[], bias: number[], c: ConvCase): number[] {
  const oh = Math.floor((c.h + 2 * c.padding[0] - c.dilation[0] * (c.kh - 1) - 1) / c.stride[0]) +
    1;
  const ow = Math.floor((c.w + 2 * c.padding[1] - c.dilation[1] * (c.kw - 1) - 1) / c.stride[1]) +
    1;
  const cinG = c.cin / c.groups, coutG = c.cout / c.groups;
  const out: number[] = [];
  for (let n = 0; n < c.n; n++) {
    for (let co = 0; co < c.cout; co++) {
      const g = Math.floor(co / coutG);
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          let acc = bias[co];
          for (let ci = 0; ci < cinG; ci++) {
            for (let p = 0; p < c.kh; p++) {
              for (let q = 0; q < c.kw; q++) {
                const y = i * c.stride[0] - c.padding[0] + p * c.dilation[0];
                const xx = j * c.stride[1] - c.padding[1] + q * c.dilation[1];
                if (y < 0 || y >= c.h || xx < 0 || xx >= c.w) continue;
                acc += x[flatIndex([n, g * cinG + ci, y, xx], [c.n, c.cin, c.h, c.w])] *
                  wt[flatIndex([co, ci, p, q], [c.cout, cinG, c.kh, c.kw])];
              }
            }
          }
          out.push(acc);
        }
      }
    }
  }
  return out;
}

const convCase: fc.Arbitrary<ConvCase> = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  groups: fc.integer({ min: 1, max: 2 }),
  cinG: fc.integer({ min: 1, max: 2 }),
  coutG: fc.integer({ min: 1, max: 2 }),
  kh: fc.integer({ min: 1, max: 3 }),
  kw: fc.integer({ min: 1, max: 3 }),
  stride: fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
  padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
  dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
  extra: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
}).map((r) => ({
  n: r.n,
  cin: r.cinG * r.groups,
  cout: r.coutG * r.groups,
  groups: r.groups,
  kh: r.kh,
  kw: r.kw,
  stride: r.stride,
  padding: r.padding,
  dilation: r.dilation,
  // Large enough that the dilated kernel fits the padded input.
  h: Math.max(1, r.dilation[0] * (r.kh - 1) + 1 - 2 * r.padding[0]) + r.extra[0],
  w: Math.max(1, r.dilation[1] * (r.kw - 1) + 1 - 2 * r.padding[1]) + r.extra[1],
}));

Deno.test("conv2d: stride, padding, dilation, groups and bias match the direct loop", async () => {
  await fc.assert(
    fc.asyncProperty(
      convCase.chain((c) =>
        fc.tuple(
          fc.constant(c),
          t64({ shape: [c.n, c.cin, c.h, c.w] }),
          t64({ shape: [c.cout, c.cin / c.groups, c.kh, c.kw] }),
          t64({ shape: [c.cout] }),
        )
      ),
      async ([c, x, w, b]) => {
        const out = x.conv2d(w, {
          bias: b,
          stride: c.stride,
          padding: c.padding,
          dilation: c.dilation,
          groups: c.groups,
        });
        const expected = convLoop(await values(x), await values(w), await values(b), c);
        assert.equal(out.size, expected.length);
        await assertClose(out, expected, tol);
      },
    ),
    RUNS,
  );
});

Deno.test("conv2d: hand-checked example and linearity in the input", async () => {
  // A 2×2 box filter over a 3×3 ramp: each output is the sum of a 2×2 block.
  const x = f64([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]);
  const w = f64([[[[1, 1], [1, 1]]]]);
  assert.deepEqual(await x.conv2d(w).toArray(), [[[[12, 16], [24, 28]]]]);
  assert.deepEqual(await x.conv2d(w, { stride: 2, padding: 1 }).toArray(), [[[[1, 5], [
    11,
    28,
  ]]]]);
  const x2 = x.mul(-0.5).add(1);
  await assertClose(x.add(x2).conv2d(w), x.conv2d(w).add(x2.conv2d(w)), tol);
});

/** Direct-loop pooling over the last two axes of `[R, H, W]` data. */
function poolLoop(
  x: number[],
  [r, h, w]: number[],
  k: number,
  s: number,
  p: number,
  d: number,
  op: "avg" | "max",
): number[] {
  const span = d * (k - 1) + 1;
  const oh = Math.floor((h + 2 * p - span) / s) + 1, ow = Math.floor((w + 2 * p - span) / s) + 1;
  const out: number[] = [];
  for (let c = 0; c < r; c++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        let acc = op === "avg" ? 0 : -Infinity;
        for (let a = 0; a < k; a++) {
          for (let b = 0; b < k; b++) {
            const y = i * s - p + a * d, z = j * s - p + b * d;
            const inside = y >= 0 && y < h && z >= 0 && z < w;
            const v = inside ? x[flatIndex([c, y, z], [r, h, w])] : op === "avg" ? 0 : -Infinity;
            acc = op === "avg" ? acc + v : Math.max(acc, v);
          }
        }
        out.push(op === "avg" ? acc / (k * k) : acc);
      }
    }
  }
  return out;
}

Deno.test("pooling: avgPool2d and maxPool2d (stride, padding, dilation) match the loop", async () => {
  const cfg = fc.record({
    k: fc.integer({ min: 1, max: 3 }),
    s: fc.integer({ min: 1, max: 3 }),
    pad: fc.integer({ min: 0, max: 1 }),
    dil: fc.integer({ min: 1, max: 2 }),
    extra: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })),
  }).filter((c) => c.pad * 2 <= c.k);
  await fc.assert(
    fc.asyncProperty(
      cfg.chain((c) =>
        fc.tuple(
          fc.constant(c),
          t64({
            shape: [2, 1, c.dil * (c.k - 1) + 1 + c.extra[0], c.dil * (c.k - 1) + 1 + c.extra[1]],
          }),
        )
      ),
      async ([c, x]) => {
        const dims = [2, x.shape[2], x.shape[3]];
        const v = await values(x);
        const opts = { stride: c.s, padding: c.pad, dilation: c.dil };
        const loop = (op: "avg" | "max") => poolLoop(v, dims, c.k, c.s, c.pad, c.dil, op);
        await assertClose(x.avgPool2d(c.k, opts), loop("avg"), tol);
        await assertClose(x.maxPool2d(c.k, opts), loop("max"), {
          rtol: 0,
          atol: 0,
        });
      },
    ),
    RUNS,
  );
  const x = f64([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]);
  assert.deepEqual(await x.maxPool2d(2).toArray(), [[6, 8], [14, 16]]);
  assert.deepEqual(await x.avgPool2d(2).toArray(), [[3.5, 5.5], [11.5, 13.5]]);
  // Windows of pool2d: [H, W] -> [OH, OW, KH, KW].
  const windows: Tensor = x.pool2d([2, 2], [2, 2], [1, 1]);
  assert.deepEqual(windows.shape, [2, 2, 2, 2]);
  assert.deepEqual(await windows.slice([1, 0]).toArray(), [[9, 10], [13, 14]]);
});
