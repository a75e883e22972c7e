/**
 * A small pool of workers that run slices of a kernel's outermost output loop on shared buffers.
 *
 * Jobs go through a shared control block (`Atomics.wait`/`notify`, a few microseconds per job);
 * messages (tens of microseconds each) are only used to hand workers new kernels and buffers, so
 * a training step whose buffers come from the reuse pool sends none after its first runs.
 * Workers are unreferenced (they never keep the process alive) and end with {@link
 * ThreadPool.dispose}.
 *
 * A worker that dies (killed, or an error outside a kernel) never acknowledges its job. The caller
 * waits for acknowledgements synchronously for a few milliseconds only; after that it waits in
 * short slices between which the event loop runs, so the worker's `exit`/`error` event arrives:
 * the job then fails with an error naming the worker and the kernel, every worker is stopped (none
 * can write into the job's buffers afterwards) and the pool reports itself {@link
 * ThreadPool.broken}, so that its owner starts a new one for later runs.
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
  /** Resolves when the worker has stopped (its `exit` event, or at once where there is none). */
  readonly exited: Promise<void>;
}

/** What a worker reports to its pool. */
interface WorkerEvents {
  /** A kernel threw inside the worker (the job is flagged failed and acknowledged). */
  onKernelError(message: string): void;
  /** The worker stopped or broke outside a kernel (its job, if any, will never be acknowledged). */
  onDeath(reason: string): void;
}

// Slices per thread when a loop is shared out.
const SLICES_PER_THREAD = 4;

// A worker that takes longer than this to acknowledge a job is taken as dead.
const ACK_TIMEOUT_MS = 600_000;

// The caller blocks this long waiting for acknowledgements (no events arrive meanwhile), then
// waits in slices of POLL_WAIT_MS with a turn of the event loop between them.
const SYNC_WAIT_MS = 10;
const POLL_WAIT_MS = 2;

// How long a stopped pool waits for its workers' exit events before giving up on them.
const EXIT_WAIT_MS = 2000;

/** One turn of the event loop (a timer: worker events are delivered before it fires). */
function yieldToEvents(): Promise<void> {
  return new Promise((done) => setTimeout(done, 0));
}

/** Whether `buf` lives in a SharedArrayBuffer (so workers can see it without a copy). */
export function isShared(buf: TypedArray): boolean {
  return typeof SharedArrayBuffer === "function" && buf.buffer instanceof SharedArrayBuffer;
}

interface Spawned {
  handle: WorkerHandle;
  ready: Promise<void>;
}

async function spawn(events: WorkerEvents): Promise<Spawned> {
  const ready = Promise.withResolvers<void>();
  const exited = Promise.withResolvers<void>();
  const onMessage = (m: { kind: string; message?: string }) => {
    if (m.kind === "ready") ready.resolve();
    else if (m.kind === "error") events.onKernelError(m.message ?? "unknown error");
  };
  let handle: WorkerHandle;
  try {
    // Deno and Node: a worker that can be unreferenced, so it never holds the process open.
    const { Worker } = await import("node:worker_threads");
    const w = new Worker(WORKER_SOURCE, { eval: true });
    // Referenced until ready (the caller awaits that), unreferenced afterwards.
    ready.promise.then(() => w.unref(), () => {});
    w.on("message", onMessage);
    w.on("error", (e: Error) => {
      ready.reject(e);
      events.onDeath(`failed: ${e?.stack ?? e}`);
    });
    w.on("messageerror", (e: unknown) => events.onDeath(`could not read a message: ${e}`));
    w.on("exit", (code: number) => {
      ready.reject(new Error(`worker exited with code ${code} before it was ready`));
      events.onDeath(`exited with code ${code}`);
      exited.resolve();
    });
    handle = {
      post: (m) => w.postMessage(m),
      terminate: () => void w.terminate(),
      exited: exited.promise,
    };
  } catch {
    // Browsers: a module worker from a Blob URL (no file to fetch). A web worker has no exit
    // event; it stops at once when terminated.
    const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const w = new Worker(url, { type: "module" });
    URL.revokeObjectURL(url);
    w.onmessage = (e) => onMessage(e.data);
    w.onerror = (e) => {
      ready.reject(new Error(e.message));
      events.onDeath(`failed: ${e.message}`);
    };
    w.onmessageerror = () => events.onDeath("could not read a message");
    handle = {
      post: (m) => w.postMessage(m),
      terminate: () => {
        w.terminate();
        exited.resolve();
      },
      exited: exited.promise,
    };
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
  const kind = buf instanceof Float32Array
    ? "f32"
    : buf instanceof Float64Array
    ? "f64"
    : buf instanceof Int32Array
    ? "i32"
    : "u8";
  return [id, buf.buffer, kind, buf.byteOffset, buf.length];
}

/**
 * Test-only hooks (not part of the package's API): `afterPublish` runs right after a job is
 * handed to the workers, before the caller takes its slices.
 */
export const threadPoolTestHooks: { afterPublish?: (pool: ThreadPool) => void } = {};

/** Workers that each take one slice of a kernel's outer loop while the caller takes another. */
export class ThreadPool {
  readonly #workers: WorkerHandle[] = [];
  readonly #ctl: Int32Array;
  #seq = 0;
  #inLoop = false;
  readonly #errors: string[] = [];
  #kernels = new Set<number>();
  #bufferIds = new WeakMap<TypedArray, number>();
  #nextBufferId = 1;
  #unsent: [number, TypedArray][] = [];
  #forgotten: number[] = [];
  #finalizer = new FinalizationRegistry<number>((id) => this.#forgotten.push(id));
  /** Why the pool can no longer run jobs (a worker died, or the pool was stopped). */
  #broken: string | undefined;
  #stopping = false;
  /** The kernel of the job in flight, for messages. */
  #running: number | undefined;
  /** A job that did not finish synchronously; later jobs wait for it. */
  #pending: Promise<void> | undefined;

  private constructor(ctl: Int32Array) {
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
    const pool = new ThreadPool(ctl);
    const started = await Promise.all(Array.from({ length: workers }, (_, w) =>
      spawn({
        onKernelError: (message) => void pool.#errors.push(message),
        onDeath: (reason) => pool.#onDeath(w, reason),
      })));
    pool.#workers.push(...started.map((s) => s.handle));
    pool.#workers.forEach((h, index) => h.post({ kind: "init", control: ctl.buffer, index }));
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

  /**
   * Why the pool cannot run jobs any more (a worker died, or it was disposed), or undefined while
   * it can. A broken pool has stopped all its workers; its owner should start a new one.
   */
  get broken(): string | undefined {
    return this.#broken;
  }

  /** A worker stopped on its own (or failed outside a kernel): stop them all. */
  #onDeath(w: number, reason: string): void {
    if (this.#stopping) return;
    const during = this.#running === undefined ? "between jobs" : `running kernel ${this.#running}`;
    this.#broken = `worker ${w} ${reason} while ${during}`;
    this.#stop();
  }

  /** Terminates every worker; exits reported from now on are expected. */
  #stop(): void {
    this.#stopping = true;
    this.#inLoop = false;
    for (const w of this.#workers) w.terminate();
  }

  #brokenError(kernelId: number): Error {
    return new Error(
      `cpu backend: kernel ${kernelId} cannot run: ${this.#broken} (the worker pool is stopped; ` +
        `the next run starts new workers)`,
    );
  }

  /** Test-only: terminates worker `w` without telling the pool, as a crash would. */
  killWorkerForTesting(w: number): void {
    this.#workers[w].terminate();
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

  #ackAt(w: number): number {
    return CONTROL.workers + CONTROL.stride * w + 2;
  }

  /**
   * Waits until every worker has acknowledged job `seq`: synchronously for up to SYNC_WAIT_MS,
   * then (returning a promise) in slices that let worker exit events arrive.
   */
  #awaitAcks(seq: number, kernelId: number): void | Promise<void> {
    const deadline = performance.now() + SYNC_WAIT_MS;
    for (let w = 0; w < this.#workers.length; w++) {
      for (;;) {
        if (this.#broken !== undefined) return this.#awaitAcksAsync(seq, kernelId, w);
        const seen = Atomics.load(this.#ctl, this.#ackAt(w));
        if (seen === seq) break;
        const left = deadline - performance.now();
        if (left <= 0) return this.#awaitAcksAsync(seq, kernelId, w);
        Atomics.wait(this.#ctl, this.#ackAt(w), seen, left);
      }
    }
  }

  async #awaitAcksAsync(seq: number, kernelId: number, from: number): Promise<void> {
    const start = performance.now();
    for (let w = from; w < this.#workers.length; w++) {
      for (;;) {
        if (this.#broken !== undefined) {
          // No worker may still write into the job's buffers once the caller sees the error.
          const timeout = new Promise((done) => setTimeout(done, EXIT_WAIT_MS));
          await Promise.race([Promise.all(this.#workers.map((h) => h.exited)), timeout]);
          throw this.#brokenError(kernelId);
        }
        const seen = Atomics.load(this.#ctl, this.#ackAt(w));
        if (seen === seq) break;
        if (performance.now() - start > ACK_TIMEOUT_MS) {
          this.#broken = `worker ${w} did not finish a job within ${
            ACK_TIMEOUT_MS / 60_000
          } minutes`;
          this.#stop();
          continue;
        }
        const r = Atomics.wait(this.#ctl, this.#ackAt(w), seen, POLL_WAIT_MS);
        if (r === "timed-out") await yieldToEvents();
      }
    }
  }

  /** Runs `next` after `step` (now, or when its promise settles) and returns what it returns. */
  #then(step: void | Promise<void>, next: () => void | Promise<void>): void | Promise<void> {
    return step === undefined ? next() : step.then(next);
  }

  /** Sends workers what they lack (new kernel, new buffers, forgotten buffers) by message. */
  #sync(kernelId: number, source: string): void | Promise<void> {
    const needKernel = !this.#kernels.has(kernelId);
    if (!needKernel && this.#unsent.length === 0 && this.#forgotten.length === 0 && this.#inLoop) {
      return;
    }
    let left: void | Promise<void> = undefined;
    if (this.#inLoop) {
      Atomics.store(this.#ctl, CONTROL.cmd, CMD_EXIT);
      left = this.#awaitAcks(this.#publish(), kernelId);
    }
    return this.#then(left, () => {
      if (this.#broken !== undefined) throw this.#brokenError(kernelId);
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
    });
  }

  /**
   * Runs `fn` over outer-loop iterations `[0, extent)` cut into contiguous slices that the
   * caller and the workers take in turn; each iteration runs on exactly one thread. `slots` are the
   * indices of `bufs` the kernel touches; those buffers must be shared. Returns when all are done,
   * or a promise when the workers took longer than a few milliseconds (the caller must await it
   * before it reads the results or runs another job). Throws (or rejects) when a worker died.
   */
  run(
    kernelId: number,
    source: string,
    fn: KernelFn,
    bufs: readonly TypedArray[],
    slots: readonly number[],
    extent: number,
  ): void | Promise<void> {
    if (this.#pending !== undefined) {
      // After the job in flight (whether it failed or not), in the order of the calls.
      const next = () => this.#runNow(kernelId, source, fn, bufs, slots, extent);
      return this.#track(this.#pending.then(next, next));
    }
    const done = this.#runNow(kernelId, source, fn, bufs, slots, extent);
    return done === undefined ? undefined : this.#track(done);
  }

  #runNow(
    kernelId: number,
    source: string,
    fn: KernelFn,
    bufs: readonly TypedArray[],
    slots: readonly number[],
    extent: number,
  ): void | Promise<void> {
    if (this.#broken !== undefined) throw this.#brokenError(kernelId);
    if (slots.length > CONTROL.maxPairs) {
      throw new RangeError(`ThreadPool.run: ${slots.length} buffers, at most ${CONTROL.maxPairs}`);
    }
    const ids = slots.map((b) => this.#bufferId(bufs[b]));
    return this.#then(
      this.#sync(kernelId, source),
      () => this.#job(kernelId, fn, bufs, slots, ids, extent),
    );
  }

  /** Makes later jobs wait for `p`, until it settles. */
  #track(p: Promise<void>): Promise<void> {
    this.#pending = p;
    const clear = () => {
      if (this.#pending === p) this.#pending = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  #job(
    kernelId: number,
    fn: KernelFn,
    bufs: readonly TypedArray[],
    slots: readonly number[],
    ids: readonly number[],
    extent: number,
  ): void | Promise<void> {
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
    this.#running = kernelId;
    const seq = this.#publish();
    threadPoolTestHooks.afterPublish?.(this);
    let failure: { error: unknown } | undefined;
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
    } catch (error) {
      failure = { error };
    }
    const finish = () => {
      this.#running = undefined;
      if (failure !== undefined) throw failure.error;
      for (let w = 0; w < this.#workers.length; w++) {
        if (ctl[CONTROL.workers + CONTROL.stride * w + 3] !== 0) {
          const detail = this.#errors.shift() ?? "see the worker's error output";
          throw new Error(`cpu backend: kernel ${kernelId} failed in worker ${w}: ${detail}`);
        }
      }
    };
    const acks = this.#awaitAcks(seq, kernelId);
    if (acks === undefined) return finish();
    return acks.then(finish, (e) => {
      this.#running = undefined;
      throw e;
    });
  }

  /** Stops every worker (a blocked worker is told to leave its loop first). */
  dispose(): void {
    if (this.#inLoop && this.#broken === undefined) {
      Atomics.store(this.#ctl, CONTROL.cmd, CMD_EXIT);
      this.#publish();
    }
    this.#broken ??= "the pool was disposed";
    this.#stop();
  }
}
