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
  /** Staged buffers: schedule buffer and the accesses of its loads. */
  readonly staged: readonly {
    readonly buffer: number;
    readonly accesses: readonly { readonly c: number; readonly coefs: readonly number[] }[];
  }[];
  /** The output buffer and its access. */
  readonly out: { readonly buffer: number; readonly c: number; readonly coefs: readonly number[] };
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

  interface Access {
    c: number;
    coef0: number;
    /** Smallest and largest contribution of the loops inside the outermost one. */
    restMin: number;
    restMax: number;
  }
  interface Prepared {
    fn: (...args: number[]) => void;
    chunk: number;
    staged: { buffer: number; accesses: Access[] }[];
    out: { buffer: number; c: number; coef0: number; perOuter: number };
    args: number[];
  }
  const prepared = new Map<string, Prepared>();

  function prepare(text: string): Prepared {
    const job = JSON.parse(text) as SimdJob;
    const module = new WebAssembly.Module(new Uint8Array(job.bytes));
    const inst = new WebAssembly.Instance(module, { env });
    const access = (a: { c: number; coefs: readonly number[] }): Access => {
      let restMin = 0, restMax = 0;
      for (let j = 1; j < a.coefs.length; j++) {
        const span = a.coefs[j] * (job.extents[j] - 1);
        if (span < 0) restMin += span;
        else restMax += span;
      }
      return { c: a.c, coef0: a.coefs[0], restMin, restMax };
    };
    const perOuter = job.extents.slice(1).reduce((p, e) => p * e, 1);
    return {
      fn: inst.exports.run as (...args: number[]) => void,
      chunk: job.chunk,
      staged: job.staged.map((s) => ({ buffer: s.buffer, accesses: s.accesses.map(access) })),
      out: { buffer: job.out.buffer, c: job.out.c, coef0: job.out.coefs[0], perOuter },
      args: new Array(2 + job.staged.length + 1).fill(0),
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
    const { staged, out, args, fn } = p;
    for (let s = start; s < end; s += p.chunk) {
      const e = Math.min(end, s + p.chunk);
      let at = 0; // bytes
      for (let b = 0; b < staged.length; b++) {
        const st = staged[b];
        let lo = Infinity, hi = -Infinity;
        for (const a of st.accesses) {
          const first = a.c + Math.min(a.coef0 * s, a.coef0 * (e - 1));
          const last = a.c + Math.max(a.coef0 * s, a.coef0 * (e - 1));
          lo = Math.min(lo, first + a.restMin);
          hi = Math.max(hi, last + a.restMax);
        }
        const src = bufs[st.buffer] as Src;
        ensure(at + (hi - lo + 1) * 4 + SLACK);
        heap.set(src.subarray(lo, hi + 1), at / 4);
        args[2 + b] = (at - lo * 4) | 0;
        at += Math.ceil(((hi - lo + 1) * 4 + SLACK) / 16) * 16;
      }
      const oLo = out.c + s * out.coef0, n = (e - s) * out.perOuter;
      ensure(at + n * 4 + SLACK);
      args[0] = s;
      args[1] = e;
      args[args.length - 1] = (at - oLo * 4) | 0;
      fn(...args);
      (bufs[out.buffer] as unknown as Dst).set(heap.subarray(at / 4, at / 4 + n), oLo);
    }
  }

  return { run };
}
