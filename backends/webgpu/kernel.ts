/**
 * The runtime's view of a rendered kernel: WGSL source, which buffers it binds, how many
 * workgroups it needs. Renderers produce these; the runtime only encodes them.
 *
 * @module
 */

/** A buffer a kernel binds: a schedule buffer (by index) or a scratch buffer of the plan. */
export type Binding =
  | { readonly kind: "buffer"; readonly buffer: number }
  | { readonly kind: "scratch"; readonly id: number };

/** One compute dispatch. Binding `i` of the source is `bindings[i]`; the last one is written. */
export interface RenderedKernel {
  /** A short description for labels and error messages. */
  readonly label: string;
  /** Complete WGSL module with entry point `main`. */
  readonly source: string;
  /** Buffers in binding order; every binding but the last is read-only. */
  readonly bindings: readonly Binding[];
  /** Total workgroups (the runtime splits them over dispatch dimensions). */
  readonly workgroups: number;
}

/**
 * Scratch buffers a plan needs besides program values: partial results of split reductions, or
 * several small inputs packed into one binding (filled by `copies` right before the kernel runs).
 */
export interface ScratchBuffer {
  /** Identifier referenced by {@link Binding}. */
  readonly id: number;
  /** Size in bytes. */
  readonly bytes: number;
  /** Schedule buffers copied in (bytes from the start of `buffer` to `offset`), if packed. */
  readonly copies?: readonly { buffer: number; offset: number; bytes: number }[];
}
