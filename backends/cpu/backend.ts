/**
 * The CPU backend: fused kernels compiled to JavaScript functions over typed arrays.
 *
 * `compile` schedules a program into kernels (core/schedule.ts), renders each to JavaScript and
 * compiles it once with `new Function`; identical kernel sources share one function across
 * programs. Running a program allocates its temporaries, frees each after its last reader and
 * counts kernels and live buffers in {@link BackendStats}.
 *
 * Threads: buffers are SharedArrayBuffer-backed, and a kernel with enough work has its outermost
 * output loop cut into contiguous slices that the calling thread and a pool of workers (started
 * on first need) take in turn. Every output element is computed by one thread with the same
 * code as on one thread, so results are bit-identical whatever the thread count. The count is the
 * `threads` option, else {@link setCpuThreads} / `SYMGRAD_CPU_THREADS`, else the core count capped
 * at 4; 1 keeps everything on the calling thread. Workers never keep the process alive;
 * `dispose()` stops them (they restart when needed).
 *
 * @example Fusion in numbers
 * ```ts
 * import { backendStats, CpuBackend, registerBackend, Tensor } from "@symgrad/symgrad";
 * registerBackend("cpu-example", () => new CpuBackend());
 * const x = Tensor.rand([1000], { backend: "cpu-example" });
 * await x.exp().mul(2).add(1).sin().data();
 * console.log((await backendStats("cpu-example")).kernelsRun); // 1
 * ```
 *
 * @module
 */

import type { DType, TypedArray } from "../../core/dtype.ts";
import type { Program } from "../../core/program.ts";
import { numel } from "../../core/shape.ts";
import { coversOutput, kernelOutputs, type Schedule, schedule } from "../../core/schedule.ts";
import type { Executable } from "../../core/backend.ts";
import { checkScheduleExtents, CPU_LIMITS } from "../extent_limits.ts";
import { HostBackend } from "../host_memory.ts";
import { renderGemmKernel } from "./gemm/render.ts";
import { rangeExtent, renderKernel } from "./render.ts";
import { renderSimdKernel } from "./simd/render.ts";
import { isShared, type KernelFn, ThreadPool } from "./thread_pool.ts";
import { checkThreads, cpuThreads } from "./threads.ts";

export { cpuThreads, setCpuThreads } from "./threads.ts";
export { setCpuFma, setCpuGemm } from "./gemm/render.ts";
export { setCpuSimd } from "./simd/render.ts";

/** Options of {@link CpuBackend}. */
export interface CpuBackendOptions {
  /** Threads per kernel (1: all on the calling thread). Default: {@link cpuThreads}(). */
  readonly threads?: number;
  /**
   * Loop iterations (product of all loop extents) below which a kernel stays on the calling
   * thread, since handing it out costs more than it saves. Default 65536.
   */
  readonly minParallelWork?: number;
}

interface CompiledKernel {
  readonly id: number;
  readonly source: string;
  readonly fn: KernelFn;
}

interface KernelPlan extends CompiledKernel {
  /** Extent of the sliced outer loop (1: not sliceable). */
  readonly extent: number;
  /** Whether the kernel is worth splitting across threads. */
  readonly parallel: boolean;
  /** Buffer slots the kernel touches. */
  readonly slots: readonly number[];
}

/** The CPU backend: host typed arrays and generated JavaScript kernels. */
export class CpuBackend extends HostBackend {
  /** Backend name. */
  readonly name: string = "cpu";
  readonly #threads: number | undefined;
  readonly #minWork: number;
  #functions = new Map<string, CompiledKernel>();
  // Reused arrays handed out without zeroing: zeroed on first use unless a kernel writes them.
  #unzeroed = new WeakSet<TypedArray>();
  #pool: ThreadPool | undefined;
  #starting: Promise<ThreadPool | undefined> | undefined;
  #poolFailed = false;

  /** A CPU backend; see {@link CpuBackendOptions} for threads. */
  constructor(options: CpuBackendOptions = {}) {
    super();
    this.#threads = options.threads === undefined
      ? undefined
      : checkThreads(options.threads, "CpuBackend");
    const minWork = options.minParallelWork ?? 65536;
    if (!(minWork >= 0)) {
      throw new RangeError(`CpuBackend: minParallelWork must be >= 0, got ${minWork}`);
    }
    this.#minWork = minWork;
  }

  /**
   * A zero-valued typed array. A reused one is zeroed only when it is read, written in part or
   * used as an input before a kernel that writes every element of it runs (program outputs
   * usually are: `fill(0)` of a large step's outputs would cost several percent).
   */
  override alloc(dtype: DType, size: number): TypedArray {
    const buf = this.allocUnzeroed(dtype, size);
    this.#unzeroed.add(buf);
    return buf;
  }

  #zero(buf: TypedArray): void {
    if (this.#unzeroed.delete(buf)) buf.fill(0);
  }

  /** Copies `data` into `buf`. */
  override write(buf: TypedArray, data: TypedArray): void {
    this.#prestart(buf.length);
    if (data.length < buf.length) this.#zero(buf);
    else this.#unzeroed.delete(buf);
    super.write(buf, data);
  }

  /** Returns a copy of `buf` (in a plain, unshared buffer). */
  override read(buf: TypedArray): Promise<TypedArray> {
    this.#zero(buf);
    return super.read(buf);
  }

  /** Threads a kernel is split across (the option, else the current default). */
  get threads(): number {
    return this.#threads ?? cpuThreads();
  }

  /**
   * Starts the worker threads now and resolves when they are ready (otherwise the first run of
   * a program with a kernel worth splitting starts them).
   */
  async startThreads(): Promise<void> {
    if (this.threads > 1) await this.#poolFor(this.threads);
  }

  /** Stops the worker threads (they start again on the next kernel that needs them). */
  dispose(): void {
    this.#pool?.dispose();
    this.#pool = undefined;
  }

  /** Same as {@link CpuBackend.dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Starts the worker pool in the background once data large enough for a parallel kernel
   * arrives, so that the workers boot while the first step is traced and compiled (instead of
   * when its first kernel runs); a failure is remembered as usual.
   */
  #prestart(elements: number): void {
    if (elements < this.#minWork || this.threads === 1) return;
    if (this.#pool !== undefined || this.#starting !== undefined || this.#poolFailed) return;
    this.#poolFor(this.threads).catch(() => {});
  }

  /** The pool for `threads` threads, started (or restarted at a new size) if needed. */
  async #poolFor(threads: number): Promise<ThreadPool | undefined> {
    while (this.#starting !== undefined) await this.#starting;
    if (this.#pool?.threads === threads && this.#pool.broken === undefined) return this.#pool;
    this.dispose();
    // Without workers or shared memory (e.g. a page that is not cross-origin isolated) every
    // kernel runs on the calling thread; the failure is remembered so that no run retries it.
    this.#starting = this.#poolFailed ? Promise.resolve(undefined) : ThreadPool.start(threads - 1)
      .catch(() => {
        this.#poolFailed = true;
        return undefined;
      });
    try {
      this.#pool = await this.#starting;
    } finally {
      this.#starting = undefined;
    }
    return this.#pool;
  }

  /** The schedule and the generated source of each kernel (for inspection and debugging). */
  inspect(program: Program): { schedule: Schedule; sources: string[] } {
    const s = schedule(program);
    const sources = s.kernels.map((k) =>
      renderGemmKernel(k, s.buffers)?.source ?? renderSimdKernel(k, s.buffers)?.source ??
        renderKernel(k, s.buffers)
    );
    return { schedule: s, sources };
  }

  #function(source: string): CompiledKernel {
    let compiled = this.#functions.get(source);
    if (compiled === undefined) {
      const fn = new Function("bufs", "start", "end", source) as KernelFn;
      compiled = { id: this.#functions.size, source, fn };
      this.#functions.set(source, compiled);
      this.stats.kernelsCompiled++;
    }
    return compiled;
  }

  /** Schedules `program`, renders and compiles its kernels. */
  compile(program: Program): Executable<TypedArray> {
    this.#prestart(program.nodes.reduce((m, n) => Math.max(m, numel(n.shape)), 0));
    const { schedule: s, sources } = this.inspect(program);
    checkScheduleExtents(program, s, CPU_LIMITS);
    const plans: KernelPlan[] = s.kernels.map((k, i) => {
      // Contractions run as WebAssembly GEMMs over units of output blocks (gemm/render.ts),
      // elementwise float32 kernels as WebAssembly SIMD loops (simd/render.ts).
      const extent = renderGemmKernel(k, s.buffers)?.extent ??
        renderSimdKernel(k, s.buffers)?.extent ?? rangeExtent(k, s.buffers);
      const work = k.loops.reduce((n, l) => n * l.extent, 1);
      return {
        ...this.#function(sources[i]),
        extent,
        parallel: extent >= 2 && work >= this.#minWork,
        slots: [...new Set([...k.reads, ...kernelOutputs(k).map((o) => o.buffer)])],
      };
    });
    const temps = s.buffers.flatMap((b, i) => (b.role.kind === "temp" ? [i] : []));
    // Temporaries die after their last reader; ones nobody reads die after their writer.
    const dies = new Map<number, number[]>();
    for (const b of temps) {
      const writer = s.kernels.findIndex((k) => kernelOutputs(k).some((o) => o.buffer === b));
      const at = Math.max(s.buffers[b].lastUse, writer);
      dies.set(at, [...(dies.get(at) ?? []), b]);
    }
    // Buffers some kernel writes in full (the others must start zeroed).
    const covered = new Set(
      s.kernels.flatMap((k) =>
        kernelOutputs(k).flatMap((o) =>
          coversOutput(k, s.buffers[o.buffer].size, o) ? [o.buffer] : []
        )
      ),
    );
    const firstWrite = new Map<number, number[]>();
    s.kernels.forEach((k, i) => {
      for (const { buffer } of kernelOutputs(k)) {
        if (s.buffers[buffer].role.kind === "temp") {
          firstWrite.set(i, [...(firstWrite.get(i) ?? []), buffer]);
        }
      }
    });
    const runOn = async (
      pool: ThreadPool | undefined,
      inputs: readonly TypedArray[],
      outputs: readonly TypedArray[],
    ) => {
      const bufs = new Array<TypedArray>(s.buffers.length);
      s.buffers.forEach((b, i) => {
        if (b.role.kind === "input") this.#zero(bufs[i] = inputs[b.role.slot]);
        else if (b.role.kind === "output") {
          bufs[i] = outputs[b.role.position];
          if (covered.has(i)) this.#unzeroed.delete(bufs[i]);
          else this.#zero(bufs[i]);
        }
      });
      try {
        for (let i = 0; i < plans.length; i++) {
          for (const b of firstWrite.get(i) ?? []) {
            const { dtype, size } = s.buffers[b];
            bufs[b] = covered.has(b) ? this.allocUnzeroed(dtype, size) : super.alloc(dtype, size);
          }
          const k = plans[i];
          if (pool !== undefined && k.parallel && k.slots.every((b) => isShared(bufs[b]))) {
            // A job the workers take long over returns a promise (see ThreadPool.run).
            const pending = pool.run(k.id, k.source, k.fn, bufs, k.slots, k.extent);
            if (pending !== undefined) await pending;
          } else {
            k.fn(bufs, 0, k.extent);
          }
          this.stats.kernelsRun++;
          for (const b of dies.get(i) ?? []) this.#release(bufs, b);
        }
      } finally {
        for (const b of temps) this.#release(bufs, b);
      }
    };
    const anyParallel = plans.some((k) => k.parallel);
    return {
      run: (inputs, outputs) => {
        const threads = this.threads;
        if (threads === 1 || !anyParallel) return runOn(undefined, inputs, outputs);
        const pool = this.#pool;
        if (pool?.threads === threads && pool.broken === undefined) {
          return runOn(pool, inputs, outputs);
        }
        if (this.#poolFailed) return runOn(undefined, inputs, outputs);
        // Waited for, not started in the background: a loop of already-resolved awaits never
        // lets the event loop take the workers' ready messages.
        return this.#poolFor(threads).then((pool) => runOn(pool, inputs, outputs));
      },
    };
  }

  #release(bufs: TypedArray[], b: number): void {
    if (bufs[b] === undefined) return;
    this.free(bufs[b]);
    bufs[b] = undefined as unknown as TypedArray;
  }
}
