/**
 * The per-thread driver of SIMD elementwise kernels: stages the input ranges a slice reads into
 * a WebAssembly memory, runs the kernel's module over them and copies the output range back.
 *
 * {@link simdRuntime} must be self-contained (it references nothing outside itself): its source
 * text is embedded in kernel sources and evaluated once per thread, main thread and workers
 * alike, each with its own memory (the buffers live in SharedArrayBuffers, which a wasm memory
 * cannot alias). A slice is cut into chunks of outer iterations so that the staged data stays
 * small (in cache) whatever the slice length; each chunk writes a disjoint range of the output.
 *
 * @module
 */

/** A job for {@link simdRuntime}, as JSON: the module and how to stage its operands. */
export interface SimdJob {
  /** The module's bytes. */
  readonly bytes: readonly number[];
  /** Extents of the merged loops. */
  readonly extents: readonly number[];
  /** Outer iterations per chunk. */
  readonly chunk: number;
  /** Loads, in the order the module takes their bases (see plan.ts's `SimdLoad`). */
  readonly loads: readonly {
    readonly buffer: number;
    readonly c: number;
    readonly coefs: readonly number[];
    readonly copyLoops: number;
    readonly block: number;
    readonly blockMin: number;
    readonly staged: readonly number[];
    /** Range of the index's division and modulus terms. */
    readonly atoms: readonly [number, number];
  }[];
  /** Output elements per iteration of the outermost loop. */
  readonly outPerOuter: number;
  /** The output buffers and their accesses. */
  readonly outs: readonly {
    readonly buffer: number;
    readonly c: number;
    readonly coefs: readonly number[];
  }[];
}

/** What {@link simdRuntime} returns. */
export interface SimdRuntime {
  /** Runs outer iterations `[start, end)` of the job `text` (a {@link SimdJob} as JSON). */
  run(text: string, bufs: ArrayLike<number>[], start: number, end: number): void;
}

/** Creates the driver. Self-contained: see the module comment. */
export function simdRuntime(): SimdRuntime {
  const mem = new WebAssembly.Memory({ initial: 16 });
  const env = {
    mem,
    exp: Math.exp,
    log: Math.log,
    sin: Math.sin,
    tanh: Math.tanh,
    pow: Math.pow,
  };
  let heap = new Float32Array(mem.buffer);
  /** Bytes of slack after every staged range and the output (a step may run 3 lanes past). */
  const SLACK = 16;

  interface Load {
    buffer: number;
    c: number;
    coefs: readonly number[];
    /** Smallest and largest contribution of the loops inside the outermost one. */
    restMin: number;
    restMax: number;
    copyLoops: number;
    block: number;
    blockMin: number;
    staged: readonly number[];
    atoms: readonly [number, number];
  }
  interface Prepared {
    fn: (...args: number[]) => void;
    chunk: number;
    extents: readonly number[];
    loads: Load[];
    outs: { buffer: number; c: number; coef0: number }[];
    /** Output elements per outer iteration. */
    perOuter: number;
    args: number[];
    /** Loop counters of the block copies. */
    idx: Int32Array;
  }
  const prepared = new Map<string, Prepared>();

  function prepare(text: string): Prepared {
    const job = JSON.parse(text) as SimdJob;
    const module = new WebAssembly.Module(new Uint8Array(job.bytes));
    const inst = new WebAssembly.Instance(module, { env });
    const load = (a: SimdJob["loads"][number]): Load => {
      let restMin = 0, restMax = 0;
      for (let j = 1; j < a.coefs.length; j++) {
        const span = a.coefs[j] * (job.extents[j] - 1);
        if (span < 0) restMin += span;
        else restMax += span;
      }
      return { ...a, restMin, restMax };
    };
    const perOuter = job.outPerOuter;
    return {
      fn: inst.exports.run as (...args: number[]) => void,
      chunk: job.chunk,
      extents: job.extents,
      loads: job.loads.map(load),
      idx: new Int32Array(job.extents.length),
      outs: job.outs.map((o) => ({ buffer: o.buffer, c: o.c, coef0: o.coefs[0] })),
      perOuter,
      args: new Array(2 + job.loads.length + job.outs.length).fill(0),
    };
  }

  function ensure(bytes: number): void {
    const need = Math.ceil(bytes / 65536) - mem.buffer.byteLength / 65536;
    if (need > 0) {
      mem.grow(need);
      heap = new Float32Array(mem.buffer);
    }
  }

  type Src = ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> };
  type Dst = { set(a: ArrayLike<number>, at: number): void };

  function run(text: string, bufs: ArrayLike<number>[], start: number, end: number): void {
    let p = prepared.get(text);
    if (p === undefined) prepared.set(text, p = prepare(text));
    const { loads, outs, args, fn, extents, idx } = p;
    const nStaged = loads.length;
    for (let s = start; s < end; s += p.chunk) {
      const e = Math.min(end, s + p.chunk);
      let at = 0; // bytes
      for (let b = 0; b < nStaged; b++) {
        const l = loads[b];
        const src = bufs[l.buffer] as Src;
        let bytes: number;
        if (l.copyLoops === 0) {
          // One span: everything the chunk reads.
          const c0 = l.coefs[0];
          const lo = l.c + Math.min(c0 * s, c0 * (e - 1)) + l.restMin + l.atoms[0];
          const hi = l.c + Math.max(c0 * s, c0 * (e - 1)) + l.restMax + l.atoms[1];
          bytes = (hi - lo + 1) * 4;
          ensure(at + bytes + SLACK);
          // A padded view's range may reach outside the buffer, where nothing is read.
          const from = Math.max(0, lo), to = Math.min(src.length, hi + 1);
          if (to > from) heap.set(src.subarray(from, to), at / 4 + from - lo);
          args[2 + b] = (at - lo * 4) | 0;
        } else {
          // One block per point of the copy loops the load depends on, in row-major order.
          const nc = l.copyLoops, w = l.block, coefs = l.coefs;
          let blocks = 1;
          for (let j = 0; j < nc; j++) {
            if (coefs[j] !== 0) blocks *= j === 0 ? e - s : extents[j];
          }
          bytes = blocks * w * 4;
          ensure(at + bytes + SLACK);
          for (let j = 0; j < nc; j++) idx[j] = j === 0 && coefs[0] !== 0 ? s : 0;
          let d = at / 4;
          for (let m = 0; m < blocks; m++) {
            let from = l.c + l.blockMin;
            for (let j = 0; j < nc; j++) from += coefs[j] * idx[j];
            heap.set(src.subarray(from, from + w), d);
            d += w;
            for (let j = nc - 1; j >= 0; j--) {
              if (coefs[j] === 0) continue;
              if (++idx[j] < (j === 0 ? e : extents[j])) break;
              idx[j] = j === 0 ? s : 0;
            }
          }
          const s0 = coefs[0] !== 0 ? l.staged[0] * s : 0;
          args[2 + b] = (at - (s0 + l.blockMin) * 4) | 0;
        }
        at += Math.ceil((bytes + SLACK) / 16) * 16;
      }
      const n = (e - s) * p.perOuter, outBytes = Math.ceil((n * 4 + SLACK) / 16) * 16;
      ensure(at + outs.length * outBytes);
      for (let j = 0; j < outs.length; j++) {
        const o = outs[j];
        args[2 + nStaged + j] = (at + j * outBytes - (o.c + s * o.coef0) * 4) | 0;
      }
      args[0] = s;
      args[1] = e;
      fn(...args);
      for (let j = 0; j < outs.length; j++) {
        const o = outs[j], from = (at + j * outBytes) / 4;
        (bufs[o.buffer] as unknown as Dst).set(heap.subarray(from, from + n), o.c + s * o.coef0);
      }
    }
  }

  return { run };
}
