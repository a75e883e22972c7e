/**
 * Host memory for backends that compute on typed arrays (the interpreter and the CPU backend):
 * allocation with live-buffer accounting and a reuse pool, and the base class that gives those
 * backends their memory methods.
 *
 * @module
 */

import { allocArray, type DType, dtypeOfArray, itemSize, type TypedArray } from "../core/dtype.ts";
import { type Backend, type BackendStats, emptyStats, type Executable } from "../core/backend.ts";
import type { Program } from "../core/program.ts";

/**
 * A zeroed typed array over a SharedArrayBuffer when the platform has one (so worker threads see
 * it without a copy; browsers need cross-origin isolation for that), else over a plain buffer.
 */
export function allocShared(dtype: DType, size: number): TypedArray {
  if (typeof SharedArrayBuffer !== "function") return allocArray(dtype, size);
  const bytes = new SharedArrayBuffer(size * itemSize(dtype));
  switch (dtype) {
    case "float32":
      return new Float32Array(bytes);
    case "float64":
      return new Float64Array(bytes);
    case "int32":
      return new Int32Array(bytes);
    case "bool":
      return new Uint8Array(bytes);
  }
}

/** Typed-array buffers with live counters in `stats` and a bounded pool of freed arrays. */
export class HostMemory {
  readonly #stats: BackendStats;
  // Freed arrays are kept for reuse: touching fresh memory (page faults) costs far more than
  // zeroing warm memory, and training steps allocate the same sizes every time.
  #pool = new Map<string, TypedArray[]>();
  #pooledBytes = 0;
  /** Most bytes kept in the reuse pool (not counted as live). */
  readonly poolLimitBytes: number;

  /** Memory whose live buffers and bytes are counted in `stats`. */
  constructor(stats: BackendStats, poolLimitBytes = 256 << 20) {
    this.#stats = stats;
    this.poolLimitBytes = poolLimitBytes;
  }

  /**
   * A zeroed typed array (reusing a freed one of the same dtype and size if any); with `zero`
   * false a reused one keeps its old contents, for a caller that overwrites every element.
   */
  alloc(dtype: DType, size: number, zero = true): TypedArray {
    const bytes = size * itemSize(dtype);
    this.#stats.liveBuffers++;
    this.#stats.liveBytes += bytes;
    this.#stats.allocatedBytes += bytes;
    const reused = this.#pool.get(`${dtype}:${size}`)?.pop();
    if (reused === undefined) {
      this.#stats.freshBytes += bytes;
      return allocShared(dtype, size);
    }
    this.#pooledBytes -= reused.byteLength;
    return zero ? reused.fill(0) : reused;
  }

  /** Releases `buf` into the reuse pool (or to the garbage collector when the pool is full). */
  free(buf: TypedArray): void {
    this.#stats.liveBuffers--;
    this.#stats.liveBytes -= buf.byteLength;
    if (this.#pooledBytes + buf.byteLength > this.poolLimitBytes) return;
    const key = `${dtypeOfArray(buf)}:${buf.length}`;
    const list = this.#pool.get(key) ?? [];
    list.push(buf);
    this.#pool.set(key, list);
    this.#pooledBytes += buf.byteLength;
  }
}

/**
 * A backend whose buffers are host typed arrays: memory, transfers and statistics are shared,
 * subclasses only name themselves and compile programs.
 */
export abstract class HostBackend implements Backend<TypedArray> {
  /** Backend name. */
  abstract readonly name: string;
  /** Live counters. */
  readonly stats: BackendStats = emptyStats();
  #memory = new HostMemory(this.stats);

  /** Allocates a zeroed typed array (reusing a freed one of the same dtype and size if any). */
  alloc(dtype: DType, size: number): TypedArray {
    return this.#memory.alloc(dtype, size);
  }

  /** Like {@link HostBackend.alloc}, but a reused array keeps its old contents. */
  protected allocUnzeroed(dtype: DType, size: number): TypedArray {
    return this.#memory.alloc(dtype, size, false);
  }

  /** Copies `data` into `buf`. */
  write(buf: TypedArray, data: TypedArray): void {
    buf.set(data);
  }

  /** Returns a copy of `buf` (in a plain, unshared buffer). */
  read(buf: TypedArray): Promise<TypedArray> {
    return Promise.resolve(buf.slice());
  }

  /** Releases `buf` into the reuse pool (or to the garbage collector when the pool is full). */
  free(buf: TypedArray): void {
    this.#memory.free(buf);
  }

  /** Compiles a program into something that runs on typed arrays. */
  abstract compile(program: Program): Executable<TypedArray>;
}
