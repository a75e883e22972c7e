/**
 * Mini-batches that do not recompile.
 *
 * Slicing a resident data set at a new offset each step (`x.slice([[i, i + 32]])`) puts the
 * offset into the graph, so every offset compiles its own program. A {@link DataLoader}
 * instead copies each batch's rows on the host into a fresh leaf tensor: a leaf's data is a
 * program input, so every batch of the same shape reuses the step's compiled kernels.
 *
 * @module
 */

import { fmtShape, Tensor, uniformStream } from "./_deps.ts";
import type { TypedArray } from "../core/dtype.ts";

/** Options of {@link DataLoader.from}. */
export interface DataLoaderOptions {
  /** Rows per batch. */
  batchSize: number;
  /** Draw the rows in a new random order every epoch (default `false`). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0): the same seed gives the same batches. */
  seed?: number;
  /** Skip the last batch when it is smaller than `batchSize` (default `false`). */
  dropLast?: boolean;
  /**
   * Keep every batch alive until the caller disposes it (default `false`: drawing a batch
   * disposes the one before, and `dispose()` the last one, so memory does not wait for the
   * garbage collector; a batch is then valid until the next one is drawn).
   */
  retain?: boolean;
}

/** One column of a data set: its rows on the host and where its batches go. */
interface Column {
  values: TypedArray;
  rowShape: readonly number[];
  rowSize: number;
  tensor: Tensor;
}

/**
 * Batches over one or more tensors of equal length along axis 0 (images and labels, say),
 * like PyTorch's `DataLoader` over a `TensorDataset`. Each epoch (each iteration over the
 * loader) yields `[batch of column 0, batch of column 1, ...]`, every batch a fresh leaf on its
 * column's backend and dtype. A shorter last batch (without `dropLast`) has its own shape and
 * compiles its own program once.
 *
 * @example 50 steps over shuffled batches compile only the first
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { DataLoader, Linear, mseLoss, SGD, trainStep } from "@symgrad/symgrad/nn";
 * const x = Tensor.randn([100, 3], { seed: 1 }), y = Tensor.randn([100, 1], { seed: 2 });
 * const loader = await DataLoader.from([x, y], { batchSize: 10, shuffle: true, seed: 7 });
 * const model = new Linear(3, 1, { seed: 0 });
 * const opt = new SGD(model, { lr: 0.05 });
 * for (let epoch = 0; epoch < 5; epoch++) {
 *   for (const [xb, yb] of loader) {
 *     await trainStep(model, opt, () => mseLoss(model.forward(xb), yb));
 *   }
 * }
 * console.log(loader.length); // 10
 * ```
 */
export class DataLoader implements Iterable<Tensor[]>, Disposable {
  /** Rows in the data set. */
  readonly rows: number;
  /** Rows per batch. */
  readonly batchSize: number;
  readonly #columns: readonly Column[];
  readonly #shuffle: boolean;
  readonly #dropLast: boolean;
  readonly #retain: boolean;
  #rng: () => number;
  #previous: Tensor[] = [];

  private constructor(columns: Column[], rows: number, opts: DataLoaderOptions) {
    this.#columns = columns;
    this.rows = rows;
    this.batchSize = opts.batchSize;
    this.#shuffle = opts.shuffle ?? false;
    this.#dropLast = opts.dropLast ?? false;
    this.#retain = opts.retain ?? false;
    this.#rng = uniformStream(opts.seed ?? 0);
  }

  /**
   * A loader over `columns`, which must share their first dimension. Reads each column to the
   * host once; the tensors themselves are left as they are.
   */
  static async from(columns: readonly Tensor[], opts: DataLoaderOptions): Promise<DataLoader> {
    const op = "DataLoader.from";
    if (columns.length === 0) throw new Error(`${op}: expected at least one tensor`);
    if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) {
      throw new Error(`${op}: batchSize must be a positive integer; got ${opts.batchSize}`);
    }
    for (const [i, t] of columns.entries()) {
      if (t.shape.length === 0) {
        throw new Error(`${op}: tensor ${i} is a scalar; expected rows along axis 0`);
      }
      if (t.shape[0] !== columns[0].shape[0]) {
        throw new Error(
          `${op}: tensor ${i} has shape ${fmtShape(t.shape)} and tensor 0 ` +
            `${fmtShape(columns[0].shape)}; expected the same length along axis 0`,
        );
      }
    }
    const cols = await Promise.all(columns.map(async (tensor) => {
      const rowShape = tensor.shape.slice(1);
      return {
        values: await tensor.data(),
        rowShape,
        rowSize: rowShape.reduce((a, b) => a * b, 1),
        tensor,
      };
    }));
    return new DataLoader(cols, columns[0].shape[0], opts);
  }

  /** Batches per epoch (PyTorch's `len(loader)`). */
  get length(): number {
    return this.#dropLast
      ? Math.floor(this.rows / this.batchSize)
      : Math.ceil(this.rows / this.batchSize);
  }

  /** One epoch of batches, in a fresh order when shuffling. */
  *[Symbol.iterator](): Iterator<Tensor[]> {
    const order = this.#order();
    for (let b = 0; b < this.length; b++) {
      const rows = order.subarray(b * this.batchSize, (b + 1) * this.batchSize);
      if (!this.#retain) { for (const t of this.#previous) t.dispose(); }
      const batch = this.#columns.map((c) => gather(c, rows));
      if (!this.#retain) this.#previous = batch;
      yield batch;
    }
  }

  /** Disposes the last batch drawn (unless `retain`); the loader can still be iterated. */
  dispose(): void {
    for (const t of this.#previous) t.dispose();
    this.#previous = [];
  }

  /** `using loader = …` disposes the last batch at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** The row order of the next epoch (a Fisher-Yates shuffle when shuffling). */
  #order(): Uint32Array {
    const p = Uint32Array.from({ length: this.rows }, (_, i) => i);
    if (!this.#shuffle) return p;
    for (let i = p.length - 1; i > 0; i--) {
      const j = Math.floor(this.#rng() * (i + 1));
      [p[i], p[j]] = [p[j], p[i]];
    }
    return p;
  }
}

/** The rows `rows` of column `c` as a fresh leaf on its backend. */
function gather(c: Column, rows: Uint32Array): Tensor {
  const out = new (c.values.constructor as new (n: number) => TypedArray)(rows.length * c.rowSize);
  for (let r = 0; r < rows.length; r++) {
    const at = rows[r] * c.rowSize;
    out.set(c.values.subarray(at, at + c.rowSize), r * c.rowSize);
  }
  return Tensor.from(out, {
    shape: [rows.length, ...c.rowShape],
    dtype: c.tensor.dtype,
    backend: c.tensor.backend,
  });
}
