/**
 * Storage: the realized data behind a leaf or a realized node, with one copy per backend.
 *
 * Host data given at creation is uploaded lazily to whichever backend first needs it; copies
 * on other backends are made on demand. Device memory is released by `dispose()` or, when the
 * storage becomes unreachable, by a finalizer.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import type { DType, TypedArray } from "./dtype.ts";
import type { BufferRef } from "./ir.ts";

type Copies = Map<Backend, unknown>;

const finalizer = new FinalizationRegistry<Copies>((copies) => {
  for (const [backend, buf] of copies) backend.free(buf);
  copies.clear();
});

let nextStorageId = 1;

/** The data of one realized tensor, possibly present on several backends. */
export class Storage implements BufferRef {
  /** Unique id (shown in listings as `buf#id`). */
  readonly id: number = nextStorageId++;
  /** Element dtype. */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  #host: TypedArray | undefined;
  #copies: Copies = new Map();
  #disposed = false;

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

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed;
  }

  #check(op: string): void {
    if (this.#disposed) {
      throw new Error(
        `${op}: buffer #${this.id} was disposed; a disposed tensor cannot be used`,
      );
    }
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
    return this.#disposed ? undefined : this.#host;
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

  /** Frees every copy now. Later use throws a clear error. Idempotent. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#host = undefined;
    for (const [backend, buf] of this.#copies) backend.free(buf);
    this.#copies.clear();
    finalizer.unregister(this);
  }
}
