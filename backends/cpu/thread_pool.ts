/**
 * A small pool of workers that run slices of a kernel's outermost output loop on shared buffers.
 *
 * Jobs go through a shared control block (`Atomics.wait`/`notify`, a few microseconds per job);
 * messages (tens of microseconds each) are only used to hand workers new kernels and buffers, so
 * a training step whose buffers come from the reuse pool sends none after its first runs.
 * Workers are unreferenced (they never keep the process alive) and end with {@link
 * ThreadPool.dispose}.
 *
 * @module
 */

import type { TypedArray } from "../../core/dtype.ts";
import {
  CMD_EXIT,
  CMD_RUN,
  CONTROL,
  CONTROL_LENGTH,
  MAX_WORKERS,
  WORKER_SOURCE,
} from "./worker_source.ts";

/** A kernel function: computes outer-loop iterations `[start, end)` of one kernel. */
export type KernelFn = (bufs: TypedArray[], start: number, end: number) => void;

interface WorkerHandle {
  post(message: unknown): void;
  terminate(): void;
}

// Slices per thread when a loop is shared out.
const SLICES_PER_THREAD = 4;

// A worker that takes longer than this to acknowledge a job is taken as dead.
const ACK_TIMEOUT_MS = 600_000;

/** Whether `buf` lives in a SharedArrayBuffer (so workers can see it without a copy). */
export function isShared(buf: TypedArray): boolean {
  return typeof SharedArrayBuffer === "function" && buf.buffer instanceof SharedArrayBuffer;
}

interface Spawned {
  handle: WorkerHandle;
  ready: Promise<void>;
}

async function spawn(onError: (message: string) => void): Promise<Spawned> {
  const ready = Promise.withResolvers<void>();
  const onMessage = (m: { kind: string; message?: string }) => {
    if (m.kind === "ready") ready.resolve();
    else if (m.kind === "error") onError(m.message ?? "unknown error");
  };
  let handle: WorkerHandle;
  try {
    // Deno and Node: a worker that can be unreferenced, so it never holds the process open.
    const { Worker } = await import("node:worker_threads");
    const w = new Worker(WORKER_SOURCE, { eval: true });
    // Referenced until ready (the caller awaits that), unreferenced afterwards.
    ready.promise.then(() => w.unref(), () => {});
    w.on("message", onMessage);
    w.on("error", (e: Error) => ready.reject(e));
    handle = { post: (m) => w.postMessage(m), terminate: () => void w.terminate() };
  } catch {
    // Browsers: a module worker from a Blob URL (no file to fetch).
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const w = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    w.onmessage = (e) => onMessage(e.data);
    w.onerror = (e) => ready.reject(new Error(e.message));
    handle = { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
  }
  return { handle, ready: ready.promise };
}

/**
 * A shared typed array as `[id, buffer, element kind, byte offset, length]`: Deno's
 * `node:worker_threads` clones a typed-array view over a SharedArrayBuffer in time proportional
 * to its size (about 100 ms for 8 MB) but the SharedArrayBuffer itself at once, so the worker
 * rebuilds the view.
 */
function viewParts(
  [id, buf]: [number, TypedArray],
): [number, ArrayBufferLike, string, number, number] {
  const kind = buf instanceof Float32Array ? "f32" : buf instanceof Float64Array ? "f64" : "u8";
  return [id, buf.buffer, kind, buf.byteOffset, buf.length];
}

/** Workers that each take one slice of a kernel's outer loop while the caller takes another. */
export class ThreadPool {
  readonly #workers: WorkerHandle[];
  readonly #ctl: Int32Array;
  #seq = 0;
  #inLoop = false;
  readonly #errors: string[];
  #kernels = new Set<number>();
  #bufferIds = new WeakMap<TypedArray, number>();
  #nextBufferId = 1;
  #unsent: [number, TypedArray][] = [];
  #forgotten: number[] = [];
  #finalizer = new FinalizationRegistry<number>((id) => this.#forgotten.push(id));

  private constructor(workers: WorkerHandle[], ctl: Int32Array, errors: string[]) {
    this.#workers = workers;
    this.#errors = errors;
    this.#ctl = ctl;
  }

  /** Starts `workers` workers (the caller's thread is the extra one) and waits until ready. */
  static async start(workers: number): Promise<ThreadPool> {
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
      throw new RangeError(`ThreadPool: workers must be an integer in [1, ${MAX_WORKERS}]`);
    }
    const ctl = new Int32Array(new SharedArrayBuffer(CONTROL_LENGTH * 4));
    // The caller blocks while workers finish; a browser's main thread may not (this throws).
    Atomics.wait(ctl, CONTROL.seq, 1, 0);
    const errors: string[] = [];
    const report = (message: string) => void errors.push(message);
    const started = await Promise.all(Array.from({ length: workers }, () => spawn(report)));
    const handles = started.map((s) => s.handle);
    const pool = new ThreadPool(handles, ctl, errors);
    handles.forEach((h, index) => h.post({ kind: "init", control: ctl.buffer, index }));
    try {
      await Promise.all(started.map((s) => s.ready));
    } catch (e) {
      pool.dispose();
      throw e;
    }
    return pool;
  }

  /** Threads that share a job: the workers and the caller. */
  get threads(): number {
    return this.#workers.length + 1;
  }

  #bufferId(buf: TypedArray): number {
    let id = this.#bufferIds.get(buf);
    if (id === undefined) {
      id = this.#nextBufferId++;
      this.#bufferIds.set(buf, id);
      this.#unsent.push([id, buf]);
      this.#finalizer.register(buf, id);
    }
    return id;
  }

  /** Bumps the sequence number after the job is written, wakes the workers, returns it. */
  #publish(): number {
    this.#seq = (this.#seq + 1) | 0;
    Atomics.store(this.#ctl, CONTROL.seq, this.#seq);
    Atomics.notify(this.#ctl, CONTROL.seq);
    return this.#seq;
  }

  #awaitAcks(seq: number): void {
    for (let w = 0; w < this.#workers.length; w++) {
      const at = CONTROL.workers + CONTROL.stride * w + 2;
      for (;;) {
        const seen = Atomics.load(this.#ctl, at);
        if (seen === seq) break;
        if (Atomics.wait(this.#ctl, at, seen, ACK_TIMEOUT_MS) === "timed-out") {
          throw new Error(`cpu backend: worker ${w} did not finish a job within 10 minutes`);
        }
      }
    }
  }

  /** Sends workers what they lack (new kernel, new buffers, forgotten buffers) by message. */
  #sync(kernelId: number, source: string): void {
    const needKernel = !this.#kernels.has(kernelId);
    if (!needKernel && this.#unsent.length === 0 && this.#forgotten.length === 0 && this.#inLoop) {
      return;
    }
    if (this.#inLoop) {
      Atomics.store(this.#ctl, CONTROL.cmd, CMD_EXIT);
      this.#awaitAcks(this.#publish());
      this.#inLoop = false;
    }
    for (const w of this.#workers) {
      if (this.#forgotten.length) w.post({ kind: "forget", ids: this.#forgotten });
      if (this.#unsent.length) w.post({ kind: "buffers", entries: this.#unsent.map(viewParts) });
      if (needKernel) w.post({ kind: "kernel", id: kernelId, source });
      w.post({ kind: "enter" });
    }
    this.#forgotten = [];
    this.#unsent = [];
    this.#kernels.add(kernelId);
    this.#inLoop = true;
  }

  /**
   * Runs `fn` over outer-loop iterations `[0, extent)` cut into contiguous slices that the
   * caller and the workers take in turn; each iteration runs on exactly one thread. `slots` are the
   * indices of `bufs` the kernel touches; those buffers must be shared. Returns when all are done.
   */
  run(
    kernelId: number,
    source: string,
    fn: KernelFn,
    bufs: readonly TypedArray[],
    slots: readonly number[],
    extent: number,
  ): void {
    if (slots.length > CONTROL.maxPairs) {
      throw new RangeError(`ThreadPool.run: ${slots.length} buffers, at most ${CONTROL.maxPairs}`);
    }
    const ids = slots.map((b) => this.#bufferId(bufs[b]));
    this.#sync(kernelId, source);
    const ctl = this.#ctl;
    ctl[CONTROL.cmd] = CMD_RUN;
    ctl[CONTROL.kernel] = kernelId;
    ctl[CONTROL.nPairs] = slots.length;
    slots.forEach((b, j) => {
      ctl[CONTROL.pairs + 2 * j] = b;
      ctl[CONTROL.pairs + 2 * j + 1] = ids[j];
    });
    // More slices than threads, taken first come first served: a thread the OS delays (other
    // processes on the cores) then takes fewer instead of holding the others up.
    const slices = Math.min(extent, SLICES_PER_THREAD * this.threads);
    ctl[CONTROL.extent] = extent;
    ctl[CONTROL.slices] = slices;
    Atomics.store(ctl, CONTROL.next, 0);
    for (let w = 0; w < this.#workers.length; w++) {
      ctl[CONTROL.workers + CONTROL.stride * w + 3] = 0;
    }
    const seq = this.#publish();
    try {
      for (
        let i = Atomics.add(ctl, CONTROL.next, 1);
        i < slices;
        i = Atomics.add(ctl, CONTROL.next, 1)
      ) {
        fn(
          bufs as TypedArray[],
          Math.floor((i * extent) / slices),
          Math.floor(((i + 1) * extent) / slices),
        );
      }
    } finally {
      this.#awaitAcks(seq);
    }
    for (let w = 0; w < this.#workers.length; w++) {
      if (ctl[CONTROL.workers + CONTROL.stride * w + 3] !== 0) {
        const detail = this.#errors.shift() ?? "see the worker's error output";
        throw new Error(`cpu backend: kernel ${kernelId} failed in worker ${w}: ${detail}`);
      }
    }
  }

  /** Stops every worker (a blocked worker is told to leave its loop first). */
  dispose(): void {
    if (this.#inLoop) {
      Atomics.store(this.#ctl, CONTROL.cmd, CMD_EXIT);
      this.#publish();
      this.#inLoop = false;
    }
    for (const w of this.#workers) w.terminate();
  }
}
