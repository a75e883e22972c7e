/**
 * The CPU backend's WebAssembly SIMD path (backends/cpu/simd) against its JavaScript renderer,
 * the oracle: every elementwise op over NaN, ±Infinity, ±0, subnormals and ordinary values,
 * broadcasts, strided and permuted views, divisions and moduli of the innermost loop (pooling
 * gradients), sums and maxes, sizes 1, 3, 4, 5, 4k+3 and large ones on several threads, and
 * random programs with their gradients. Each case checks that a kernel really took the SIMD path.
 *
 * Comparison: the same float32 value bit for bit, `-0` and `+0` told apart (`Object.is`), any
 * NaN equal to any NaN (payloads are not observable through the API). No tolerance: the SIMD
 * kernels round every op once to float32 as `Math.fround` of the double result does, and
 * transcendental ops call the same `Math` functions in double precision.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import fc from "fast-check";
import { CpuBackend, gradients, registerBackend, setCpuSimd, Tensor } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { build, type Recipe, recipe, specialValues } from "./cpu_random_graphs.ts";

registerBackend("cpu-simd-test-1", () => new CpuBackend({ threads: 1 }));
registerBackend("cpu-simd-test-4", () => new CpuBackend({ threads: 4, minParallelWork: 1024 }));
registerBackend("cpu-js-test", () => new CpuBackend({ threads: 1 }));

const inspector = new CpuBackend({ threads: 1 });

/** How many kernels of the program computing `outs` take the SIMD path. */
function simdKernels(outs: readonly Tensor[]): number {
  const { program } = lower(outs.map((t) => t.node), (n) => n.op === "buffer");
  return inspector.inspect(program).sources.filter((s) => s.includes(": simd ")).length;
}

function sameValues(got: ArrayLike<number>, want: ArrayLike<number>): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (Object.is(g, w) || (g !== g && w !== w)) continue;
    return `element ${i}: simd ${g}, javascript ${w}`;
  }
  return undefined;
}

/** Values with about one in four special (NaN, ±Infinity, ±0, ±1, subnormal, huge). */
function values(n: number, seed: number): Float32Array {
  const special = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e-40, -3e38, 2, 0.5];
  let s = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return s / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => {
    const u = next();
    if (u < 0.25) return special[Math.floor(next() * special.length)];
    return (next() * 2 - 1) * 2 ** Math.floor(next() * 8 - 4);
  });
}

/** The SIMD kernel sources of the program computing `outs`. */
function simdSources(outs: readonly Tensor[]): string[] {
  const { program } = lower(outs.map((t) => t.node), (n) => n.op === "buffer");
  return inspector.inspect(program).sources.filter((s) => s.includes(": simd "));
}

/**
 * Builds `f` over inputs of `shapes` on the SIMD path (one and four threads) and on the
 * JavaScript renderer, and asserts equal results; returns how many kernels took the SIMD path.
 */
async function compare(
  what: string,
  shapes: readonly (readonly number[])[],
  f: (...xs: Tensor[]) => Tensor[],
  seed = 1,
  make: (n: number, seed: number) => Float32Array = values,
): Promise<number> {
  const inputs = shapes.map((s, i) => make(s.reduce((p, d) => p * d, 1), seed + i));
  const run = async (backend: string, simd: boolean) => {
    setCpuSimd(simd);
    try {
      const xs = inputs.map((v, i) => Tensor.from(v, { shape: [...shapes[i]], backend }));
      const outs = f(...xs);
      const data = [];
      for (const o of outs) data.push(await o.data());
      return { data, simd: simdKernels(outs) };
    } finally {
      setCpuSimd(undefined);
    }
  };
  const want = await run("cpu-js-test", false);
  assert.equal(want.simd, 0, `${what}: the JavaScript run took the SIMD path`);
  let taken = 0;
  for (const backend of ["cpu-simd-test-1", "cpu-simd-test-4"]) {
    const got = await run(backend, true);
    taken = got.simd;
    got.data.forEach((d, i) => {
      const diff = sameValues(d, want.data[i]);
      if (diff !== undefined) throw new Error(`${what} (${backend}), output ${i}: ${diff}`);
    });
  }
  return taken;
}

const SIZES = [1, 3, 4, 5, 7, 8, 9, 31, 1031, 4099];

Deno.test("simd: unary ops equal the JavaScript renderer on special values", async (t) => {
  const ops: [string, (x: Tensor) => Tensor][] = [
    ["neg", (x) => x.neg()],
    ["exp", (x) => x.exp()],
    ["log", (x) => x.log()],
    ["sqrt", (x) => x.sqrt()],
    ["recip", (x) => x.reciprocal()],
    ["sin", (x) => x.sin()],
    ["sigmoid", (x) => x.sigmoid()],
    ["tanh", (x) => x.tanh()],
    ["relu", (x) => x.relu()],
    ["cast to bool and back", (x) => x.cast("bool").cast("float32").add(x)],
  ];
  for (const [name, op] of ops) {
    await t.step(name, async () => {
      for (const n of SIZES) {
        const taken = await compare(`${name} [${n}]`, [[n]], (x) => [op(x).mul(3)], n);
        assert.ok(taken > 0, `${name} [${n}]: no kernel took the SIMD path`);
      }
    });
  }
});

Deno.test("simd: vector exp and sigmoid equal Math.exp on 2^20 inputs across their range", async () => {
  // Evenly spread over [-110, 95] (underflow, subnormal results, overflow), plus every float32
  // within 2^12 of a few edges: exp's subnormal boundary (-87.3), 0, and float32 overflow.
  const spread = (n: number) => {
    const out = new Float32Array(n), edges = [-87.3, -87.33654, 0, 88.72284, -103.97];
    const bits = new Uint32Array(out.buffer);
    const half = n / 2;
    for (let i = 0; i < half; i++) out[i] = -110 + (205 * i) / half;
    const per = Math.floor(half / edges.length);
    edges.forEach((e, q) => {
      const b = new Uint32Array(new Float32Array([e]).buffer)[0];
      for (let j = 0; j < per; j++) bits[half + q * per + j] = b - per / 2 + j;
    });
    return out;
  };
  for (const op of ["exp", "sigmoid"] as const) {
    const taken = await compare(
      op,
      [[1 << 20]],
      (x) => [op === "exp" ? x.exp() : x.sigmoid()],
      0,
      spread,
    );
    assert.ok(taken > 0, `${op}: no kernel took the SIMD path`);
  }
});

Deno.test("simd: binary ops, comparisons and where equal the JavaScript renderer", async (t) => {
  const ops: [string, (x: Tensor, y: Tensor) => Tensor][] = [
    ["add", (x, y) => x.add(y)],
    ["mul", (x, y) => x.mul(y)],
    ["sub", (x, y) => x.sub(y)],
    ["div", (x, y) => x.div(y)],
    ["maximum", (x, y) => x.maximum(y)],
    ["minimum", (x, y) => x.minimum(y)],
    ["pow", (x, y) => x.pow(y)],
    ["lt where", (x, y) => Tensor.where(x.lt(y), x, y)],
    ["eq where", (x, y) => Tensor.where(x.eq(y), y.exp(), x)],
    [
      "bool compare",
      (x, y) => Tensor.where(x.lt(0).lt(y.lt(0)), 1, x.lt(y).eq(y.lt(x)).cast("float32")),
    ],
  ];
  for (const [name, op] of ops) {
    await t.step(name, async () => {
      for (const n of SIZES) {
        const taken = await compare(`${name} [${n}]`, [[n], [n]], (x, y) => [op(x, y)], 7 * n);
        assert.ok(taken > 0, `${name} [${n}]: no kernel took the SIMD path`);
      }
    });
  }
});

Deno.test("simd: broadcasts, strided and permuted views equal the JavaScript renderer", async (t) => {
  const cases: [string, number[][], (...xs: Tensor[]) => Tensor][] = [
    ["row broadcast", [[5, 7], [7]], (x, y) => x.mul(y).add(y.exp())],
    ["column broadcast", [[6, 9], [6, 1]], (x, y) => x.add(y).sigmoid()],
    ["channel bias", [[3, 4, 13], [4, 1]], (x, y) => x.mul(y).add(1)],
    ["scalar", [[2, 3, 11], []], (x, y) => x.sub(y).tanh()],
    ["outer permute", [[4, 5, 64]], (x) => x.permute(1, 0, 2).mul(2)],
    [
      "flip-free slice",
      [[8, 20]],
      (x) => x.slice([[1, 7], [3, 19]]).mul(x.slice([[0, 6], [2, 18]])),
    ],
    [
      "nearest upsample",
      [[2, 3, 5, 6]],
      (x) =>
        x.reshape([2, 3, 5, 1, 6, 1]).expand([2, 3, 5, 2, 6, 2]).reshape([2, 3, 10, 12]).mul(3),
    ],
  ];
  for (const [name, shapes, f] of cases) {
    await t.step(name, async () => {
      const taken = await compare(name, shapes, (...xs) => [f(...xs)]);
      assert.ok(taken > 0, `${name}: no kernel took the SIMD path`);
    });
  }
  // A transpose reads across the rows: it stays on the JavaScript loops, with the same values.
  await t.step("inner transpose", async () => {
    await compare("inner transpose", [[9, 10]], (x) => [x.permute(1, 0).add(x.permute(1, 0))]);
  });
});

Deno.test("simd: sums and maxes equal the JavaScript renderer", async (t) => {
  const cases: [string, number[][], (...xs: Tensor[]) => Tensor[]][] = [
    ["sum of the last axis", [[5, 1031]], (x) => [x.sum(1)]],
    ["max of the last axis", [[5, 13]], (x) => [x.max(1)]],
    ["sum and max fused", [[3, 37]], (x) => [x.exp().sum(1), x.max(1), x.mul(x).sum(1)]],
    [
      "per-channel statistics",
      [[6, 4, 9, 9]],
      (x) => [x.mean([0, 2, 3]), x.mul(x).mean([0, 2, 3])],
    ],
    ["full sum", [[4099]], (x) => [x.sum()]],
    ["sum over two inner axes", [[3, 5, 11]], (x) => [x.sigmoid().sum([1, 2])]],
    ["max with ±0", [[4, 16]], (x) => [x.mul(0).max(1), x.mul(0).neg().max(1)]],
    ["column sums and maxes", [[13, 37]], (x) => [x.sum(0), x.max(0), x.exp().sum(0)]],
    ["short reductions over rows", [[5, 3, 41]], (x) => [x.sum(1), x.max(1)]],
    ["column max with ±0", [[9, 12]], (x) => [x.mul(0).max(0), x.mul(0).neg().max(0)]],
    ["padded sum", [[6, 20]], (x) => [x.pad([[1, 2], [0, 0]]).sigmoid().sum(0)]],
    [
      "concatenated halves",
      [[2, 6, 16]],
      (x) => [x.pad([[0, 0], [0, 0], [0, 16]]).reshape([2, 6, 2, 16]).sum(2).mul(2)],
    ],
  ];
  for (const [name, shapes, f] of cases) {
    await t.step(name, async () => {
      const taken = await compare(name, shapes, f);
      assert.ok(taken > 0, `${name}: no kernel took the SIMD path`);
    });
  }
});

Deno.test("simd: reductions pick lanes or rows by the shape of their loops", () => {
  const x = Tensor.zeros([13, 37]);
  const byLanes = simdSources([x.sum(1)]), byRows = simdSources([x.sum(0)]);
  assert.ok(byLanes.length === 1 && byLanes[0].includes("reduce by lanes"), byLanes.join("\n"));
  assert.ok(byRows.length === 1 && byRows[0].includes("reduce by rows"), byRows.join("\n"));
});

Deno.test("simd: float64, int32 and bool buffers stay on the JavaScript renderer", () => {
  const f64 = Tensor.zeros([64], { dtype: "float64" }).exp();
  const i32 = Tensor.zeros([64], { dtype: "int32" }).mul(3);
  const mask = Tensor.zeros([64]).lt(1);
  assert.deepEqual([simdKernels([f64]), simdKernels([i32]), simdKernels([mask])], [0, 0, 0]);
});

Deno.test("simd: large elementwise kernels and reductions over threads", async () => {
  const taken = await compare(
    "[64, 8, 28, 28]",
    [[64, 8, 28, 28], [8, 1, 1]],
    (x, g) => {
      const y = x.mul(g).add(1).sigmoid().mul(x);
      return [y, y.sum([0, 2, 3]), x.maxPool2d([2, 2]).exp()];
    },
  );
  assert.ok(taken >= 2, `large: ${taken} kernels took the SIMD path`);
});

Deno.test("simd: a 4M + 3 element kernel and its sum over threads", async () => {
  const n = 4 * 1024 * 1024 + 3; // 4194307 = 599186 · 7 + 5
  const taken = await compare(`[${n}]`, [[n], [1]], (x, b) => {
    const y = x.mul(b).add(x.mul(x)).maximum(x.neg());
    const rows = y.slice([[0, n - 5]]).reshape([(n - 5) / 7, 7]);
    return [y, rows.sum(0), rows.sum(1), y.sum()];
  });
  assert.ok(taken >= 2, `[${n}]: ${taken} kernels took the SIMD path`);
});

Deno.test("simd: pooling and normalization gradients equal the JavaScript renderer", async () => {
  const taken = await compare("pool grad", [[4, 3, 12, 12], [3, 1, 1]], (x, w) => {
    const y = x.mul(w).relu().maxPool2d([2, 2]);
    const z = y.sub(y.mean([0, 2, 3], { keepdims: true })).sigmoid();
    return [z, ...gradients(z.mul(z).sum(), [x, w])];
  });
  assert.ok(taken > 0, "pool grad: no kernel took the SIMD path");
});

async function sameOnRecipe(r: Recipe, withGrads: boolean) {
  const outputs = (backend: string, simd: boolean) => {
    setCpuSimd(simd);
    try {
      const { out, inputs } = build(r, backend, "float32", specialValues);
      const loss = out.size === 1 ? out : out.mul(out.sin().add(2));
      return withGrads ? [out, ...gradients(loss.sum(), [...inputs])] : [out];
    } finally {
      setCpuSimd(undefined);
    }
  };
  const read = async (ts: Tensor[], simd: boolean) => {
    setCpuSimd(simd);
    try {
      const out = [];
      for (const t of ts) out.push(await t.data());
      return out;
    } finally {
      setCpuSimd(undefined);
    }
  };
  const want = await read(outputs("cpu-js-test", false), false);
  const got = await read(outputs("cpu-simd-test-1", true), true);
  got.forEach((g, i) => {
    const diff = sameValues(g, want[i]);
    if (diff !== undefined) throw new Error(`output ${i}: ${diff}`);
  });
}

Deno.test("simd: random float32 programs and gradients equal the JavaScript renderer", async () => {
  await fc.assert(fc.asyncProperty(recipe(8), (r) => sameOnRecipe(r, false)), { numRuns: 300 });
  await fc.assert(fc.asyncProperty(recipe(6), (r) => sameOnRecipe(r, true)), { numRuns: 150 });
});
