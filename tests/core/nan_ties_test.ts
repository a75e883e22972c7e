/**
 * NaN, infinity and tie semantics against PyTorch 1.13 (tests/fixtures/nan_ties.json, written by
 * tools/fixtures/nan_ties.py): max_pool2d values and gradients on tied windows, relu, sign, abs
 * and softmax on NaN and infinities, and pow over a grid of special values, on every backend.
 *
 * Tolerances, relative above magnitude 1: max pooling, relu, sign and abs are exact (a chosen
 * element or a comparison). Softmax and pow go through exp and log: 1e-12 in float64 (a few
 * ulps of results below 1e3); float32 1e-5 (interpreter and cpu round every op to float32, WGSL's
 * exp/log/pow are accurate to a few ulps, and |b·log a| stays below 10 on the grid, so errors
 * stay below 2^-24 · 10 · a few ≈ 1e-6). NaN must match NaN and infinities must be equal.
 *
 * @module
 */

import { gradients, Tensor } from "../../mod.ts";
import type { DType } from "../../mod.ts";
import { targets } from "../nn/helpers.ts";

type Num = number | "NaN" | "Infinity" | "-Infinity" | "-0";
interface Fx {
  shape: number[];
  data: Num[];
}
interface PoolCase {
  name: string;
  dtype: DType;
  x: Fx;
  gy: Fx;
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  y: Fx;
  gx: Fx;
}
interface UnaryCase {
  name: string;
  op: "relu" | "sign" | "abs" | "softmax";
  dtype: DType;
  x: Fx;
  y: Fx;
  gx?: Fx;
}
interface PowCase {
  name: string;
  dtype: DType;
  a: Fx;
  b: Fx;
  y: Fx;
  ga: Fx;
  gb: Fx;
}

const FIXTURE: { max_pool2d: PoolCase[]; unary: UnaryCase[]; pow: PowCase[] } = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/nan_ties.json", import.meta.url)),
);

const decode = (v: Num): number =>
  v === "NaN"
    ? NaN
    : v === "Infinity"
    ? Infinity
    : v === "-Infinity"
    ? -Infinity
    : v === "-0"
    ? -0
    : v;

const TOL: Record<string, number> = { float64: 1e-12, float32: 1e-5 };

function tensorOf(f: Fx, dtype: DType, backend: string): Tensor {
  return Tensor.from(f.data.map(decode), { shape: f.shape, dtype, backend });
}

/** Elementwise check: NaN only against NaN, infinities equal, finite values within `tol`. */
async function expectMatch(
  actual: Tensor,
  expected: Fx,
  tol: number,
  what: string,
  ctx?: Fx,
): Promise<void> {
  if (actual.shape.join(",") !== expected.shape.join(",")) {
    throw new Error(`${what}: shape [${actual.shape}], expected [${expected.shape}]`);
  }
  const got = await actual.data();
  const bad: string[] = [];
  expected.data.forEach((raw, i) => {
    const e = decode(raw), g = got[i];
    const ok = Number.isNaN(e)
      ? Number.isNaN(g)
      : !Number.isFinite(e)
      ? g === e
      : Math.abs(g - e) <= tol * Math.max(1, Math.abs(e));
    const at = ctx === undefined ? "" : ` (input ${ctx.data[i]})`;
    if (!ok) bad.push(`[${i}]${at} = ${g}, expected ${e}`);
  });
  if (bad.length > 0) {
    throw new Error(`${what}: ${bad.length} mismatches: ${bad.slice(0, 8).join("; ")}`);
  }
}

const forTargets = async (
  t: Deno.TestContext,
  cases: readonly { name: string; dtype: DType }[],
  check: (i: number, backend: string) => Promise<void>,
) => {
  for (const target of await targets()) {
    for (let i = 0; i < cases.length; i++) {
      if (cases[i].dtype !== target.dtype) continue;
      await t.step(`${cases[i].name} on ${target.backend}`, () => check(i, target.backend));
    }
  }
};

Deno.test("max_pool2d: values and gradients of tied, NaN and -Infinity windows match torch", async (t) => {
  await forTargets(t, FIXTURE.max_pool2d, async (i, backend) => {
    const c = FIXTURE.max_pool2d[i];
    const x = tensorOf(c.x, c.dtype, backend);
    const opts = { stride: c.stride, padding: c.padding, dilation: c.dilation };
    const y = x.maxPool2d(c.kernel, opts);
    await expectMatch(y, c.y, 0, "value");
    const [gx] = gradients(y, [x], tensorOf(c.gy, c.dtype, backend));
    await expectMatch(gx, c.gx, TOL[c.dtype], "gradient", c.x);
  });
});

Deno.test("relu, sign, abs and softmax of NaN and infinities match torch", async (t) => {
  await forTargets(t, FIXTURE.unary, async (i, backend) => {
    const c = FIXTURE.unary[i];
    const x = tensorOf(c.x, c.dtype, backend);
    const y = c.op === "softmax" ? x.softmax(0) : x[c.op]();
    await expectMatch(y, c.y, c.op === "softmax" ? TOL[c.dtype] : 0, "value", c.x);
    if (c.gx !== undefined) {
      const [gx] = gradients(y.sum(), [x]);
      await expectMatch(gx, c.gx, 0, "gradient", c.x);
    }
  });
});

Deno.test("pow of tensors over special values matches torch, with both gradients", async (t) => {
  await forTargets(t, FIXTURE.pow, async (i, backend) => {
    const c = FIXTURE.pow[i];
    const a = tensorOf(c.a, c.dtype, backend), b = tensorOf(c.b, c.dtype, backend);
    const y = a.pow(b);
    const pairs: Fx = {
      shape: c.a.shape,
      data: c.a.data.map((v, k) => `${v}^${c.b.data[k]}` as Num),
    };
    await expectMatch(y, c.y, TOL[c.dtype], "value", pairs);
    const [ga, gb] = gradients(y.sum(), [a, b]);
    await expectMatch(ga, c.ga, TOL[c.dtype], "d/da", pairs);
    await expectMatch(gb, c.gb, TOL[c.dtype], "d/db", pairs);
  });
});
