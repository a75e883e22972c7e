/**
 * Weight files in the safetensors format: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets}}` (plus an optional `__metadata__` of strings), then the
 * raw little-endian tensor data.
 *
 * Tensors are written in state-dict order, contiguously, the header padded with spaces to a
 * multiple of 8 bytes, so saving what was loaded gives the same bytes. Counters such as
 * `num_batches_tracked` (held as floats here) are written as `I64`, as PyTorch stores them.
 * Reading accepts F64, F32, F16, BF16, I64, I32 and BOOL; I32 becomes int32 tensors (and int32
 * tensors are written as I32), I64 float64 tensors and half floats float32 tensors.
 *
 * @module
 */

import { type DType, fmtShape, Tensor } from "../_deps.ts";
import { Module } from "../module.ts";

/** Options of {@link save}. */
export interface SaveOptions {
  /** String metadata stored under `__metadata__`. */
  metadata?: Record<string, string>;
  /**
   * Which tensors to store as `I64` (their values must be integers). Default: those whose last
   * name component is `num_batches_tracked`.
   */
  int64?: (name: string) => boolean;
}

/** Options of {@link load}. */
export interface LoadOptions {
  /** Backend of the loaded tensors (default: the current default backend). */
  backend?: string;
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, BOOL: 1 };

const isCounter = (name: string) => name.split(".").at(-1) === "num_batches_tracked";

/** Little-endian bytes of one tensor's host data, as `dtype`. */
function encode(name: string, data: ArrayLike<number>, dtype: string): Uint8Array {
  switch (dtype) {
    case "F64":
      return new Uint8Array(Float64Array.from(data).buffer);
    case "F32":
      return new Uint8Array(Float32Array.from(data).buffer);
    case "BOOL":
      return Uint8Array.from(data, (v) => (v ? 1 : 0));
    case "I32":
      return new Uint8Array(Int32Array.from(data).buffer);
    case "I64": {
      const out = new BigInt64Array(data.length);
      for (let i = 0; i < data.length; i++) {
        if (!Number.isSafeInteger(data[i])) {
          throw new Error(
            `save: ${JSON.stringify(name)} is stored as I64 but element ${i} is ${data[i]}; ` +
              `expected safe integers`,
          );
        }
        out[i] = BigInt(data[i]);
      }
      return new Uint8Array(out.buffer);
    }
    default:
      throw new Error(`save: cannot write dtype ${dtype}`);
  }
}

/**
 * Serializes a module's state (or any record of tensors) to safetensors bytes. All tensors are
 * realized first.
 *
 * @example Round trip of a layer's state
 * ```ts
 * import { BatchNorm2d, load, save } from "@symgrad/symgrad/nn";
 * const bytes = await save(new BatchNorm2d(3));
 * const record = await load(bytes);
 * console.log(Object.keys(record)); // ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
 * console.log((await save(record)).length === bytes.length); // true
 * ```
 */
export async function save(
  source: Module | Readonly<Record<string, Tensor>>,
  opts: SaveOptions = {},
): Promise<Uint8Array> {
  const record = source instanceof Module ? source.stateDict() : source;
  const int64 = opts.int64 ?? isCounter;
  const header: Record<string, unknown> = {};
  if (opts.metadata !== undefined) header.__metadata__ = { ...opts.metadata };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(record)) {
    if (!(t instanceof Tensor)) throw new Error(`save: ${JSON.stringify(name)} is not a Tensor`);
    if (name === "__metadata__") throw new Error(`save: "__metadata__" is reserved`);
    const dtype = int64(name)
      ? "I64"
      : t.dtype === "float64"
      ? "F64"
      : t.dtype === "bool"
      ? "BOOL"
      : t.dtype === "int32"
      ? "I32"
      : "F32";
    const bytes = encode(name, await t.data(), dtype);
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Decodes IEEE half-precision bits. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** Host values of one tensor's bytes and the dtype they load as. */
function decode(bytes: Uint8Array, dtype: string): { data: ArrayLike<number>; as: DType } {
  const copy = bytes.slice(); // aligned, independent of the file's buffer
  const view = new DataView(copy.buffer);
  const n = bytes.length / BYTES[dtype];
  switch (dtype) {
    case "F64":
      return { data: new Float64Array(copy.buffer), as: "float64" };
    case "F32":
      return { data: new Float32Array(copy.buffer), as: "float32" };
    case "BOOL":
      return { data: copy, as: "bool" };
    case "I64":
      return {
        data: Float64Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true))),
        as: "float64",
      };
    case "I32":
      return {
        data: Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true)),
        as: "int32",
      };
    case "F16":
      return {
        data: Float32Array.from({ length: n }, (_, i) => halfToFloat(view.getUint16(i * 2, true))),
        as: "float32",
      };
    default: // BF16: the high half of a float32
      return {
        data: Float32Array.from({ length: n }, (_, i) => {
          const f = new DataView(new ArrayBuffer(4));
          f.setUint32(0, view.getUint16(i * 2, true) << 16);
          return f.getFloat32(0);
        }),
        as: "float32",
      };
  }
}

/** Reads the header of safetensors bytes and checks every entry against the data size. */
function parseHeader(bytes: Uint8Array): {
  entries: [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][];
  dataStart: number;
  metadata: Record<string, string> | undefined;
} {
  const fail = (why: string): never => {
    throw new Error(`load: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`${bytes.length} bytes is too short for the 8-byte header length`);
  const headerLength = Number(
    new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (8 + headerLength > bytes.length) {
    fail(
      `the header claims ${headerLength} bytes but the file has ${
        bytes.length - 8
      } after the length (truncated?)`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)),
    );
  } catch (e) {
    fail(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("the header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const { __metadata__: metadata, ...rest } = header as Record<string, unknown>;
  const entries = Object.entries(rest) as [
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] },
  ][];
  const spans: [number, number, string][] = [];
  for (const [name, e] of entries) {
    const where = `tensor ${JSON.stringify(name)}`;
    if (e === null || typeof e !== "object") fail(`${where} has no description`);
    if (!(e.dtype in BYTES)) fail(`${where} has unsupported dtype ${JSON.stringify(e.dtype)}`);
    const shapeOk = Array.isArray(e.shape) && e.shape.every((d) => Number.isInteger(d) && d >= 0);
    if (!shapeOk) fail(`${where} has invalid shape ${JSON.stringify(e.shape)}`);
    const off = e.data_offsets;
    const offOk = Array.isArray(off) && off.length === 2 && off.every((v) => Number.isInteger(v)) &&
      0 <= off[0] && off[0] <= off[1];
    if (!offOk) fail(`${where} has invalid data_offsets ${JSON.stringify(off)}`);
    if (off[1] > dataLength) {
      fail(
        `${where} ends at byte ${
          off[1]
        } of the data but only ${dataLength} bytes follow the header (truncated?)`,
      );
    }
    const expected = e.shape.reduce((a, b) => a * b, 1) * BYTES[e.dtype];
    if (off[1] - off[0] !== expected) {
      fail(
        `${where} of shape ${
          fmtShape(e.shape)
        } and dtype ${e.dtype} needs ${expected} bytes, its offsets span ${off[1] - off[0]}`,
      );
    }
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let end = 0;
  for (const [begin, stop, name] of spans) {
    if (begin !== end) {
      fail(
        `the data of ${JSON.stringify(name)} starts at ${begin}, expected ${end} (overlap or gap)`,
      );
    }
    end = stop;
  }
  if (end !== dataLength) fail(`${dataLength - end} bytes after the last tensor`);
  if (metadata !== undefined) {
    const ok = metadata !== null && typeof metadata === "object" &&
      Object.values(metadata).every((v) => typeof v === "string");
    if (!ok) fail("__metadata__ must map strings to strings");
  }
  return { entries, dataStart, metadata: metadata as Record<string, string> | undefined };
}

/**
 * Parses safetensors bytes into tensors by name, checking the whole file first: a truncated or
 * corrupt file throws a clear error.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { load, save } from "@symgrad/symgrad/nn";
 * const bytes = await save({ w: Tensor.from([1, 2, 3]) });
 * console.log(await (await load(bytes)).w.data()); // Float32Array [1, 2, 3]
 * ```
 */
export function load(bytes: Uint8Array, opts: LoadOptions = {}): Promise<Record<string, Tensor>> {
  return Promise.resolve().then(() => {
    const { entries, dataStart } = parseHeader(bytes);
    const out: Record<string, Tensor> = {};
    for (const [name, e] of entries) {
      const [b, s] = e.data_offsets;
      const { data, as } = decode(bytes.subarray(dataStart + b, dataStart + s), e.dtype);
      out[name] = Tensor.from(data as Float64Array, {
        shape: e.shape,
        dtype: as,
        backend: opts.backend,
      });
    }
    return out;
  });
}

/** The `__metadata__` strings of safetensors bytes (`{}` when absent). */
export function metadataOf(bytes: Uint8Array): Record<string, string> {
  return { ...parseHeader(bytes).metadata };
}

/**
 * Loads safetensors bytes into `module`. The file and the state are validated completely before
 * anything changes: on any error the module is left as it was.
 *
 * @example
 * ```ts
 * import { Linear, loadWeights, save } from "@symgrad/symgrad/nn";
 * const a = new Linear(2, 2, { seed: 1 }), b = new Linear(2, 2, { seed: 2 });
 * await loadWeights(b, await save(a));
 * console.log(await b.weight.data(), await a.weight.data()); // equal
 * ```
 */
export async function loadWeights(
  module: Module,
  bytes: Uint8Array,
  opts: { strict?: boolean } = {},
): Promise<void> {
  const record = await load(bytes);
  module.loadStateDict(record, opts);
}
