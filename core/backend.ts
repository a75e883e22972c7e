/**
 * The backend interface: memory, transfers and compilation of programs.
 *
 * A backend never sees tensors: it receives a {@link Program} (the interpreter evaluates it node
 * by node; compiled backends schedule it into fused kernels) and runs it on its own buffers.
 *
 * @module
 */

import type { DType, TypedArray } from "./dtype.ts";
import type { Program } from "./program.ts";

/** Counters a backend keeps so tests and users can check fusion and leaks. */
export interface BackendStats {
  /** Kernels (or programs, for the interpreter) compiled so far. */
  kernelsCompiled: number;
  /** Kernels (or interpreted nodes) executed so far. */
  kernelsRun: number;
  /** Command submissions to a device queue (0 for synchronous backends). */
  submissions: number;
  /** Buffers allocated and not yet freed. */
  liveBuffers: number;
  /** Bytes held by live buffers. */
  liveBytes: number;
  /** Bytes of every allocation so far, including those served from a reuse pool. */
  allocatedBytes: number;
  /** Bytes of allocations that took new memory (not served from a reuse pool) so far. */
  freshBytes: number;
}

/** A compiled program, ready to run on buffers of its backend. */
export interface Executable<B> {
  /** Reads `inputs` (one buffer per program input slot) and writes one buffer per output. */
  run(inputs: readonly B[], outputs: readonly B[]): void | Promise<void>;
}

/** A place where tensors live and programs run. `B` is the backend's buffer type. */
export interface Backend<B = unknown> {
  /** Name used by `setBackend` and shown in listings. */
  readonly name: string;
  /** Allocates a zero-initialized buffer for `size` elements of `dtype`. */
  alloc(dtype: DType, size: number): B;
  /** Copies host data into `buf`. */
  write(buf: B, data: TypedArray): void;
  /** Copies `buf` back to the host. */
  read(buf: B): Promise<TypedArray>;
  /** Releases `buf`; it must not be used afterwards. */
  free(buf: B): void;
  /** Compiles a program. Callers cache the result by `program.key`. */
  compile(program: Program): Executable<B>;
  /** Live counters. */
  readonly stats: BackendStats;
}

/** Fresh zeroed statistics. */
export function emptyStats(): BackendStats {
  return {
    kernelsCompiled: 0,
    kernelsRun: 0,
    submissions: 0,
    liveBuffers: 0,
    liveBytes: 0,
    allocatedBytes: 0,
    freshBytes: 0,
  };
}
