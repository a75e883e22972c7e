/**
 * What each backend can address, in one place, checked when a program is compiled: a program
 * that cannot run (`Tensor.ones([1]).expand([1e6, 1e6]).sum()`: 10^12 iterations) fails at once
 * with a RangeError naming the backend, the kernel or node, its size and the limit, instead of
 * running for hours or failing half-way.
 *
 * | backend       | iterations per kernel | elements per buffer              |
 * | ------------- | --------------------- | -------------------------------- |
 * | `interpreter` | 2^31 - 1 (per node)   | 2^31 - 1                         |
 * | `cpu`         | 2^31 - 1              | 2^31 - 1                         |
 * | `webgpu`      | 2^31 - 1              | the device's buffer limit / 4    |
 *
 * The common 2^31 - 1 is that of 32-bit signed indices: the CPU backend hands slice bounds to
 * its worker threads as int32 and WGSL kernels index with `i32` (an index may be negative where
 * a pad guards it); the interpreter keeps the host bound. WebGPU buffers hold 4-byte float32
 * elements and must fit both `maxStorageBufferBindingSize` (to be bound) and `maxBufferSize`,
 * which vary by adapter; buffers made outside a program (uploads) are checked when allocated.
 *
 * @module
 */

import { fmtShape } from "../core/shape.ts";
import type { Program } from "../core/program.ts";
import type { Schedule } from "../core/schedule.ts";

/** The most iterations of one kernel, and elements of one host buffer: 2^31 - 1 (int32). */
export const MAX_EXTENT = 2 ** 31 - 1;

/** What a backend can address. */
export interface ExtentLimits {
  /** The backend's name, for the message. */
  readonly backend: string;
  /** Most iterations of one kernel (the product of its loop extents). */
  readonly maxIterations: number;
  /** Most elements of one buffer. */
  readonly maxBufferElements: number;
  /** Why the buffer limit is what it is, appended to its message (e.g. a device limit). */
  readonly bufferLimitReason?: string;
}

/** The interpreter's limits (it evaluates node by node: each node is one buffer and loop). */
export const INTERPRETER_LIMITS: ExtentLimits = {
  backend: "interpreter",
  maxIterations: MAX_EXTENT,
  maxBufferElements: MAX_EXTENT,
};

/** The CPU backend's limits. */
export const CPU_LIMITS: ExtentLimits = {
  backend: "cpu",
  maxIterations: MAX_EXTENT,
  maxBufferElements: MAX_EXTENT,
};

/** The buffer-size limits of a WebGPU device, in bytes (see `GPUSupportedLimits`). */
export interface WebGpuBufferLimits {
  /** Largest storage buffer binding. */
  readonly maxStorageBufferBindingSize: number;
  /** Largest buffer. */
  readonly maxBufferSize: number;
}

/** Bytes of one WebGPU buffer element (float32). */
const WEBGPU_ELEMENT_BYTES = 4;

/** The tighter of the two buffer limits of a device, by name. */
function webgpuBufferLimit(device: WebGpuBufferLimits): { name: string; bytes: number } {
  const binding = device.maxStorageBufferBindingSize, buffer = device.maxBufferSize;
  return binding <= buffer
    ? { name: "maxStorageBufferBindingSize", bytes: binding }
    : { name: "maxBufferSize", bytes: buffer };
}

/** The limits of a WebGPU backend on a device with `device`'s buffer limits. */
export function webgpuLimits(device: WebGpuBufferLimits): ExtentLimits {
  const { name, bytes } = webgpuBufferLimit(device);
  return {
    backend: "webgpu",
    maxIterations: MAX_EXTENT,
    maxBufferElements: Math.floor(bytes / WEBGPU_ELEMENT_BYTES),
    bufferLimitReason: `this device's ${name} of ${bytes} bytes`,
  };
}

/**
 * Throws unless a WebGPU buffer of `size` elements for `what` fits `device`'s limits (for
 * buffers made outside a compiled program: uploads, scratch).
 */
export function checkBufferBytes(what: string, size: number, device: WebGpuBufferLimits): void {
  const bytes = size * WEBGPU_ELEMENT_BYTES;
  const max = webgpuBufferLimit(device);
  if (bytes > max.bytes) {
    throw new RangeError(
      `webgpu: ${what} needs ${bytes} bytes (${size} elements), more than this device's ` +
        `${max.name} of ${max.bytes} bytes; expected smaller tensors, or the "cpu" backend`,
    );
  }
}

const ALIASING = new Set(["reshape", "detach"]);

function limitText(n: number): string {
  return n === MAX_EXTENT ? `${n} (2^31 - 1)` : String(n);
}

function bufferLimitText(limits: ExtentLimits): string {
  const reason = limits.bufferLimitReason ? ` (${limits.bufferLimitReason})` : "";
  return `${limitText(limits.maxBufferElements)} elements${reason}`;
}

function describeNode(program: Program, id: number): string {
  const n = program.nodes[id];
  const from = n.inputs.length ? `${fmtShape(program.nodes[n.inputs[0]].shape)} -> ` : "";
  return `node ${id} (${n.op} ${from}${fmtShape(n.shape)})`;
}

/**
 * Throws a RangeError naming the first node of `program` whose result has more elements than one
 * buffer may hold (for backends that evaluate node by node, where that is also the largest
 * iteration space: a reduction iterates over its input node).
 */
export function checkProgramExtents(program: Program, limits: ExtentLimits): void {
  program.nodes.forEach((n, id) => {
    const size = n.shape.reduce((p, d) => p * d, 1);
    if (size > limits.maxBufferElements) {
      throw new RangeError(
        `${limits.backend}: ${describeNode(program, id)} has ${size} elements; the ` +
          `${limits.backend} backend addresses at most ${bufferLimitText(limits)} per node`,
      );
    }
  });
}

/**
 * Throws a RangeError naming the first kernel of `s` whose iteration space (the product of its
 * loop extents), or the first buffer, exceeds `limits`. `program` is the one `s` schedules.
 */
export function checkScheduleExtents(program: Program, s: Schedule, limits: ExtentLimits): void {
  s.buffers.forEach((b) => {
    if (b.size > limits.maxBufferElements) {
      throw new RangeError(
        `${limits.backend}: the buffer of ${describeNode(program, b.node)} has ${b.size} ` +
          `elements; the ${limits.backend} backend addresses at most ${
            bufferLimitText(limits)
          } per buffer`,
      );
    }
  });
  for (const k of s.kernels) {
    const iterations = k.loops.reduce((p, l) => p * l.extent, 1);
    if (iterations > limits.maxIterations) {
      const loops = k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`).join("×");
      // The node that does the work, not a reshape of it that owns the output buffer.
      const computed = k.nodes.findLast((id) => !ALIASING.has(program.nodes[id].op)) ??
        k.nodes[k.nodes.length - 1];
      throw new RangeError(
        `${limits.backend}: kernel ${k.id} computing ${
          describeNode(program, computed)
        } iterates ${iterations} times (loops ${loops}); the ${limits.backend} backend ` +
          `addresses at most ${limitText(limits.maxIterations)} iterations per kernel`,
      );
    }
  }
}
