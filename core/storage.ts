/**
 * Storage: the realized data behind a leaf or a realized node, with one copy per backend.
 *
 * Host data given at creation is uploaded lazily to whichever backend first needs it; copies
 * on other backends are made on demand.
 *
 * Ownership is counted: every tensor that owns the data holds one reference
 * ({@link Storage.retain}), and {@link Storage.release} drops it, freeing the buffers at once
 * when it was the last. A graph that merely reads the data holds no reference. An owner that is
 * collected without releasing drops its reference without freeing (a graph may still read the
 * data); the buffers are then freed when the storage itself becomes unreachable. So explicit
 * releases free memory deterministically, and the collector only covers what nobody released.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import { type BufferRef, forgetLeaves } from "./ir.ts";

type Copies = Map<Backend, unknown>;

const finalizer = new FinalizationRegistry<Copies>((copies) => {
  for (const [backend, buf] of copies) backend.free(buf);
  copies.clear();
});

let nextStorageId = 1;

/** The data of one realized tensor, possibly present on several backends. */
export class Storage implements BufferRef {
  // An owner collected without releasing: its reference goes, the data stays for any graph that
  // still reads it (the storage's own finalizer frees it once nothing does).
  static #owners = new FinalizationRegistry<Storage>((s) => {
    if (s.#refs > 0) s.#refs--;
  });
  /** Unique id (shown in listings as `buf#id`). */
  readonly id: number = nextStorageId++;
  /** Element dtype. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  #host: TypedArray | undefined;
  #copies: Copies = new Map();
  #refs = 0;
  #freedBecause: string | undefined;

  private constructor(
    dtype: DType,
    size: number,
    host: TypedArray | undefined,
  ) {
    this.dtype = dtype;
    this.size = size;
    this.#host = host;
    finalizer.register(this, this.#copies, this);
  }

  /** A storage holding host data, uploaded on first use. */
  static fromHost(dtype: DType, data: TypedArray): Storage {
    return new Storage(dtype, data.length, data);
  }

  /** A storage backed by a fresh buffer of `backend`. */
  static alloc(backend: Backend, dtype: DType, size: number): Storage {
    const s = new Storage(dtype, size, undefined);
    s.#copies.set(backend, backend.alloc(dtype, size));
    return s;
  }

  /** Whether the buffers were freed (by the last owner's release or by `dispose()`). */
  get disposed(): boolean {
    return this.#freedBecause !== undefined;
  }

  /** References held by owners that have not released them. */
  get refs(): number {
    return this.#refs;
  }

  #check(op: string): void {
    if (this.#freedBecause !== undefined) {
      throw new Error(
        `${op}: buffer #${this.id} was ${this.#freedBecause}; a tensor reading it cannot be ` +
          `used (expected data that is still owned: keep a tensor that owns it undisposed)`,
      );
    }
  }

  /**
   * Adds a reference for `owner`. When `owner` is collected without {@link Storage.release},
   * its reference is dropped without freeing.
   */
  retain(owner: object): void {
    this.#check("retain");
    this.#refs++;
    Storage.#owners.register(owner, this, owner);
  }

  /**
   * Drops the reference of `owner`; the last reference frees every copy now, and later reads
   * throw an error naming `reason` (default "disposed"). Returns whether the data was freed.
   */
  release(owner: object, reason = "disposed"): boolean {
    if (this.#freedBecause !== undefined) return false;
    if (Storage.#owners.unregister(owner)) this.#refs--;
    if (this.#refs > 0) return false;
    this.dispose(reason);
    return true;
  }

  /** The buffer on `backend` if one exists already. */
  existingBuffer(backend: Backend): unknown {
    this.#check("realize");
    return this.#copies.get(backend);
  }

  /** The buffer on `backend`, uploading or copying from another backend first if needed. */
  async bufferOn(backend: Backend): Promise<unknown> {
    this.#check("realize");
    const have = this.#copies.get(backend);
    if (have !== undefined) return have;
    const data = await this.read();
    this.#check("realize");
    const again = this.#copies.get(backend);
    if (again !== undefined) return again;
    const buf = backend.alloc(this.dtype, this.size);
    backend.write(buf, data);
    this.#copies.set(backend, buf);
    this.#host = undefined;
    return buf;
  }

  /**
   * The host data given at creation, while no backend holds a copy yet (no copy is made: do not
   * write to it); `undefined` once uploaded. Lets argument checks read small host tensors
   * synchronously.
   */
  peekHost(): Readonly<TypedArray> | undefined {
    return this.disposed ? undefined : this.#host;
  }

  /** A host copy of the data. */
  async read(): Promise<TypedArray> {
    this.#check("data");
    if (this.#host !== undefined) return this.#host.slice();
    const first = this.#copies.entries().next();
    if (first.done) throw new Error(`data: buffer #${this.id} holds no data`);
    const [backend, buf] = first.value;
    return await backend.read(buf);
  }

  /**
   * Frees every copy now, whoever owns it; later use throws an error naming `reason` (default
   * "disposed"). Idempotent.
   */
  dispose(reason = "disposed"): void {
    if (this.#freedBecause !== undefined) return;
    this.#freedBecause = reason;
    this.#host = undefined;
    for (const [backend, buf] of this.#copies) backend.free(buf);
    this.#copies.clear();
    finalizer.unregister(this);
    forgetLeaves(this);
  }
}
