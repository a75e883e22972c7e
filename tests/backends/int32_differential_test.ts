/**
 * Random programs over int32 leaves (with a float32 leaf mixed in) give identical values on the
 * interpreter, the CPU backend and WebGPU. Integer arithmetic is exact and wraps the same way
 * everywhere, and every float step is a single float32 operation of exactly representable
 * operands followed by a saturating cast, so the backends must agree bit for bit.
 *
 * @module
 */

import fc from "fast-check";
import { deepStrictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const SHAPE = [3, 4];
const N = 12;
const BACKENDS = ["cpu", ...(await hasWebGpu() ? webgpuBackends() : [])];

/** One step over earlier values (all int32 of shape [3, 4]); `f` is a float32 leaf. */
const STEPS: Record<string, (a: Tensor, b: Tensor, f: Tensor) => Tensor> = {
  add: (a, b) => a.add(b),
  sub: (a, b) => a.sub(b),
  mul: (a, b) => a.mul(b),
  neg: (a) => a.neg(),
  maximum: (a, b) => a.maximum(b),
  minimum: (a, b) => a.minimum(b),
  where: (a, b) => Tensor.where(a.lt(b), a, b.add(7)),
  rowSum: (a) => a.sum(1, { keepdims: true }).expand(SHAPE),
  colMax: (a) => a.max(0, { keepdims: true }).expand(SHAPE),
  colMin: (a) => a.min(0, { keepdims: true }).expand(SHAPE),
  argmax: (a, b) => a.argmax(1, { keepdims: true }).expand(SHAPE).mul(b),
  argmin: (a) => a.argmin(0, { keepdims: true }).expand(SHAPE),
  // int32 ⊕ float32 is float32; the cast back truncates and saturates.
  withFloat: (a, _b, f) => a.mul(f).cast("int32"),
  viaFloat: (a) => a.cast("float32").cast("int32"),
  sign: (a) => a.sign().mul(3),
  shift: (a) => a.pad([[0, 0], [1, 0]]).slice([null, [0, 4]]),
};
const NAMES = Object.keys(STEPS);

const int32 = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.integer({ min: -2147483648, max: 2147483647 }),
  fc.constantFrom(-2147483648, 2147483647, 0, 65536),
);
// Small integers and halves are exact in float32, so products with them are single roundings.
const float32 = fc.oneof(
  fc.integer({ min: -8, max: 8 }).map((v) => v / 2),
  fc.constantFrom(NaN, Infinity, -Infinity, 1e10),
);

const program = fc.record({
  a: fc.array(int32, { minLength: N, maxLength: N }),
  b: fc.array(int32, { minLength: N, maxLength: N }),
  f: fc.array(float32, { minLength: N, maxLength: N }),
  steps: fc.array(fc.tuple(fc.nat(NAMES.length - 1), fc.nat(), fc.nat()), {
    minLength: 1,
    maxLength: 6,
  }),
});

type Program = typeof program extends fc.Arbitrary<infer P> ? P : never;

function run(p: Program, backend: string): Tensor {
  const vals = [
    Tensor.from(p.a, { dtype: "int32", shape: SHAPE, backend }),
    Tensor.from(p.b, { dtype: "int32", shape: SHAPE, backend }),
  ];
  const f = Tensor.from(p.f, { shape: SHAPE, backend });
  for (const [op, i, j] of p.steps) {
    const a = vals[vals.length - 1 - (i % vals.length)], b = vals[j % vals.length];
    vals.push(STEPS[NAMES[op]](a, b, f));
  }
  return vals[vals.length - 1];
}

Deno.test("int32 random programs: every backend equals the interpreter exactly", async () => {
  await fc.assert(
    fc.asyncProperty(program, async (p) => {
      const ref = run(p, "interpreter");
      const want = Array.from(await ref.data());
      for (const backend of BACKENDS) {
        const got = run(p, backend);
        deepStrictEqual(got.dtype, ref.dtype, backend);
        deepStrictEqual(Array.from(await got.data()), want, backend);
      }
    }),
    { numRuns: 40, seed: 32 },
  );
});
