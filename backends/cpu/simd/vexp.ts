/**
 * `exp` of four float32 lanes in double precision with SIMD, giving exactly the float32 values
 * `Math.fround(Math.exp(x))` (and `Math.fround(1 / (1 + Math.exp(-x)))` for sigmoid) gives.
 *
 * Each lane is computed in double as 2^k · p(r), with `r = x - k·ln 2` in two parts (so
 * `|r| <= ln 2 / 2`) and `p` the degree-11 Taylor polynomial of e^r by Estrin's scheme
 * (truncation under 2^-47 relative, a few ulps of rounding): within 2^-44 of the true value, as
 * `Math.exp` (under 1 ulp) is. Two doubles that close round to different float32 values only
 * when the true value is near a float32 rounding boundary, so a lane whose double result lies
 * within 2^12 double ulps (2^-40 relative) of one (the low 29 bits of its mantissa near 2^28),
 * or whose float32 result would be subnormal (another grid; inputs below -87.3), is recomputed
 * by the caller through `Math.exp`: about one vector in 16,000 on ordinary inputs.
 * tools/verify_simd_exp.ts compares every float32 input with `Math.exp`.
 *
 * @module
 */

import { type Code, OP, V128 } from "../gemm/encoder.ts";

/** SIMD opcodes (after 0xfd) used here only. */
const X = {
  i8x16Shuffle: 0x0d,
  v128AnyTrue: 0x53,
  f32x4DemoteF64x2Zero: 0x5e,
  f64x2PromoteLowF32x4: 0x5f,
  i64x2Abs: 0xc0,
  i64x2Shl: 0xcb,
  i64x2Add: 0xce,
  i64x2Sub: 0xd1,
  i64x2LtS: 0xd8,
  f64x2Sub: 0xf1,
  f64x2Min: 0xf4,
  f64x2Max: 0xf5,
} as const;

/** ln 2 in two parts: the high part has trailing zeros, so k · LN2_HI is exact for |k| < 2^20. */
const LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
/** 1.5 · 2^52: adding it rounds to an integer, left in the low bits; and its bit pattern. */
const MAGIC = 6755399441055744, MAGIC_BITS = 0x4338000000000000n;
/** At and above this a float32 exp (or sigmoid) is normal (2^-126 = e^-87.34). */
const NORMAL_FROM = -87.3;
/** Double ulps around a float32 rounding boundary within which a lane goes to `Math.exp`. */
const NEAR = 4096n;

/** Locals of {@link emitExp}, declared once per function. */
export interface VexpLocals {
  readonly x: readonly number[];
  readonly k: readonly number[];
  readonly x2k: readonly number[];
  readonly r: readonly number[];
  readonly r2: readonly number[];
  readonly flag: number;
}

/** Declares the locals of {@link emitExp}. */
export function vexpLocals(f: Code): VexpLocals {
  const two = () => [f.local(V128), f.local(V128)];
  return { x: two(), k: two(), x2k: two(), r: two(), r2: two(), flag: f.local(V128) };
}

const bytes = (set: (v: DataView) => void) => {
  const b = new Uint8Array(8);
  set(new DataView(b.buffer));
  return [...b, ...b];
};
const splat64 = (f: Code, x: number) =>
  f.simd(OP.v128Const).op(...bytes((v) => v.setFloat64(0, x, true)));
const splatI64 = (f: Code, x: bigint) =>
  f.simd(OP.v128Const).op(...bytes((v) => v.setBigInt64(0, x, true)));

/** 1 / j! for j = 0…11. */
const COEF = Array.from({ length: 12 }, (_, j) => {
  let p = 1;
  for (let i = 2; i <= j; i++) p *= i;
  return 1 / p;
});

/**
 * Pushes the f32x4 of `exp` (or `sigmoid`) of the f32x4 in local `src`, then an i32 that is
 * non-zero when some lane must be recomputed with `Math.exp`.
 */
export function emitExp(f: Code, L: VexpLocals, src: number, sigmoid: boolean): void {
  const halves = [0, 1];
  f.simd(OP.v128Const).op(...new Array(16).fill(0)).set(L.flag);
  for (const h of halves) {
    f.get(src);
    // Lanes 2 and 3 to 0 and 1.
    if (h === 1) {
      f.get(src).simd(X.i8x16Shuffle).op(
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
      );
    }
    f.simd(X.f64x2PromoteLowF32x4).set(L.x[h]);
    // Subnormal float32 results (sigmoid(x) < 2^-126 below -87.3 too).
    f.get(L.flag).get(L.x[h]);
    splat64(f, NORMAL_FROM);
    f.simd(OP.f64x2Lt).simd(OP.v128Or).set(L.flag);
    f.get(L.x[h]);
    if (sigmoid) f.simd(OP.f64x2Neg);
    splat64(f, -150);
    f.simd(X.f64x2Max);
    splat64(f, 100);
    f.simd(X.f64x2Min).set(L.x[h]);
  }
  // k = round(x · log2 e) by adding 1.5 · 2^52 (the sum's low mantissa bits hold k).
  for (const h of halves) {
    f.get(L.x[h]);
    splat64(f, Math.LOG2E);
    f.simd(OP.f64x2Mul);
    splat64(f, MAGIC);
    f.simd(OP.f64x2Add).tee(L.k[h]);
    splat64(f, MAGIC);
    f.simd(X.f64x2Sub).set(L.x2k[h]);
  }
  for (const h of halves) {
    f.get(L.x[h]).get(L.x2k[h]);
    splat64(f, LN2_HI);
    f.simd(OP.f64x2Mul).simd(X.f64x2Sub).get(L.x2k[h]);
    splat64(f, LN2_LO);
    f.simd(OP.f64x2Mul).simd(X.f64x2Sub).tee(L.r[h]).get(L.r[h]).simd(OP.f64x2Mul).set(L.r2[h]);
  }
  /** Pushes c[j] + c[j+1]·r. */
  const pair = (h: number, j: number) => {
    splat64(f, COEF[j + 1]);
    f.get(L.r[h]).simd(OP.f64x2Mul);
    splat64(f, COEF[j]);
    f.simd(OP.f64x2Add);
  };
  /** Pushes (c[j] + c[j+1] r) + (c[j+2] + c[j+3] r)·r². */
  const quad = (h: number, j: number) => {
    pair(h, j);
    pair(h, j + 2);
    f.get(L.r2[h]).simd(OP.f64x2Mul).simd(OP.f64x2Add);
  };
  for (const h of halves) {
    // p = quad(0) + quad(4)·r⁴ + quad(8)·r⁸, times 2^k.
    quad(h, 0);
    quad(h, 4);
    f.get(L.r2[h]).get(L.r2[h]).simd(OP.f64x2Mul).tee(L.x[h]).simd(OP.f64x2Mul);
    f.simd(OP.f64x2Add);
    quad(h, 8);
    f.get(L.x[h]).get(L.x[h]).simd(OP.f64x2Mul).simd(OP.f64x2Mul).simd(OP.f64x2Add);
    // 2^k from its exponent bits (k within [-217, 145]: a normal double).
    f.get(L.k[h]);
    splatI64(f, 1023n - MAGIC_BITS);
    f.simd(X.i64x2Add).i32(52).simd(X.i64x2Shl);
    f.simd(OP.f64x2Mul).set(L.r[h]);
  }
  for (const h of halves) {
    const y = L.r[h];
    if (sigmoid) {
      // 1 / (1 + e^-x), as the JavaScript source computes it.
      splat64(f, 1);
      splat64(f, 1);
      f.get(y).simd(OP.f64x2Add).simd(OP.f64x2Div).set(y);
    }
    // Near a float32 rounding boundary: |low 29 mantissa bits - 2^28| < NEAR.
    f.get(L.flag).get(y);
    splatI64(f, 0x1fffffffn);
    f.simd(OP.v128And);
    splatI64(f, 0x10000000n);
    f.simd(X.i64x2Sub).simd(X.i64x2Abs);
    splatI64(f, NEAR);
    f.simd(X.i64x2LtS).simd(OP.v128Or).set(L.flag);
  }
  f.get(L.r[0]).simd(X.f32x4DemoteF64x2Zero).get(L.r[1]).simd(X.f32x4DemoteF64x2Zero);
  f.simd(X.i8x16Shuffle).op(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
  f.get(L.flag).simd(X.v128AnyTrue);
}
