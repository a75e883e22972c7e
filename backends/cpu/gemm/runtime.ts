/**
 * The per-thread GEMM driver: packs operand panels into a WebAssembly memory, runs the SIMD
 * micro-kernel ({@link ./micro_kernel.ts}) over them and writes the tiles to the output.
 *
 * {@link gemmRuntime} must be self-contained (it references nothing outside itself): its source
 * text is embedded in kernel sources and evaluated once per thread, main thread and workers
 * alike, each with its own memory for panels (the operands live in SharedArrayBuffers, which a
 * wasm memory cannot alias; packing is a copy anyway).
 *
 * A job is cut into units: one batch index × one block of `mc` rows × one block of `nc` columns.
 * A unit walks K in blocks of `KC` (in order), packing A's rows and B's columns of that block
 * (zeros where a padding condition fails, and past the tails of M and N), and carries its
 * float32 accumulators between blocks in the C scratch. Units own disjoint outputs, so threads
 * may take any of them; results do not depend on how units are shared out.
 *
 * @module
 */

/** What {@link gemmRuntime} returns: `run(plan, bufs, start, end)` computes units `[start, end)`. */
export interface GemmRuntime {
  /** Runs units `[start, end)` of the job described by `plan` (a {@link GemmJob} as JSON). */
  run(plan: string, bufs: ArrayLike<number>[], start: number, end: number): void;
}

/** A job for {@link gemmRuntime}: the contraction plus its block sizes (see recognise.ts). */
export interface GemmJob {
  /** Extents of the batch loops. */
  readonly batch: readonly number[];
  /** Extents of the M loops. */
  readonly m: readonly number[];
  /** Extents of the N loops. */
  readonly n: readonly number[];
  /** Extents of the reduction loops, in summation order. */
  readonly k: readonly number[];
  /** The operand broadcast along rows. */
  readonly a: JobOperand;
  /** The operand spread over vector lanes. */
  readonly b: JobOperand;
  /** The output buffer and index (`rows` over M, `inner` over N). */
  readonly out: { readonly buffer: number; readonly index: JobParts };
  /** Rows per unit (a multiple of `mr`). */
  readonly mc: number;
  /** Columns per unit (a multiple of `nr`). */
  readonly nc: number;
  /** Length of a K block. */
  readonly kc: number;
  /** Rows of the micro-kernel's tile. */
  readonly mr: number;
  /** Columns of the micro-kernel's tile. */
  readonly nr: number;
}

/** An affine index split by loop group (see `AffineParts` in recognise.ts). */
export interface JobParts {
  /** Constant part. */
  readonly c: number;
  /** Coefficients of the batch loops. */
  readonly batch: readonly number[];
  /** Coefficients of the M (or N) loops. */
  readonly rows: readonly number[];
  /** Coefficients of the K (or, for the output, N) loops. */
  readonly inner: readonly number[];
}

/** One operand: buffer, index and padding conditions. */
export interface JobOperand {
  /** Schedule buffer. */
  readonly buffer: number;
  /** Element index. */
  readonly index: JobParts;
  /** Conditions `lo <= index < hi` for reading (else the value is 0). */
  readonly conds: readonly { readonly index: JobParts; readonly lo: number; readonly hi: number }[];
}

/**
 * Creates the driver around the micro-kernel module `bytes`. Self-contained: see the module
 * comment.
 */
export function gemmRuntime(bytes: Uint8Array<ArrayBuffer>): GemmRuntime {
  const module = new WebAssembly.Module(bytes);
  const mem = new WebAssembly.Memory({ initial: 8 });
  const inst = new WebAssembly.Instance(module, { env: { mem } });
  const block = inst.exports.block as (
    pa: number,
    pb: number,
    pc: number,
    mTiles: number,
    nTiles: number,
    kc: number,
    first: number,
  ) => void;
  let heap = new Float32Array(mem.buffer);

  /** Row-major offsets `Σ coef_i · idx_i` of every point of a loop group. */
  function table(extents: readonly number[], coefs: readonly number[]): Int32Array {
    let t = new Int32Array([0]);
    for (let i = 0; i < extents.length; i++) {
      const e = extents[i], c = coefs[i];
      const next = new Int32Array(t.length * e);
      for (let o = 0; o < t.length; o++) {
        for (let j = 0; j < e; j++) next[o * e + j] = t[o] + j * c;
      }
      t = next;
    }
    return t;
  }

  interface Tables {
    c: number;
    batch: Int32Array;
    rows: Int32Array;
    inner: Int32Array;
  }
  interface Prepared {
    job: GemmJob;
    nB: number;
    nM: number;
    nN: number;
    nK: number;
    mBlocks: number;
    nBlocks: number;
    a: { buffer: number; index: Tables; conds: { t: Tables; lo: number; hi: number }[] };
    b: { buffer: number; index: Tables; conds: { t: Tables; lo: number; hi: number }[] };
    out: Tables;
    lo: Int32Array;
    hi: Int32Array;
  }
  const prepared = new Map<string, Prepared>();
  const size = (e: readonly number[]) => e.reduce((p, x) => p * x, 1);

  function prepare(text: string): Prepared {
    const job = JSON.parse(text) as GemmJob;
    const tables = (p: JobParts, rows: readonly number[], inner: readonly number[]): Tables => ({
      c: p.c,
      batch: table(job.batch, p.batch),
      rows: table(rows, p.rows),
      inner: table(inner, p.inner),
    });
    const operand = (o: JobOperand, rows: readonly number[]) => ({
      buffer: o.buffer,
      index: tables(o.index, rows, job.k),
      conds: o.conds.map((c) => ({ t: tables(c.index, rows, job.k), lo: c.lo, hi: c.hi })),
    });
    const nM = size(job.m), nN = size(job.n);
    const nConds = Math.max(job.a.conds.length, job.b.conds.length);
    return {
      job,
      nB: size(job.batch),
      nM,
      nN,
      nK: size(job.k),
      mBlocks: Math.ceil(nM / job.mc),
      nBlocks: Math.ceil(nN / job.nc),
      a: operand(job.a, job.m),
      b: operand(job.b, job.n),
      out: tables(job.out.index, job.m, job.n),
      lo: new Int32Array(nConds),
      hi: new Int32Array(nConds),
    };
  }

  /**
   * Packs rows `[r0, r0 + count)` (tiles of `w` rows, zero past `nR`) of K block
   * `[k0, k0 + kcl)` of an operand at `dst` as `[tile][k][w]`.
   */
  function pack(
    p: Prepared,
    o: Prepared["a"],
    src: ArrayLike<number>,
    bi: number,
    r0: number,
    tiles: number,
    nR: number,
    w: number,
    k0: number,
    kcl: number,
    dst: number,
  ): void {
    const h = heap;
    const rows = o.index.rows, inner = o.index.inner;
    const ob = o.index.c + o.index.batch[bi];
    const conds = o.conds, nc = conds.length, lo = p.lo, hi = p.hi;
    for (let t = 0; t < tiles; t++) {
      const rb = r0 + t * w;
      const rEnd = Math.min(w, nR - rb);
      for (let kk = 0; kk < kcl; kk++) {
        const base = ob + inner[k0 + kk];
        const d = dst + (t * kcl + kk) * w;
        if (nc === 0) {
          for (let j = 0; j < rEnd; j++) h[d + j] = src[base + rows[rb + j]];
        } else {
          for (let q = 0; q < nc; q++) {
            const ct = conds[q].t;
            const s = ct.c + ct.batch[bi] + ct.inner[k0 + kk];
            lo[q] = conds[q].lo - s;
            hi[q] = conds[q].hi - s;
          }
          for (let j = 0; j < rEnd; j++) {
            let ok = true;
            for (let q = 0; q < nc; q++) {
              const x = conds[q].t.rows[rb + j];
              if (x < lo[q] || x >= hi[q]) {
                ok = false;
                break;
              }
            }
            h[d + j] = ok ? src[base + rows[rb + j]] : 0;
          }
        }
        for (let j = rEnd < 0 ? 0 : rEnd; j < w; j++) h[d + j] = 0;
      }
    }
  }

  function ensure(floats: number): void {
    const need = Math.ceil((floats * 4) / 65536) - mem.buffer.byteLength / 65536;
    if (need > 0) {
      mem.grow(need);
      heap = new Float32Array(mem.buffer);
    }
  }

  function run(text: string, bufs: ArrayLike<number>[], start: number, end: number): void {
    let p = prepared.get(text);
    if (p === undefined) prepared.set(text, p = prepare(text));
    const { job, nM, nN, nK, mBlocks, nBlocks } = p;
    const { mc, nc, kc, mr, nr } = job;
    const pa = 0, pb = mc * kc, pc = pb + nc * kc;
    ensure(pc + mc * nc);
    const srcA = bufs[job.a.buffer], srcB = bufs[job.b.buffer];
    const out = bufs[job.out.buffer] as unknown as { [i: number]: number };
    const om = p.out.rows, on = p.out.inner;
    for (let u = start; u < end; u++) {
      const bi = Math.floor(u / (mBlocks * nBlocks));
      const rem = u - bi * mBlocks * nBlocks;
      const mi = Math.floor(rem / nBlocks), ni = rem - mi * nBlocks;
      const m0 = mi * mc, n0 = ni * nc;
      const mcl = Math.min(mc, nM - m0), ncl = Math.min(nc, nN - n0);
      const mTiles = Math.ceil(mcl / mr), nTiles = Math.ceil(ncl / nr);
      let k0 = 0;
      do {
        const kcl = Math.min(kc, nK - k0);
        pack(p, p.b, srcB, bi, n0, nTiles, nN, nr, k0, kcl, pb);
        pack(p, p.a, srcA, bi, m0, mTiles, nM, mr, k0, kcl, pa);
        block(pa * 4, pb * 4, pc * 4, mTiles, nTiles, kcl, k0 === 0 ? 1 : 0);
        k0 += kc;
      } while (k0 < nK);
      const h = heap;
      const ob = p.out.c + p.out.batch[bi];
      for (let i = 0; i < mcl; i++) {
        const mt = Math.floor(i / mr), r = i - mt * mr;
        const o = ob + om[m0 + i];
        const rowBase = pc + (mt * nTiles * mr + r) * nr;
        for (let j = 0; j < ncl; j++) {
          const nt = Math.floor(j / nr), jj = j - nt * nr;
          out[o + on[n0 + j]] = h[rowBase + nt * mr * nr + jj];
        }
      }
    }
  }

  return { run };
}
