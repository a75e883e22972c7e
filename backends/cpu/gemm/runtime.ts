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

import type { AffineParts, GemmOperand, GemmPlan } from "./recognise.ts";

/** What {@link gemmRuntime} returns: `run(plan, bufs, start, end)` computes units `[start, end)`. */
export interface GemmRuntime {
  /** Runs units `[start, end)` of the job described by `plan` (a {@link GemmJob} as JSON). */
  run(
    plan: string,
    bufs: ArrayLike<number>[],
    start: number,
    end: number,
    packA?: ExprPacker,
    packB?: ExprPacker,
  ): void;
}

/**
 * Packs an operand computed by elementwise ops (generated per kernel by render.ts):
 * `(heap, bufs, tables, bi, r0, tiles, nR, w, k0, kcl, dst)`.
 */
export type ExprPacker = (
  h: Float32Array,
  bufs: ArrayLike<number>[],
  tables: unknown,
  loopValues: unknown,
  bi: number,
  r0: number,
  tiles: number,
  nR: number,
  w: number,
  k0: number,
  kcl: number,
  dst: number,
) => void;

/** A job for {@link gemmRuntime}: the recognised contraction plus its block sizes. */
export interface GemmJob extends Pick<GemmPlan, "batch" | "m" | "n" | "k" | "a" | "b" | "out"> {
  /** Rows per unit (a multiple of `mr`). */
  readonly mc: number;
  /** Columns per unit (a multiple of `nr`). */
  readonly nc: number;
  /** Length of a K block. */
  readonly kc: number;
  /** Rows of the micro-kernel's tile (the module has `block${mr}`). */
  readonly mr: number;
  /** Columns of the micro-kernel's tile. */
  readonly nr: number;
}

/**
 * Creates the driver around the micro-kernel module `bytes`. Self-contained: see the module
 * comment.
 */
export function gemmRuntime(bytes: Uint8Array<ArrayBuffer>): GemmRuntime {
  const module = new WebAssembly.Module(bytes);
  const mem = new WebAssembly.Memory({ initial: 8 });
  const inst = new WebAssembly.Instance(module, { env: { mem } });
  const packFn = inst.exports.pack as (...args: number[]) => void;
  type Block = (
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

  /** Whether `t[from..to)` are consecutive values (`t[from] + j` at `from + j`). */
  function consecutive(t: Int32Array, from: number, to: number): boolean {
    for (let j = from + 1; j < to; j++) if (t[j] !== t[from] + j - from) return false;
    return true;
  }

  /** Smallest and largest value of `rows` in each tile of `w` rows. */
  function tileRanges(rows: Int32Array, w: number): { min: Int32Array; max: Int32Array } {
    const n = Math.ceil(rows.length / w);
    const min = new Int32Array(n), max = new Int32Array(n);
    for (let t = 0; t < n; t++) {
      let lo = rows[t * w], hi = lo;
      for (let j = t * w + 1; j < Math.min(rows.length, (t + 1) * w); j++) {
        lo = Math.min(lo, rows[j]);
        hi = Math.max(hi, rows[j]);
      }
      min[t] = lo;
      max[t] = hi;
    }
    return { min, max };
  }

  interface Tables {
    c: number;
    batch: Int32Array;
    rows: Int32Array;
    inner: Int32Array;
  }
  interface Operand {
    buffer: number;
    index: Tables;
    conds: { t: Tables; lo: number; hi: number; min: Int32Array; max: Int32Array }[];
    /** Tile width (the micro tile's rows or columns) and rows per unit. */
    w: number;
    block: number;
    /** Whether each tile's rows are consecutive elements (vector copies). */
    contiguous: Uint8Array;
    /** Smallest and largest row offset of each unit's block of rows; range of K offsets. */
    blockMin: Int32Array;
    blockMax: Int32Array;
    innerMin: number;
    innerMax: number;
    /** Source floats staged at a time: the longest range one unit reads, or more. */
    span: number;
    /**
     * K classes: K offsets whose conditions' inner parts are equal pack alike, so a row's mode
     * depends on its class and its tile only. `classInner[c·nc + q]` is condition q's inner
     * part in class c.
     */
    classes: Int32Array;
    classCount: number;
    classInner: Int32Array;
    /**
     * Mode per (class, tile), then the mask of rows inside every bound per (class, tile) (see
     * micro_kernel.ts), for the conditions' offsets `modeKey`.
     */
    modeTable: Uint8Array;
    /** The conditions' constant and batch parts the tables were made for. */
    modeKey: string | undefined;
    /** The key whose tables are in the heap. */
    heapKey: string | undefined;
    /** Index tables of the loads and guards of an operand computed by elementwise ops. */
    exprTables: unknown;
    /** Loop values per group point, for the same operand. */
    loopValues: unknown;
  }
  interface Prepared {
    job: GemmJob;
    nB: number;
    nM: number;
    nN: number;
    nK: number;
    mBlocks: number;
    nBlocks: number;
    a: Operand;
    b: Operand;
    out: Tables;
    /** Per block of columns: whether its output columns are consecutive elements. */
    outRuns: Uint8Array;
    lo: Int32Array;
    hi: Int32Array;
  }
  const prepared = new Map<string, Prepared>();
  /** Most source floats staged at once per operand (4 MiB). */
  const WINDOW = 1 << 20;
  const size = (e: readonly number[]) => e.reduce((p, x) => p * x, 1);

  function prepare(text: string): Prepared {
    const job = JSON.parse(text) as GemmJob;
    const tables = (p: AffineParts, rows: readonly number[], inner: readonly number[]): Tables => ({
      c: p.c,
      batch: table(job.batch, p.batch),
      rows: table(rows, p.rows),
      inner: table(inner, p.inner),
    });
    const operand = (o: GemmOperand, rows: readonly number[], w: number, block: number) => {
      const index = tables(o.index, rows, job.k);
      const r = index.rows;
      const contiguous = new Uint8Array(Math.ceil(r.length / w));
      for (let t = 0; t < contiguous.length; t++) {
        contiguous[t] = +((t + 1) * w <= r.length && consecutive(r, t * w, (t + 1) * w));
      }
      const blocks = tileRanges(r, block),
        inners = tileRanges(index.inner, Math.max(1, index.inner.length));
      const innerMin = index.inner.length ? inners.min[0] : 0;
      const innerMax = index.inner.length ? inners.max[0] : 0;
      let span = 1, lo = Infinity, hi = -Infinity;
      for (let u = 0; u < blocks.min.length; u++) {
        span = Math.max(span, blocks.max[u] - blocks.min[u] + innerMax - innerMin + 1);
        lo = Math.min(lo, blocks.min[u]);
        hi = Math.max(hi, blocks.max[u]);
      }
      // Blocks often read overlapping strided ranges (a matmul's column blocks, the images of
      // a convolution's batch): one copy of up to WINDOW floats serves the blocks after it.
      const window = Math.max(span, Math.min(hi - lo + innerMax - innerMin + 1, WINDOW));
      const conds = o.conds.map((c) => {
        const t = tables(c.index, rows, job.k);
        return { t, lo: c.lo, hi: c.hi, ...tileRanges(t.rows, w) };
      });
      const { classes, classCount, classInner } = kClasses(conds.map((c) => c.t.inner), nK);
      return {
        buffer: o.buffer,
        index,
        conds,
        classes,
        classCount,
        classInner,
        modeTable: new Uint8Array(2 * classCount * contiguous.length),
        modeKey: undefined,
        heapKey: undefined,
        w,
        block,
        contiguous,
        blockMin: blocks.min,
        blockMax: blocks.max,
        innerMin,
        innerMax,
        span: o.expr ? 1 : window,
        exprTables: o.expr && Object.fromEntries(
          Object.entries(o.expr.reads).map(([i, r]) => [i, {
            index: r.index && tables(r.index, rows, job.k),
            conds: r.conds.map((c) => c && { t: tables(c.index, rows, job.k), lo: c.lo, hi: c.hi }),
          }]),
        ),
        // Each loop's value at every point of its group, for indices evaluated per element.
        loopValues: o.expr && {
          batch: job.batch.map((_, i) => table(job.batch, job.batch.map((_, j) => +(i === j)))),
          rows: rows.map((_, i) => table(rows, rows.map((_, j) => +(i === j)))),
          k: job.k.map((_, i) => table(job.k, job.k.map((_, j) => +(i === j)))),
        },
      };
    };
    const nM = size(job.m), nN = size(job.n), nK = size(job.k);
    const nConds = Math.max(job.a.conds.length, job.b.conds.length);
    const out = tables(job.out.index, job.m, job.n), nBlocks = Math.ceil(nN / job.nc);
    const outRuns = new Uint8Array(nBlocks);
    for (let ni = 0; ni < nBlocks; ni++) {
      outRuns[ni] = +consecutive(out.inner, ni * job.nc, Math.min(nN, (ni + 1) * job.nc));
    }
    return {
      job,
      nB: size(job.batch),
      nM,
      nN,
      nK,
      mBlocks: Math.ceil(nM / job.mc),
      nBlocks,
      a: operand(job.a, job.m, job.mr, job.mc),
      b: operand(job.b, job.n, job.nr, job.nc),
      out,
      outRuns,
      lo: new Int32Array(nConds),
      hi: new Int32Array(nConds),
    };
  }

  /** Numbers the distinct tuples `(inner_q[k])_q` over K in order of first appearance. */
  function kClasses(inner: Int32Array[], nK: number) {
    const classes = new Int32Array(nK);
    if (inner.length === 0) return { classes, classCount: 1, classInner: new Int32Array(0) };
    // Dense ids per condition, then one mixed-radix key per K offset.
    const ids = inner.map((v) => {
      const id = new Map<number, number>(), out = new Int32Array(nK);
      for (let k = 0; k < nK; k++) {
        let x = id.get(v[k]);
        if (x === undefined) id.set(v[k], x = id.size);
        out[k] = x;
      }
      return { out, n: id.size };
    });
    const seen = new Map<number, number>(), firstK: number[] = [];
    for (let k = 0; k < nK; k++) {
      let key = 0;
      for (const { out, n } of ids) key = key * n + out[k];
      let c = seen.get(key);
      if (c === undefined) seen.set(key, c = seen.size), firstK.push(k);
      classes[k] = c;
    }
    const nc = inner.length, classInner = new Int32Array(firstK.length * nc);
    firstK.forEach((k, c) => inner.forEach((v, q) => classInner[c * nc + q] = v[k]));
    return { classes, classCount: firstK.length, classInner };
  }

  /**
   * Fills `o`'s mode and mask tables for batch point `bi` (unless they are for the same
   * condition offsets already): per class, each tile's range of condition values decides
   * whether its rows are all inside (gather, or copy when consecutive), all outside (zeros) or
   * straddle a bound (checked per row against the mask of rows inside).
   */
  function modeTables(p: Prepared, o: Operand, bi: number): void {
    const conds = o.conds, nc = conds.length, lo = p.lo, hi = p.hi;
    let key = "";
    for (let q = 0; q < nc; q++) key += `${conds[q].t.c + conds[q].t.batch[bi]},`;
    if (key === o.modeKey) return;
    o.modeKey = key;
    const nT = o.contiguous.length, modes = o.modeTable, w = o.w;
    const masksAt = o.classCount * nT, nR = o.index.rows.length;
    for (let c = 0; c < o.classCount; c++) {
      for (let q = 0; q < nc; q++) {
        const s = conds[q].t.c + conds[q].t.batch[bi] + o.classInner[c * nc + q];
        lo[q] = conds[q].lo - s;
        hi[q] = conds[q].hi - s;
      }
      for (let t = 0; t < nT; t++) {
        let mode = o.contiguous[t] === 1 ? 3 : 0;
        for (let q = 0; q < nc; q++) {
          const mn = conds[q].min[t], mx = conds[q].max[t];
          if (mx < lo[q] || mn >= hi[q]) {
            mode = 2;
            break;
          }
          if (mn < lo[q] || mx >= hi[q]) mode = 1;
        }
        modes[c * nT + t] = mode;
        if (mode !== 1) continue;
        let mask = 0;
        for (let j = 0; j < w && t * w + j < nR; j++) {
          let ok = 1;
          for (let q = 0; q < nc && ok; q++) {
            const x = conds[q].t.rows[t * w + j];
            if (x < lo[q] || x >= hi[q]) ok = 0;
          }
          mask |= ok << j;
        }
        modes[masksAt + c * nT + t] = mask;
      }
    }
  }

  /** Where an operand's tables live in the heap (i32 element offsets; `modes` in bytes). */
  interface OperandLayout {
    rows: number;
    inner: number;
    classes: number;
    modes: number;
  }

  /**
   * Packs tiles `[r0 / w, r0 / w + tiles)` (zero past `nR`) of K block `[k0, k0 + kcl)` of an
   * operand at `dst` as `[tile][k][w]`, reading the source copy at `srcPtr` (a byte address
   * such that element `e` of the operand's buffer, offset by its constant and batch parts, is
   * at `srcPtr + 4e`), each row by its mode (see {@link modeTables}).
   */
  function packOperand(
    o: Operand,
    r0: number,
    tiles: number,
    nR: number,
    k0: number,
    kcl: number,
    dst: number,
    srcPtr: number,
    at: OperandLayout,
  ): void {
    const w = o.w, tile0 = r0 / w, nT = o.contiguous.length;
    packFn(
      dst * 4,
      srcPtr,
      (at.rows + r0) * 4,
      (at.inner + k0) * 4,
      (at.classes + k0) * 4,
      at.modes + tile0,
      at.modes + o.classCount * nT + tile0,
      nT,
      tiles,
      kcl,
      w,
      Math.min(w, nR - (r0 + (tiles - 1) * w)),
    );
  }

  let bytes8 = new Uint8Array(mem.buffer);
  let ints = new Int32Array(mem.buffer);

  function ensure(floats: number): void {
    const need = Math.ceil((floats * 4) / 65536) - mem.buffer.byteLength / 65536;
    if (need > 0) {
      mem.grow(need);
      heap = new Float32Array(mem.buffer);
      bytes8 = new Uint8Array(mem.buffer);
      ints = new Int32Array(mem.buffer);
    }
  }

  /** Where the source range `[from, to)` that unit `(bi, block)` of `o` reads starts. */
  function rangeFrom(o: Operand, bi: number, block: number): number {
    return Math.max(0, o.index.c + o.index.batch[bi] + o.blockMin[block] + o.innerMin);
  }
  /** Where that range ends (`to`), within a source of `srcLength` elements. */
  function rangeTo(o: Operand, srcLength: number, bi: number, block: number): number {
    return Math.min(srcLength, o.index.c + o.index.batch[bi] + o.blockMax[block] + o.innerMax + 1);
  }

  /**
   * Copies the source range unit `(bi, block)` of operand `o` reads to `at` unless the range
   * copied last (`have`) already covers it; returns the byte address `srcPtr` for `pack`. A
   * copy reaches on to `o.span` floats, but not past `limit` (the end of what the units of this
   * call read), so later units find their ranges there.
   */
  function stage(
    o: Operand,
    src: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
    bi: number,
    block: number,
    at: number,
    have: Int32Array,
    slot: number,
    limit: number,
  ): number {
    const base = o.index.c + o.index.batch[bi];
    const from = rangeFrom(o, bi, block), to = rangeTo(o, src.length, bi, block);
    if (!(have[slot] <= from && to <= have[slot + 1] && have[slot + 2] === 1)) {
      const end = Math.max(to, Math.min(limit, from + o.span));
      if (end > from) heap.set(src.subarray(from, end), at);
      have[slot] = from;
      have[slot + 1] = end;
      have[slot + 2] = 1;
    }
    return ((at - have[slot] + base) * 4) | 0;
  }

  const have = new Int32Array(6);
  const CACHE_FLOATS = 1 << 22;
  /** The job whose index tables are in the heap now. */
  let tablesOf: Prepared | undefined;

  function run(
    text: string,
    bufs: ArrayLike<number>[],
    start: number,
    end: number,
    packA?: ExprPacker,
    packB?: ExprPacker,
  ): void {
    let p = prepared.get(text);
    if (p === undefined) prepared.set(text, p = prepare(text));
    const { job, nM, nN, nK, mBlocks, nBlocks } = p;
    const { mc, nc, kc, mr, nr } = job;
    const block = inst.exports[`block${mr}`] as Block;
    // Layout (in floats): panels, C tiles, index and mode tables, source copies.
    // A's panels for every K block are kept while consecutive units share their rows, unless
    // that is more than CACHE_FLOATS.
    const kBlocks = Math.max(1, Math.ceil(nK / kc));
    const keepA = mc * kc * kBlocks <= CACHE_FLOATS;
    const pa = 0, pb = mc * kc * (keepA ? kBlocks : 1), pc = pb + nc * kc;
    let at = pc + mc * nc;
    const place = (o: Operand, nR: number): OperandLayout => {
      const rows = at, inner = rows + nR, classes = inner + nK, modes = (classes + nK) * 4;
      at = classes + nK + Math.ceil(o.modeTable.length / 4);
      return { rows, inner, classes, modes };
    };
    const atA = place(p.a, nM), atB = place(p.b, nN);
    const srcAt = at, srcBt = srcAt + p.a.span;
    ensure(srcBt + p.b.span);
    // The tables depend on the job only: a thread's slices of one job copy them once.
    if (tablesOf !== p) {
      for (const [o, l] of [[p.a, atA], [p.b, atB]] as const) {
        ints.set(o.index.rows, l.rows);
        ints.set(o.index.inner, l.inner);
        ints.set(o.classes, l.classes);
        o.heapKey = undefined;
      }
      tablesOf = p;
    }
    // Modes and masks depend on the batch point only through the conditions' batch parts.
    const useModes = (o: Operand, l: OperandLayout, bi: number) => {
      modeTables(p, o, bi);
      if (o.heapKey === o.modeKey) return;
      bytes8.set(o.modeTable, l.modes);
      o.heapKey = o.modeKey;
    };
    have[2] = have[5] = 0;
    let lastA = -1;
    type Src = ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };
    const srcA = bufs[job.a.buffer] as Src, srcB = bufs[job.b.buffer] as Src;
    const out = bufs[job.out.buffer] as unknown as Float32Array;
    const om = p.out.rows, on = p.out.inner;
    const unitAt = (u: number) => {
      const bi = Math.floor(u / (mBlocks * nBlocks));
      const rem = u - bi * mBlocks * nBlocks;
      const mi = Math.floor(rem / nBlocks);
      return { bi, mi, ni: rem - mi * nBlocks };
    };
    let limA = 0, limB = 0;
    for (let u = start; u < end; u++) {
      const { bi, mi, ni } = unitAt(u);
      if (!packA) limA = Math.max(limA, rangeTo(p.a, srcA.length, bi, mi));
      if (!packB) limB = Math.max(limB, rangeTo(p.b, srcB.length, bi, ni));
    }
    for (let u = start; u < end; u++) {
      const { bi, mi, ni } = unitAt(u);
      const m0 = mi * mc, n0 = ni * nc;
      const mcl = Math.min(mc, nM - m0), ncl = Math.min(nc, nN - n0);
      const mTiles = Math.ceil(mcl / mr), nTiles = Math.ceil(ncl / nr);
      const ptrA = packA ? 0 : stage(p.a, srcA, bi, mi, srcAt, have, 0, limA);
      const ptrB = packB ? 0 : stage(p.b, srcB, bi, ni, srcBt, have, 3, limB);
      if (!packA) useModes(p.a, atA, bi);
      if (!packB) useModes(p.b, atB, bi);
      const packedA = keepA && lastA === bi * mBlocks + mi;
      lastA = keepA ? bi * mBlocks + mi : -1;
      let k0 = 0;
      do {
        const kcl = Math.min(kc, nK - k0);
        if (packB) {
          packB(heap, bufs, p.b.exprTables, p.b.loopValues, bi, n0, nTiles, nN, nr, k0, kcl, pb);
        } else {
          packOperand(p.b, n0, nTiles, nN, k0, kcl, pb, ptrB, atB);
        }
        const paK = keepA ? pa + (k0 / kc) * mc * kc : pa;
        if (!packedA && packA) {
          packA(heap, bufs, p.a.exprTables, p.a.loopValues, bi, m0, mTiles, nM, mr, k0, kcl, paK);
        } else if (!packedA) {
          packOperand(p.a, m0, mTiles, nM, k0, kcl, paK, ptrA, atA);
        }
        block(paK * 4, pb * 4, pc * 4, mTiles, nTiles, kcl, k0 === 0 ? 1 : 0);
        k0 += kc;
      } while (k0 < nK);
      // C's rows (row-major, nTiles·nr floats each) go out as runs where the block's output
      // columns are consecutive, else element by element.
      const h = heap, ldc = nTiles * nr, run = p.outRuns[ni] === 1;
      const ob = p.out.c + p.out.batch[bi];
      for (let i = 0; i < mcl; i++) {
        const o = ob + om[m0 + i], src = pc + i * ldc;
        if (run) out.set(h.subarray(src, src + ncl), o + on[n0]);
        else for (let j = 0; j < ncl; j++) out[o + on[n0 + j]] = h[src + j];
      }
    }
  }

  return { run };
}
