/**
 * The GEMM micro-kernel as a WebAssembly SIMD module, built once from a few lines of encoder
 * calls (no per-kernel code generation: sizes and addresses are runtime arguments).
 *
 * `block<MR>(pa, pb, pc, mTiles, nTiles, kc, first)` (`MR` one of {@link MRS}) multiplies packed
 * panels in the module's memory: A is `mTiles` micro-panels of `kc × MR` floats (`[k][r]`), B is
 * `nTiles` micro-panels of `kc × NR` floats (`[k][j]`), and C is row-major, `mTiles·MR` rows of
 * `nTiles·NR` floats, so that its rows go to the output as whole runs. Each C tile keeps one
 * float32 accumulator per output element (lanes are different output columns); for `k` in order it
 * adds `a[k][r] · b[k][j]` (an `f32x4.mul`, then an `f32x4.add`: every product and every partial
 * sum is rounded to float32, as the interpreter rounds them). The `fma` variant adds each product
 * with relaxed SIMD's `f32x4.relaxed_madd` instead (fused where the hardware has FMA: one rounding
 * instead of two, so its sums differ from the interpreter's in the last bits; opt-in, see
 * render.ts). `first` starts the tiles at +0 instead of loading them, so a long reduction runs as
 * consecutive `kc` blocks with the accumulators carried through C in float32.
 *
 * @module
 */

import { Code, encodeModule, I32, OP, V128 } from "./encoder.ts";

/** Rows of the micro tiles the module has: `block6` and `block4` (A values broadcast per k). */
export const MRS = [6, 4] as const;
/** Columns of a micro tile (two f32x4 vectors). */
export const NR = 8;
const NV = NR / 4;
/** K steps per iteration of the micro-kernel's main loop (the rest run one by one). */
const UNROLL = 4;

/** `f32x4.relaxed_madd` (a · b + c), a relaxed SIMD instruction (after 0xfd). */
const RELAXED_MADD = 0x105;

/**
 * Rows per micro tile for a contraction with `nM` rows: 6 × 8 tiles keep 12 accumulators and
 * run ≈ 5–10 % faster than 4 × 8, unless rounding `nM` up to 6 wastes more than that (8, 16
 * or 32 rows stay on 4).
 */
export function chooseMr(nM: number): (typeof MRS)[number] {
  const cost = (mr: number, speed: number) => Math.ceil(nM / mr) * mr / speed;
  return cost(6, 1.08) < cost(4, 1) ? 6 : 4;
}

function buildBlock(fma: boolean, mr: number): Code {
  // Parameters: pa, pb, pc, mTiles, nTiles, kc, first.
  const f = new Code(7);
  const [pa, pb, pc, mTiles, nTiles, kc, first] = [0, 1, 2, 3, 4, 5, 6];
  const nt = f.local(I32), mt = f.local(I32), a = f.local(I32), b = f.local(I32);
  const c = f.local(I32), k = f.local(I32), kMain = f.local(I32), ldc = f.local(I32);
  const acc = Array.from({ length: mr * NV }, () => f.local(V128));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  const zero = () => f.simd(0x0c).op(...new Array(16).fill(0)); // v128.const 0
  /** The products of K step `u` after `a` and `b`, added in order. */
  const step = (u: number) => {
    bv.forEach((x, v) => f.get(b).simd(OP.v128Load).memarg(4, 16 * v + u * NR * 4).set(x));
    for (let r = 0; r < mr; r++) {
      f.get(a).simd(OP.v128Load32Splat).memarg(2, 4 * r + u * mr * 4).set(av);
      for (let v = 0; v < NV; v++) {
        const x = acc[r * NV + v];
        if (fma) f.get(av).get(bv[v]).get(x).simd(RELAXED_MADD).set(x);
        else f.get(x).get(av).get(bv[v]).simd(OP.f32x4Mul).simd(OP.f32x4Add).set(x);
      }
    }
  };
  const advance = (steps: number) => {
    f.get(a).i32(mr * 4 * steps).op(OP.i32Add).set(a);
    f.get(b).i32(NR * 4 * steps).op(OP.i32Add).set(b);
  };
  f.get(kc).i32(-UNROLL).op(OP.i32And).set(kMain);
  f.get(nTiles).i32(NR * 4).op(OP.i32Mul).set(ldc); // bytes per row of C
  /** Pushes the address of row `r` of the tile at `c`. */
  const row = (r: number) => {
    f.get(c);
    if (r > 0) f.get(ldc).i32(r).op(OP.i32Mul).op(OP.i32Add);
  };
  f.forLoop(nt, () => f.i32(0), () => f.get(nTiles), () => {
    f.forLoop(mt, () => f.i32(0), () => f.get(mTiles), () => {
      // a = pa + mt·kc·mr·4; b = pb + nt·kc·NR·4; c = pc + mt·mr·ldc + nt·NR·4
      f.get(pa).get(mt).get(kc).op(OP.i32Mul).i32(mr * 4).op(OP.i32Mul).op(OP.i32Add).set(a);
      f.get(pb).get(nt).get(kc).op(OP.i32Mul).i32(NR * 4).op(OP.i32Mul).op(OP.i32Add).set(b);
      f.get(pc).get(mt).i32(mr).op(OP.i32Mul).get(ldc).op(OP.i32Mul).op(OP.i32Add)
        .get(nt).i32(NR * 4).op(OP.i32Mul).op(OP.i32Add).set(c);
      f.get(first).if();
      for (const x of acc) zero().set(x);
      f.else();
      acc.forEach((x, i) => {
        row(Math.floor(i / NV));
        f.simd(OP.v128Load).memarg(4, 16 * (i % NV)).set(x);
      });
      f.end();
      // Unrolled, the loop's own instructions stop competing with the arithmetic.
      f.forLoop(k, () => f.i32(0), () => f.get(kMain), () => {
        for (let u = 0; u < UNROLL; u++) step(u);
        advance(UNROLL);
      }, UNROLL);
      f.forLoop(k, () => f.get(kMain), () => f.get(kc), () => {
        step(0);
        advance(1);
      });
      acc.forEach((x, i) => {
        row(Math.floor(i / NV));
        f.get(x).simd(OP.v128Store).memarg(4, 16 * (i % NV));
      });
    });
  });
  return f;
}

/**
 * Row modes of {@link buildPack}: gather, gather where the row's mask says, zeros, vector copy.
 */
export const MODE = { gather: 0, check: 1, zero: 2, copy: 3 } as const;

const PACK_PARAMS = 12;

/**
 * `pack(dst, src, rows, inner, classes, modes, masks, stride, tiles, kcl, w, rEndLast)`: packs
 * `tiles` tiles of `w` (at most 8; copies need 4, 6 or 8) rows over `kcl` K steps as `[tile][k][w]`
 * floats at `dst`. Row `(t, kk)` reads `src[inner[kk] + rows[t·w + j]]` (i32 tables at `rows`,
 * `inner`; `src` a float address) for `j < rEnd` (`w`, or `rEndLast` in the last tile) and stores
 * zeros after that. How (see {@link MODE}) depends on the row's K class `c = classes[kk]` (i32) and
 * its tile: the mode byte at `modes + c·stride + t`. `copy` reads `w` consecutive floats from
 * `src + 4·(inner[kk] + rows[t·w])` with vector loads; `check` reads element `j` only where bit
 * `j` of the mask byte at `masks + c·stride + t` is set, else stores 0.
 */
function buildPack(): Code {
  const f = new Code(PACK_PARAMS);
  const [dst, src, rows, inner, classes, modes, masks, stride, tiles, kcl, w, rEndLast] = Array
    .from({ length: PACK_PARAMS }, (_, i) => i);
  const addr = f.local(I32), ok = f.local(I32), bits = f.local(I32), at = f.local(I32);
  const t = f.local(I32), kk = f.local(I32), j = f.local(I32), rEnd = f.local(I32);
  const mode = f.local(I32), base = f.local(I32), rowsT = f.local(I32), d = f.local(I32);
  // Byte offsets of a full tile's rows, and whether the tile is full (as wide as `w`).
  const ro = Array.from({ length: 8 }, () => f.local(I32)), full = f.local(I32);
  /** Rows of a full tile of 8, 6 or 4 rows unrolled (then j = w), else the `generic` loop. */
  const byWidth = (elem: (j: number) => void, generic: () => void) => {
    const widths = [8, 6, 4];
    for (const n of widths) {
      f.get(full).get(w).i32(n).op(OP.i32Eq).op(OP.i32And).if();
      for (let jj = 0; jj < n; jj++) elem(jj);
      f.i32(n).set(j).else();
    }
    generic();
    for (const _ of widths) f.end();
  };
  f.get(dst).set(d);
  f.forLoop(t, () => f.i32(0), () => f.get(tiles), () => {
    // rEnd = t == tiles - 1 ? rEndLast : w
    f.get(rEndLast).get(w).get(t).get(tiles).i32(1).op(OP.i32Sub).op(OP.i32Eq).select().set(rEnd);
    f.get(rows).get(t).get(w).op(OP.i32Mul).i32(4).op(OP.i32Mul).op(OP.i32Add).set(rowsT);
    // A full tile narrower than 8 reads entries past its rows: still table memory, never used.
    f.get(rEnd).get(w).op(OP.i32Eq).tee(full).if();
    ro.forEach((r, jj) =>
      f.get(rowsT).op(OP.i32Load).memarg(2, 4 * jj).i32(4).op(OP.i32Mul).set(r)
    );
    f.end();
    f.forLoop(kk, () => f.i32(0), () => f.get(kcl), () => {
      // at = classes[kk]·stride + t; mode = modes[at]
      f.get(classes).get(kk).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.i32Load).memarg(2)
        .get(stride).op(OP.i32Mul).get(t).op(OP.i32Add).set(at);
      f.get(modes).get(at).op(OP.i32Add).op(OP.i32Load8U).memarg(0, 0).set(mode);
      // base = src + 4·inner[kk]
      f.get(src).get(inner).get(kk).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.i32Load).memarg(2)
        .i32(4).op(OP.i32Mul).op(OP.i32Add).set(base);
      f.get(mode).i32(MODE.copy).op(OP.i32Eq).if();
      {
        f.get(base).get(rowsT).op(OP.i32Load).memarg(2).i32(4).op(OP.i32Mul).op(OP.i32Add)
          .set(base);
        // Four floats at a time, then two (a tile of 6) as one 64-bit word: exactly w floats.
        f.forLoop(j, () => f.i32(0), () => f.get(w).i32(-4).op(OP.i32And), () => {
          f.get(d).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add);
          f.get(base).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add).simd(OP.v128Load).memarg(0);
          f.simd(OP.v128Store).memarg(0);
        }, 4);
        f.get(w).i32(2).op(OP.i32And).if();
        f.get(d).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add);
        f.get(base).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.i64Load).memarg(2);
        f.op(OP.i64Store).memarg(2);
        f.end();
      }
      f.else();
      {
        f.get(mode).i32(MODE.gather).op(OP.i32Eq).if();
        byWidth((jj) => {
          f.get(d).get(base).get(ro[jj]).op(OP.i32Add).op(OP.f32Load).memarg(2);
          f.op(OP.f32Store).memarg(2, 4 * jj);
        }, () =>
          f.forLoop(j, () => f.i32(0), () => f.get(rEnd), () => {
            f.get(d).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add);
            f.get(base).get(rowsT).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.i32Load)
              .memarg(2).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.f32Load).memarg(2);
            f.op(OP.f32Store).memarg(2);
          }));
        f.else();
        f.i32(0).set(j);
        f.get(mode).i32(MODE.check).op(OP.i32Eq).if();
        f.get(masks).get(at).op(OP.i32Add).op(OP.i32Load8U).memarg(0, 0).set(bits);
        // An invalid element reads a harmless address (dst) and stores 0 instead.
        byWidth((jj) => {
          f.get(bits).i32(jj).op(OP.i32ShrU).i32(1).op(OP.i32And).set(ok);
          f.get(d);
          f.get(base).get(ro[jj]).op(OP.i32Add).get(dst).get(ok).select().op(OP.f32Load).memarg(2);
          f.f32(0).get(ok).select().op(OP.f32Store).memarg(2, 4 * jj);
        }, () =>
          f.forLoop(j, () => f.i32(0), () => f.get(rEnd), () => {
            f.get(bits).get(j).op(OP.i32ShrU).i32(1).op(OP.i32And).set(ok);
            f.get(base).get(rowsT).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add).op(OP.i32Load)
              .memarg(2).i32(4).op(OP.i32Mul).op(OP.i32Add).get(dst).get(ok).select().set(addr);
            f.get(d).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add);
            f.get(addr).op(OP.f32Load).memarg(2).f32(0).get(ok).select();
            f.op(OP.f32Store).memarg(2);
          }));
        f.end();
        f.end();
        // Zeros after the last row (all of them in zero mode).
        f.block().get(j).get(w).op(OP.i32GeS).brIf(0).loop();
        f.get(d).get(j).i32(4).op(OP.i32Mul).op(OP.i32Add).f32(0).op(OP.f32Store).memarg(2);
        f.get(j).i32(1).op(OP.i32Add).tee(j).get(w).op(OP.i32LtS).brIf(0);
        f.end().end();
      }
      f.end();
      f.get(d).get(w).i32(4).op(OP.i32Mul).op(OP.i32Add).set(d);
    });
  });
  return f;
}

const built = new Map<boolean, Uint8Array<ArrayBuffer>>();

/**
 * The module's binary (imports memory `env.mem`, exports `block6`, `block4`, `pack`), with fused
 * multiply-adds or without; built on first use.
 */
export function microKernelBytes(fma = false): Uint8Array<ArrayBuffer> {
  let bytes = built.get(fma);
  if (bytes !== undefined) return bytes;
  bytes = encodeModule({
    memories: [{ name: "mem", shared: false, initial: 1 }],
    imports: [],
    functions: [
      ...MRS.map((mr) => ({
        params: [I32, I32, I32, I32, I32, I32, I32],
        results: [],
        code: buildBlock(fma, mr),
        exportAs: `block${mr}`,
      })),
      {
        params: new Array(PACK_PARAMS).fill(I32),
        results: [],
        code: buildPack(),
        exportAs: "pack",
      },
    ],
    globals: 0,
  });
  built.set(fma, bytes);
  return bytes;
}

let relaxed: boolean | undefined;

/** Whether this engine compiles relaxed SIMD (`f32x4.relaxed_madd`). */
export function relaxedSimd(): boolean {
  if (relaxed === undefined) {
    try {
      relaxed = typeof WebAssembly === "object" && WebAssembly.validate(microKernelBytes(true));
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}
