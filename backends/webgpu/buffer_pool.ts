/**
 * A pool of storage buffers by size class, so training loops stop allocating after one step.
 *
 * Reuse is safe without waiting for the GPU: every use of a buffer goes through the one device
 * queue, which runs submissions in order.
 *
 * @module
 */

/** `GPUBufferUsage` values, spelled out: the global does not exist where WebGPU does not. */
export const USAGE = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  STORAGE: 0x0080,
} as const;

/** Rounds a byte count up to its size class: powers of two and their 1.5 multiples, >= 16. */
export function sizeClass(bytes: number): number {
  if (bytes <= 16) return 16;
  const p = 2 ** Math.floor(Math.log2(bytes));
  if (p === bytes) return p;
  return bytes <= p * 1.5 ? p * 1.5 : p * 2;
}

/** Storage buffers of the device, recycled by size class. */
export class BufferPool {
  readonly #device: GPUDevice;
  readonly #maxPooledBytes: number;
  readonly #free = new Map<number, GPUBuffer[]>();
  #pooledBytes = 0;

  /** A pool that keeps at most `maxPooledBytes` of idle buffers. */
  constructor(device: GPUDevice, maxPooledBytes: number) {
    this.#device = device;
    this.#maxPooledBytes = maxPooledBytes;
  }

  /** Bytes held by idle buffers. */
  get pooledBytes(): number {
    return this.#pooledBytes;
  }

  /** A buffer of exactly `bytes` (a size class); `fresh` says whether it is newly zeroed. */
  acquire(bytes: number, label: string): { buffer: GPUBuffer; fresh: boolean } {
    const list = this.#free.get(bytes);
    const buffer = list?.pop();
    if (buffer !== undefined) {
      this.#pooledBytes -= bytes;
      return { buffer, fresh: false };
    }
    return {
      buffer: this.#device.createBuffer({
        label,
        size: bytes,
        usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST,
      }),
      fresh: true,
    };
  }

  /** Returns a buffer of size class `bytes`; destroys it when the pool is full. */
  release(buffer: GPUBuffer, bytes: number): void {
    if (this.#pooledBytes + bytes > this.#maxPooledBytes) {
      buffer.destroy();
      return;
    }
    let list = this.#free.get(bytes);
    if (list === undefined) this.#free.set(bytes, list = []);
    list.push(buffer);
    this.#pooledBytes += bytes;
  }

  /** Destroys every idle buffer. */
  clear(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.#pooledBytes = 0;
  }
}
