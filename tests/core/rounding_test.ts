/**
 * floor, ceil, round, trunc, floorDivide, remainder and fmod against PyTorch 1.13
 * (tests/fixtures/rounding.json, made by tools/fixtures/rounding.py) on the interpreter, the CPU
 * backend and WebGPU. These ops are exact (their results are correctly rounded or exact), so
 * values are compared bit for bit, -0 and NaN included; WebGPU, which has no float64, runs the
 * float32 cases only.
 *
 * @module
 */

import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { type DType, grad, jvp, Tensor, vmap } from "../../mod.ts";
import * as ir from "../../core/ir.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const FIXTURE = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/rounding.json", import.meta.url)),
);
const num = (v: number | string): number => (typeof v === "string" ? Number(v) : v);
const nums = (vs: (number | string)[]): number[] => vs.map(num);
const BACKENDS = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];
const floatsOn = (backend: string): DType[] =>
  backend.startsWith("webgpu") ? ["float32"] : ["float64", "float32"];
const values = async (t: Tensor) => Array.from(await t.data());

/**
 * Fails naming the first element whose bits differ (Object.is: -0 and NaN are told apart);
 * `signedZeros: false` lets 0 and -0 match.
 */
function sameBits(
  got: number[],
  want: number[],
  what: string,
  inputs: string[],
  signedZeros = true,
): void {
  strictEqual(got.length, want.length, `${what}: length`);
  got.forEach((g, i) => {
    if (!Object.is(g, want[i]) && (signedZeros || g !== want[i])) {
      throw new Error(`${what} at ${i} (${inputs[i]}): got ${g}, expected ${want[i]}`);
    }
  });
}

Deno.test("rounding: floor, ceil, round and trunc match PyTorch bit for bit", async (t) => {
  for (const backend of BACKENDS) {
    for (const dtype of floatsOn(backend)) {
      await t.step(`${backend} ${dtype}`, async () => {
        const f = FIXTURE.unary[dtype];
        const xs = nums(f.x);
        const x = Tensor.from(xs, { dtype, backend });
        const labels = xs.map(String);
        for (const op of ["floor", "ceil", "round", "trunc"] as const) {
          const y = x[op]();
          strictEqual(y.dtype, dtype);
          sameBits(await values(y), nums(f[op]), `${op}`, labels);
        }
      });
    }
  }
});

Deno.test("rounding: floorDivide, remainder and fmod match PyTorch bit for bit", async (t) => {
  for (const backend of BACKENDS) {
    for (const dtype of floatsOn(backend)) {
      await t.step(`${backend} ${dtype}`, async () => {
        const f = FIXTURE.binary[dtype];
        const as = nums(f.a), bs = nums(f.b);
        const a = Tensor.from(as, { dtype, backend }), b = Tensor.from(bs, { dtype, backend });
        const labels = as.map((v, i) => `${v}, ${bs[i]}`);
        sameBits(await values(a.floorDivide(b)), nums(f.floor_divide), "floorDivide", labels);
        sameBits(await values(a.remainder(b)), nums(f.remainder), "remainder", labels);
        sameBits(await values(a.fmod(b)), nums(f.fmod), "fmod", labels);
      });
    }
  }
});

Deno.test("rounding: int32 division is exact integer arithmetic on every backend", async (t) => {
  const f = FIXTURE.int32;
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const a = Tensor.from(f.a, { dtype: "int32", backend });
      const b = Tensor.from(f.b, { dtype: "int32", backend });
      for (
        const [op, y] of [
          ["floor_divide", a.floorDivide(b)],
          ["remainder", a.remainder(b)],
          ["fmod", a.fmod(b)],
        ] as const
      ) {
        strictEqual(y.dtype, "int32", op);
        deepStrictEqual(await values(y), f[op], op);
      }
      // Our definitions where PyTorch raises or traps: a zero divisor gives 0 for all three, and
      // -2^31 // -1 wraps to -2^31 (as two's complement -(-2^31) does), with remainder 0.
      const x = Tensor.from([5, -5, 0, -2147483648, -2147483648, 2147483647], {
        dtype: "int32",
        backend,
      });
      const d = Tensor.from([0, 0, 0, 0, -1, -1], { dtype: "int32", backend });
      deepStrictEqual(await values(x.floorDivide(d)), [0, 0, 0, 0, -2147483648, -2147483647]);
      deepStrictEqual(await values(x.remainder(d)), [0, 0, 0, 0, 0, 0]);
      deepStrictEqual(await values(x.fmod(d)), [0, 0, 0, 0, 0, 0]);
      // int32 rounding is the identity (as PyTorch).
      for (const op of ["floor", "ceil", "round", "trunc"] as const) {
        const y = x[op]();
        strictEqual(y.dtype, "int32");
        deepStrictEqual(await values(y), await values(x), op);
      }
    });
  }
});

Deno.test("rounding: exact past 2^24 where a float32 detour would not be", async () => {
  // 16777217 = 2^24 + 1 is not a float32: dividing through float32 would give 8388608.
  const a = Tensor.from([16777217, 2147483647, -2147483647], { dtype: "int32", backend: "cpu" });
  deepStrictEqual(await values(a.floorDivide(2)), [8388608, 1073741823, -1073741824]);
  deepStrictEqual(await values(a.remainder(2)), [1, 1, 1]);
  deepStrictEqual(await values(a.fmod(-2)), [1, 1, -1]);
});

Deno.test("rounding: dtype promotion and broadcasting as PyTorch", async () => {
  const dtypes = ["int32", "float32", "float64"] as const;
  for (const row of FIXTURE.promotion) {
    const x = Tensor.from([1, 2], { dtype: row.a, backend: "interpreter" });
    const y = Tensor.from([1, 2], { dtype: row.b, backend: "interpreter" });
    for (const op of ["floorDivide", "remainder", "fmod"] as const) {
      const want = row[op === "floorDivide" ? "floor_divide" : op];
      strictEqual(x[op](y).dtype, want, `${op}(${row.a}, ${row.b})`);
    }
  }
  strictEqual(dtypes.length, 3);
  const s = FIXTURE.int32_scalar;
  const xi = Tensor.from([7, -7], { dtype: "int32", backend: "interpreter" });
  strictEqual(xi.floorDivide(2.5).dtype, "float32"); // PyTorch: torch.float32
  deepStrictEqual(await values(xi.floorDivide(2.5)), nums(s.floor_divide_2_5));
  deepStrictEqual(await values(xi.remainder(2.5)), nums(s.remainder_2_5));
  deepStrictEqual(await values(xi.fmod(-2)), s.fmod_neg2);
  // A [2, 1] column against a [3] row broadcasts to [2, 3].
  const col = Tensor.from([[7], [-7]], { dtype: "float64", backend: "cpu" });
  const row = Tensor.from([2, -2, 3], { dtype: "float64", backend: "cpu" });
  const r = col.remainder(row);
  deepStrictEqual(r.shape, [2, 3]);
  deepStrictEqual(await values(r), [1, -1, 1, 1, -1, 2]);
  deepStrictEqual(await values(col.floorDivide(row)), [3, -4, 2, -4, 3, -3]);
});

/** Gradients of `f` with respect to both arguments. */
const grad2 = (f: (x: Tensor, y: Tensor) => Tensor) => (a: Tensor, b: Tensor): Tensor[] =>
  grad(f, { argnums: [0, 1] })(a, b) as unknown as Tensor[];

Deno.test("rounding: gradients match PyTorch", async (t) => {
  const f = FIXTURE.grad;
  const [ga, gb, gw] = [nums(f.a), nums(f.b), nums(f.w)];
  for (const backend of ["interpreter", "cpu"]) {
    await t.step(backend, async () => {
      const a = Tensor.from(ga, { dtype: "float64", backend });
      const b = Tensor.from(gb, { dtype: "float64", backend });
      const w = Tensor.from(gw, { dtype: "float64", backend });
      for (const op of ["remainder", "fmod"] as const) {
        const [da, db] = grad2((x, y) => x[op](y).mul(w).sum())(a, b);
        // Integer quotients times weights: one rounding, as PyTorch's (a zero's sign aside).
        sameBits(await values(da), nums(f[op].a), `d${op}/da`, ga.map(String), false);
        sameBits(await values(db), nums(f[op].b), `d${op}/db`, gb.map(String), false);
      }
      // PyTorch has no derivative for floor_divide; ours is zero (piecewise constant).
      const [qa, qb] = grad2((x, y) => x.floorDivide(y).mul(w).sum())(a, b);
      deepStrictEqual(await values(qa), ga.map(() => 0));
      deepStrictEqual(await values(qb), gb.map(() => 0));
      for (const op of ["floor", "ceil", "round", "trunc"] as const) {
        const dx = grad((x: Tensor) => x[op]().mul(w).sum())(a);
        deepStrictEqual(await values(dx), nums(f[op]), op);
      }
    });
  }
});

Deno.test("rounding: JVP is the transpose of the VJP, and vmap batches", async () => {
  const a = Tensor.from([5.5, -5.5, 7.25], { dtype: "float64", backend: "cpu" });
  const b = Tensor.from([2, 2, -3], { dtype: "float64", backend: "cpu" });
  const ta = Tensor.from([1, 2, 3], { dtype: "float64", backend: "cpu" });
  const tb = Tensor.from([0.5, -1, 2], { dtype: "float64", backend: "cpu" });
  // d fmod = ta - tb·trunc(a/b) = [1 - 0.5·2, 2 + 1·(-2), 3 - 2·(-2)];
  // d remainder = ta - tb·floor(a/b) = [1 - 0.5·2, 2 + 1·(-3), 3 - 2·(-3)].
  const [, dfmod] = jvp((x: Tensor, y: Tensor) => x.fmod(y), [a, b], [ta, tb]);
  deepStrictEqual(await values(dfmod as Tensor), [0, 0, 7]);
  const [, drem] = jvp((x: Tensor, y: Tensor) => x.remainder(y), [a, b], [ta, tb]);
  deepStrictEqual(await values(drem as Tensor), [0, -1, 9]);
  const [, dfl] = jvp((x: Tensor) => x.floor().add(x.round()), [a], [ta]);
  deepStrictEqual(await values(dfl as Tensor), [0, 0, 0]);
  const m = Tensor.from([[5.5, -5.5], [7.25, -0.5]], { dtype: "float64", backend: "cpu" });
  const batched = vmap((x: Tensor) => x.remainder(b.slice([[0, 2]])).add(x.round()))(m) as Tensor;
  deepStrictEqual(await values(batched), [1.5 + 6, 0.5 - 6, 1.25 + 7, 1.5 - 0]);
});

Deno.test("rounding: constants fold to the backends' values", () => {
  const c = (v: number, dtype: DType) => ir.constNode(v, [2], dtype);
  const value = (n: ir.Node) => (n.attrs as { value: number }).value;
  strictEqual(value(ir.binary("floor_div", c(-7, "int32"), c(2, "int32"))), -4);
  strictEqual(value(ir.binary("floor_div", c(5, "int32"), c(0, "int32"))), 0);
  strictEqual(value(ir.binary("fmod", c(-7, "float64"), c(2, "float64"))), -1);
  strictEqual(Object.is(value(ir.unary("round", c(-0.5, "float64"))), -0), true);
  strictEqual(value(ir.unary("round", c(2.5, "float32"))), 2);
});

Deno.test("rounding: bad input gets a clear error", () => {
  const yes = Tensor.from([1, 0], { dtype: "bool", backend: "interpreter" });
  const x = Tensor.from([1, 2], { dtype: "float32", backend: "interpreter" });
  throws(() => yes.floor(), /floor: expected a float32, float64 or int32 tensor, got bool/);
  throws(() => yes.round(), /round: expected .* got bool/);
  throws(
    () => x.fmod(yes),
    /fmod: expected float32, float64 or int32 operands, got float32 and bool/,
  );
  throws(() => yes.remainder(2), /remainder: .* got bool and a number/);
  throws(
    () => x.floorDivide(Tensor.from([1, 2, 3], { backend: "interpreter" })),
    /floorDivide: .*\[2\].*\[3\]/,
  );
  throws(() => ir.unary("floor", ir.constNode(1, [1], "int32")), /floor: expected a float32/);
});

Deno.test("rounding: fused into reductions, every backend gives the interpreter's float32", async (t) => {
  // Halves and quarters make ties for round; negative divisors exercise the sign fix-ups.
  const xs = Array.from({ length: 96 }, (_, i) => (i * 37 % 61 - 30) / 4);
  const ds = Array.from({ length: 96 }, (_, i) => [1.5, -2.25, 3, -0.75][i % 4]);
  const ints = Array.from({ length: 96 }, (_, i) => (i * 7919 % 2001 - 1000) * 1000003);
  const run = async (backend: string) => {
    const x = Tensor.from(xs, { dtype: "float32", shape: [8, 12], backend });
    const d = Tensor.from(ds, { dtype: "float32", shape: [8, 12], backend });
    const n = Tensor.from(ints, { dtype: "int32", shape: [8, 12], backend });
    return [
      await values(x.round().add(x.trunc()).sum(1)),
      await values(x.remainder(d).mul(x.floorDivide(d)).max(0)),
      await values(x.fmod(d).add(x.ceil()).sum()),
      await values(n.remainder(-997).add(n.floorDivide(3)).sum(0)),
    ];
  };
  const want = await run("interpreter");
  for (const backend of BACKENDS.slice(1)) {
    await t.step(backend, async () => {
      const got = await run(backend);
      got.forEach((g, k) => sameBits(g, want[k], `case ${k}`, g.map(String)));
    });
  }
});
