/**
 * The GEMM micro-kernel as a WebAssembly SIMD module, built once from a few lines of encoder
 * calls (no per-kernel code generation: sizes and addresses are runtime arguments).
 *
 * `block(pa, pb, pc, mTiles, nTiles, kc, first)` multiplies packed panels in the module's memory:
 * A is `mTiles` micro-panels of `kc × MR` floats (`[k][r]`), B is `nTiles` micro-panels of
 * `kc × NR` floats (`[k][j]`), and C holds one `MR × NR` tile per (mt, nt) pair
 * (`[mt][nt][r][j]`). Each C tile keeps one float32 accumulator per output element (lanes are
 * different output columns); for `k` in order it adds `a[k][r] · b[k][j]` (an `f32x4.mul`, then
 * an `f32x4.add`: every product and every partial sum is rounded to float32, as the interpreter
 * rounds them). No fused multiply-add (relaxed SIMD's `f32x4.relaxed_madd`) on purpose: one
 * rounding instead of two would change the float32 sums. `first` starts the tiles at +0
 * instead of loading them, so a long reduction runs as consecutive `kc` blocks with the
 * accumulators carried through C in float32.
 *
 * @module
 */

import { Code, encodeModule, I32, OP, V128 } from "./encoder.ts";

/** Rows of a micro tile (A values broadcast per k). */
export const MR = 4;
/** Columns of a micro tile (two f32x4 vectors). */
export const NR = 8;
const NV = NR / 4;

function buildBlock(): Code {
  // Parameters: pa, pb, pc, mTiles, nTiles, kc, first.
  const f = new Code(7);
  const [pa, pb, pc, mTiles, nTiles, kc, first] = [0, 1, 2, 3, 4, 5, 6];
  const nt = f.local(I32), mt = f.local(I32), a = f.local(I32), b = f.local(I32);
  const c = f.local(I32), k = f.local(I32);
  const acc = Array.from({ length: MR * NV }, () => f.local(V128));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  const zero = () => f.simd(0x0c).op(...new Array(16).fill(0)); // v128.const 0
  f.forLoop(nt, () => f.i32(0), () => f.get(nTiles), () => {
    f.forLoop(mt, () => f.i32(0), () => f.get(mTiles), () => {
      // a = pa + mt·kc·MR·4; b = pb + nt·kc·NR·4; c = pc + (mt·nTiles + nt)·MR·NR·4
      f.get(pa).get(mt).get(kc).op(OP.i32Mul).i32(MR * 4).op(OP.i32Mul).op(OP.i32Add).set(a);
      f.get(pb).get(nt).get(kc).op(OP.i32Mul).i32(NR * 4).op(OP.i32Mul).op(OP.i32Add).set(b);
      f.get(pc).get(mt).get(nTiles).op(OP.i32Mul).get(nt).op(OP.i32Add).i32(MR * NR * 4)
        .op(OP.i32Mul).op(OP.i32Add).set(c);
      f.get(first).if();
      for (const x of acc) zero().set(x);
      f.else();
      acc.forEach((x, i) => f.get(c).simd(OP.v128Load).memarg(4, 16 * i).set(x));
      f.end();
      f.forLoop(k, () => f.i32(0), () => f.get(kc), () => {
        bv.forEach((x, v) => f.get(b).simd(OP.v128Load).memarg(4, 16 * v).set(x));
        for (let r = 0; r < MR; r++) {
          f.get(a).simd(OP.v128Load32Splat).memarg(2, 4 * r).set(av);
          for (let v = 0; v < NV; v++) {
            const x = acc[r * NV + v];
            f.get(x).get(av).get(bv[v]).simd(OP.f32x4Mul).simd(OP.f32x4Add).set(x);
          }
        }
        f.get(a).i32(MR * 4).op(OP.i32Add).set(a);
        f.get(b).i32(NR * 4).op(OP.i32Add).set(b);
      });
      acc.forEach((x, i) => f.get(c).get(x).simd(OP.v128Store).memarg(4, 16 * i));
    });
  });
  return f;
}

let bytes: Uint8Array<ArrayBuffer> | undefined;

/** The module's binary (imports memory `env.mem`, exports `block`); built on first use. */
export function microKernelBytes(): Uint8Array<ArrayBuffer> {
  bytes ??= encodeModule({
    memories: [{ name: "mem", shared: false, initial: 1 }],
    imports: [],
    functions: [{
      params: [I32, I32, I32, I32, I32, I32, I32],
      results: [],
      code: buildBlock(),
      exportAs: "block",
    }],
    globals: 0,
  });
  return bytes;
}
