/**
 * The int32 dtype and argmax/argmin on the interpreter, the CPU backend and WebGPU (three kernel
 * styles), against PyTorch 1.13 (tests/fixtures/int32.json, made by tools/fixtures/int32.py).
 * Integer results are exact, so they are compared for equality; WebGPU, which has no float64,
 * runs the float cases in float32.
 *
 * @module
 */

import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { type DType, gradients, Tensor } from "../../mod.ts";
import { crossEntropy } from "../../nn/mod.ts";
import * as ir from "../../core/ir.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const FIXTURE = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/int32.json", import.meta.url)),
);
const num = (v: number | string): number => (typeof v === "string" ? Number(v) : v);
const BACKENDS = ["interpreter", "cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];
const floatOf = (backend: string): DType => (backend.startsWith("webgpu") ? "float32" : "float64");
const ints = (v: number[], backend: string) => Tensor.from(v, { dtype: "int32", backend });
const values = async (t: Tensor) => Array.from(await t.data());

Deno.test("int32: wrap-around arithmetic and reductions match PyTorch on every backend", async (t) => {
  const w = FIXTURE.wrap;
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const a = ints(w.a, backend), b = ints(w.b, backend);
      for (const [name, r] of [["add", a.add(b)], ["sub", a.sub(b)], ["mul", a.mul(b)]] as const) {
        strictEqual(r.dtype, "int32", name);
        deepStrictEqual(await values(r), w[name], name);
      }
      deepStrictEqual(await values(a.neg()), w.neg);
      const sum = a.sum();
      strictEqual(sum.dtype, "int32"); // PyTorch sums to int64; we have no int64 and wrap
      strictEqual(await sum.item(), w.sum);
      strictEqual(await a.max().item(), w.max);
      // min(x) = ~max(~x): a negation would map -2^31 to itself.
      strictEqual(await a.min().item(), w.min);
      deepStrictEqual(
        await values(a.minimum(b)),
        w.a.map((x: number, i: number) => Math.min(x, w.b[i])),
      );
      // Row sums (several outputs) and a fused sum of products, wrapping the same way.
      const m = Tensor.from([...w.a, ...w.b], { dtype: "int32", shape: [2, 6], backend });
      deepStrictEqual(await values(m.sum(1)), [
        w.sum,
        w.b.reduce((s: number, x: number) => (s + x) | 0, 0),
      ]);
      deepStrictEqual(
        await values(m.max(0)),
        w.a.map((x: number, i: number) => Math.max(x, w.b[i])),
      );
      deepStrictEqual(
        await values(m.min(0)),
        w.a.map((x: number, i: number) => Math.min(x, w.b[i])),
      );
    });
  }
});

Deno.test("int32: casts at the edges match PyTorch; NaN and out-of-range floats saturate", async (t) => {
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const fx = floatOf(backend);
      const c = fx === "float64" ? FIXTURE.cast_f64_to_int32 : FIXTURE.cast_f32_to_int32;
      const x = Tensor.from(c.x, { dtype: fx, backend });
      deepStrictEqual(await values(x.cast("int32")), c.y);
      // Not defined by PyTorch (x86 gives -2^31 for all of these): we truncate and saturate.
      const odd = Tensor.from([NaN, Infinity, -Infinity, 3e9, -3e9], { dtype: fx, backend });
      deepStrictEqual(await values(odd.cast("int32")), [
        0,
        2147483647,
        -2147483648,
        2147483647,
        -2147483648,
      ]);
      const i = FIXTURE.cast_int32_to_float;
      const xi = ints(i.x, backend);
      deepStrictEqual(await values(xi.cast("float32")), i.f32);
      if (fx === "float64") deepStrictEqual(await values(xi.cast("float64")), i.f64);
      deepStrictEqual(await values(xi.cast("bool")), i.bool);
      deepStrictEqual(
        await values(xi.gt(0).cast("int32")),
        i.x.map((v: number) => (v > 0 ? 1 : 0)),
      );
    });
  }
});

Deno.test("int32: the promotion table matches torch.promote_types", () => {
  const mk = (d: DType) => Tensor.ones([2], { dtype: d });
  for (const row of FIXTURE.promotion) {
    const a = mk(row.a), b = mk(row.b);
    const label = `${row.a} ⊕ ${row.b}`;
    if (row.mul !== undefined) strictEqual(a.mul(b).dtype, row.mul, `mul ${label}`);
    if (row.mul !== undefined) strictEqual(a.add(b).dtype, row.promote, `add ${label}`);
    strictEqual(a.div(b).dtype, row.div, `div ${label}`);
    strictEqual(a.lt(b).dtype, row.lt, `lt ${label}`);
    strictEqual(Tensor.where(a.gt(0), a, b).dtype, row.promote, `where ${label}`);
  }
  const s = FIXTURE.scalar_promotion;
  const x = Tensor.from([1, -2], { dtype: "int32" });
  strictEqual(x.add(2).dtype, s.int_plus_int);
  strictEqual(x.add(0.5).dtype, s.int_plus_float);
  strictEqual(x.div(2).dtype, s.int_div_int);
  strictEqual(x.exp().dtype, s.exp_of_int);
  strictEqual(x.sqrt().dtype, s.sqrt_of_int);
  strictEqual(x.neg().dtype, s.neg_of_int);
  strictEqual(x.max().dtype, s.max_of_int);
  strictEqual(Tensor.where(x.gt(0), x, 0.5).dtype, "float32");
});

Deno.test("int32: mixed arithmetic, true division and float ops of ints", async (t) => {
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const x = ints([7, -7, 3, 0], backend);
      deepStrictEqual(await values(x.div(2)), [3.5, -3.5, 1.5, 0]);
      deepStrictEqual(await values(x.add(0.5)), [7.5, -6.5, 3.5, 0.5]);
      deepStrictEqual(await values(x.mul(Tensor.from([0.5, 2, 1, 1], { backend }))), [
        3.5,
        -14,
        3,
        0,
      ]);
      const root = x.sqrt();
      strictEqual(root.dtype, "float32");
      deepStrictEqual(await values(root.ne(root)), [0, 1, 0, 0]); // sqrt(-7) is NaN
      deepStrictEqual(await values(x.abs()), [7, 7, 3, 0]);
      deepStrictEqual(await values(x.sign()), [1, -1, 1, 0]);
      deepStrictEqual(await values(x.eq(ints([7, 7, 3, 1], backend))), [1, 0, 1, 0]);
      deepStrictEqual(await x.toArray(), [7, -7, 3, 0]);
      // An int32 contraction stays on the exact integer path.
      const a = Tensor.from([1, 2, 3, 4, 5, 6], { dtype: "int32", shape: [2, 3], backend });
      const b = Tensor.from([7, 8, 9, 10, 11, 12], { dtype: "int32", shape: [3, 2], backend });
      const p = a.matmul(b);
      strictEqual(p.dtype, "int32");
      deepStrictEqual(await p.toArray(), [[58, 64], [139, 154]]);
      const big = Tensor.full([64, 64], 65536, { dtype: "int32", backend });
      // Each entry is 64 · 2^32, 0 after wrapping (a float GEMM path would give 2.7e11).
      deepStrictEqual(new Set(await values(big.matmul(big))), new Set([0]));
    });
  }
});

Deno.test("argmax/argmin: PyTorch's NaN, tie and infinity rules on every backend", async (t) => {
  for (const backend of BACKENDS) {
    await t.step(backend, async () => {
      const fx = floatOf(backend);
      for (const r of FIXTURE.arg_rows) {
        const x = Tensor.from(r.x.map(num), { dtype: fx, backend });
        const label = JSON.stringify(r.x);
        const am = x.argmax(0);
        strictEqual(am.dtype, "int32");
        deepStrictEqual(am.shape, []);
        strictEqual(await am.item(), r.argmax, `argmax ${label}`);
        strictEqual(await x.argmin(0).item(), r.argmin, `argmin ${label}`);
      }
      const m = FIXTURE.arg_matrix;
      const x = Tensor.from(m.x.map((row: (number | string)[]) => row.map(num)), {
        dtype: fx,
        backend,
      });
      deepStrictEqual(await values(x.argmax(0)), m.argmax0);
      deepStrictEqual(await values(x.argmax(1)), m.argmax1);
      deepStrictEqual(await values(x.argmax(-1)), m.argmax1);
      deepStrictEqual(await values(x.argmin(0)), m.argmin0);
      deepStrictEqual(await values(x.argmin(1)), m.argmin1);
      deepStrictEqual(await x.argmax(1, { keepdims: true }).toArray(), m.argmax1_keepdim);
      // Integer and size-1 inputs.
      const xi = ints([3, -2147483648, 2147483647, 2147483647, -2147483648], backend);
      strictEqual(await xi.argmax(0).item(), 2);
      strictEqual(await xi.argmin(0).item(), 1);
      deepStrictEqual(await values(Tensor.from([[4], [-1]], { backend }).argmax(1)), [0, 0]);
    });
  }
});

Deno.test("argmax/argmin: an empty axis is refused when the node is built", () => {
  const x = Tensor.zeros([2, 0]);
  throws(() => x.argmax(1), /argmax: cannot take the argmax over empty axis 1 of shape \[2, 0\]/);
  throws(() => x.argmin(-1), /argmin: cannot take the argmin over empty axis 1/);
  deepStrictEqual(x.argmax(0).shape, [0]);
  throws(() => x.argmax(2), /argmax/);
});

Deno.test("dtypes: unknown names and unsupported uses fail when the node is built", () => {
  const list = /expected one of float32, float64, int32, bool/;
  throws(
    () => Tensor.from([1], { dtype: "float16" as DType }),
    /Tensor\.from: unknown dtype "float16"/,
  );
  throws(() => Tensor.from([1], { dtype: "float16" as DType }), list);
  throws(() => Tensor.zeros([2], { dtype: "int8" as DType }), /Tensor\.full: unknown dtype "int8"/);
  throws(
    () => Tensor.arange(3, undefined, 1, { dtype: "u8" as DType }),
    /Tensor\.arange: unknown dtype "u8"/,
  );
  throws(() => Tensor.ones([2]).cast("float16" as DType), /cast: unknown dtype "float16".*int32/);
  throws(
    () => Tensor.rand([2], { dtype: "int32" }),
    /Tensor\.rand: expected a float32 or float64 dtype, got int32/,
  );
  throws(
    () => Tensor.randn([2], { dtype: "bool" }),
    /Tensor\.randn: expected a float32 or float64 dtype/,
  );
  throws(
    () => Tensor.from([1, 2], { dtype: "int32" }).mean(),
    /mean: expected a float or bool tensor, got int32\[2\]/,
  );
  const i = Tensor.from([1, 2], { dtype: "int32" });
  throws(
    () => gradients(i.cast("float32").sum(), [i]),
    /gradients: input 0 has dtype int32.*no gradient/,
  );
  throws(() => gradients(i.sum(), []), /gradients: the output has dtype int32/);
});

Deno.test("int32: IR constructors refuse float-only ops on ints and fold with wrap-around", () => {
  const i = ir.bufferNode({ id: -1 }, [2], "int32");
  throws(() => ir.unary("exp", i), /exp: expected a float32 or float64 operand, got int32\[2\]/);
  throws(() => ir.unary("recip", i), /recip: expected a float32 or float64 operand, got int32/);
  strictEqual(ir.unary("neg", i).dtype, "int32");
  const b = ir.cast(i, "bool");
  throws(() => ir.reduce("reduce_sum", b, [0]), /reduce_sum: expected a float32, float64 or int32/);
  throws(() => ir.binary("add", b, b), /add: expected float or int32 operands, got bool\[2\]/);
  const big = ir.constNode(2147483647, [], "int32");
  const one = ir.constNode(1, [], "int32");
  strictEqual((ir.binary("add", big, one).attrs as { value: number }).value, -2147483648);
  strictEqual((ir.binary("mul", big, big).attrs as { value: number }).value, 1);
  strictEqual(
    (ir.cast(ir.constNode(-2.9, [], "float64"), "int32").attrs as { value: number }).value,
    -2,
  );
  strictEqual(
    (ir.cast(ir.constNode(NaN, [], "float32"), "int32").attrs as { value: number }).value,
    0,
  );
});

Deno.test("int32: paths through ints carry no gradient", async () => {
  const x = Tensor.from([1.7, -2.5, 3.2], { dtype: "float64" });
  // y = x · trunc(x): the truncation is a step function, so dy/dx = trunc(x).
  const y = x.mul(x.cast("int32")).sum();
  const [dx] = gradients(y, [x]);
  deepStrictEqual(await values(dx), [1, -2, 3]);
});

Deno.test("int32: creation, item and crossEntropy class targets", async () => {
  deepStrictEqual(await values(Tensor.arange(4, undefined, 1, { dtype: "int32" })), [0, 1, 2, 3]);
  deepStrictEqual(await values(Tensor.full([2], -3.7, { dtype: "int32" })), [-3, -3]);
  deepStrictEqual(await values(Tensor.ones([2], { dtype: "int32" })), [1, 1]);
  const fromTyped = Tensor.from(new Int32Array([5, -6]));
  strictEqual(fromTyped.dtype, "int32");
  strictEqual(await Tensor.from([2147483647], { dtype: "int32" }).item(), 2147483647);
  const logits = Tensor.from([[2, 1, 0.5], [0.1, 3, -1]], { dtype: "float64" });
  const asInt = crossEntropy(logits, Tensor.from([0, 2], { dtype: "int32" }));
  const asFloat = crossEntropy(logits, Tensor.from([0, 2], { dtype: "float64" }));
  strictEqual(await asInt.item(), await asFloat.item());
});
