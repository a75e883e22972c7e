/**
 * What one WebGPU program may address, checked when it is compiled, before any work runs.
 *
 * Kernels index with `i32` (index expressions may be negative where a pad guards them), so a
 * kernel's loop nest (outputs times reduction length) must stay below 2^31 iterations; every
 * buffer must fit both `maxStorageBufferBindingSize` (to be bound) and `maxBufferSize`.
 *
 * @module
 */

import type { Program } from "../../core/program.ts";
import type { Kernel } from "../../core/schedule.ts";
import type { DeviceLimits } from "./device.ts";

/** Largest loop-nest size a kernel may have: its linear indices are `i32`. */
export const MAX_KERNEL_ITERATIONS = 2 ** 31 - 1;

/** The ops fused into `k`, named for messages (the materialized one last). */
function ops(k: Kernel, program: Program): string {
  return [...new Set(k.nodes.map((n) => program.nodes[n].op))].join(", ");
}

/** Throws a clear error if a kernel of `program` has more iterations than `i32` indices reach. */
export function checkKernelExtents(kernels: readonly Kernel[], program: Program): void {
  for (const k of kernels) {
    const total = k.loops.reduce((p, l) => p * l.extent, 1);
    if (total > MAX_KERNEL_ITERATIONS) {
      throw new Error(
        `webgpu: kernel ${k.id} (${ops(k, program)}) iterates over loops [${
          k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`)
        }]: ${total} iterations, more than ${MAX_KERNEL_ITERATIONS} (2^31 - 1), what the i32 ` +
          `indices of WebGPU kernels address; expected smaller tensors or reductions, or the ` +
          `"cpu" backend`,
      );
    }
  }
}

/** Throws a clear error if a buffer of `bytes` bytes for `what` exceeds the device's limits. */
export function checkBufferBytes(what: string, size: number, limits: DeviceLimits): void {
  const bytes = size * 4;
  const binding = limits.maxStorageBufferBindingSize, buffer = limits.maxBufferSize;
  const [name, max] = binding <= buffer
    ? ["maxStorageBufferBindingSize", binding]
    : ["maxBufferSize", buffer];
  if (bytes > max) {
    throw new Error(
      `webgpu: ${what} needs ${bytes} bytes (${size} elements), more than this device's ` +
        `${name} of ${max} bytes; expected smaller tensors, or the "cpu" backend`,
    );
  }
}
