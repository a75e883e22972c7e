/**
 * Loop extents and buffer sizes a backend can address, checked when a program is compiled, so a
 * program that cannot run (`Tensor.ones([1]).expand([1e6, 1e6]).sum()`: 10^12 iterations) fails
 * at once with a message naming the kernel or node, its size and the limit, instead of running
 * for hours or failing half-way. Each backend passes its own limits.
 *
 * @module
 */

import { fmtShape } from "../core/shape.ts";
import type { Program } from "../core/program.ts";
import type { Schedule } from "../core/schedule.ts";

/**
 * The most elements the host backends (the interpreter and `cpu`) address in one kernel's
 * iteration space or one buffer: 2^31 - 1. Slice bounds travel to worker threads as int32, and
 * JavaScript loops over more elements than that would take minutes anyway.
 */
export const HOST_MAX_ELEMENTS = 2 ** 31 - 1;

/** What a backend can address. */
export interface ExtentLimits {
  /** The backend's name, for the message. */
  readonly backend: string;
  /** Most iterations of one kernel (the product of its loop extents). */
  readonly maxIterations: number;
  /** Most elements of one buffer. */
  readonly maxBufferElements: number;
}

const ALIASING = new Set(["reshape", "detach"]);

function limitText(n: number): string {
  return n === HOST_MAX_ELEMENTS ? `${n} (2^31 - 1)` : String(n);
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
          `${limits.backend} backend addresses at most ${
            limitText(limits.maxBufferElements)
          } elements per node`,
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
            limitText(limits.maxBufferElements)
          } elements per buffer`,
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
