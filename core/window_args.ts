/**
 * Validation of the window arguments of convolution and pooling (kernel size, stride, padding,
 * dilation), with PyTorch's rules and errors that name the op, the argument, the value given and
 * what was expected.
 *
 * @module
 */

import { fmtShape } from "./shape.ts";

/** One number for both spatial axes, or `[height, width]`. */
export type PairArg = number | readonly [number, number];

/** `v` as `[height, width]`, or throws unless both are integers of at least `min`. */
export function windowPair(op: string, what: string, v: PairArg, min: 0 | 1): [number, number] {
  const p: [number, number] = typeof v === "number"
    ? [v, v]
    : Array.isArray(v) && v.length === 2
    ? [v[0], v[1]]
    : [NaN, NaN];
  if (!p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new Error(
      `${op}: ${what} ${JSON.stringify(v)} is invalid; expected ${
        min === 1 ? "a positive integer" : "a non-negative integer"
      } or a pair of them`,
    );
  }
  return p;
}

/** Throws unless `padding` is at most half of `kernel` on each axis (PyTorch's pooling rule). */
export function checkPoolPadding(
  op: string,
  kernel: readonly [number, number],
  padding: readonly [number, number],
): void {
  if (padding.some((p, d) => 2 * p > kernel[d])) {
    throw new Error(
      `${op}: padding ${fmtShape(padding)} is more than half the kernel size ${
        fmtShape(kernel)
      }; expected padding <= kernel size / 2`,
    );
  }
}

/** The arguments of a window op, checked. */
export interface WindowArgs {
  /** Kernel size. */
  kernel: [number, number];
  /** Stride. */
  stride: [number, number];
  /** Padding on both sides. */
  padding: [number, number];
  /** Dilation. */
  dilation: [number, number];
}

/**
 * Checks the window arguments against the spatial extents `spatial` (`[H, W]`, before padding):
 * positive kernel, stride and dilation, non-negative padding, at most half the kernel when
 * `halfKernelPadding` (PyTorch's rule for pooling), and a dilated kernel that fits the padded
 * input (an output extent of at least 1).
 */
export function checkWindow(
  op: string,
  spatial: readonly number[],
  args: { kernel: PairArg; stride: PairArg; padding: PairArg; dilation: PairArg },
  halfKernelPadding: boolean,
): WindowArgs {
  const kernel = windowPair(op, "kernel size", args.kernel, 1);
  const stride = windowPair(op, "stride", args.stride, 1);
  const padding = windowPair(op, "padding", args.padding, 0);
  const dilation = windowPair(op, "dilation", args.dilation, 1);
  if (halfKernelPadding) checkPoolPadding(op, kernel, padding);
  const padded = spatial.map((s, d) => s + 2 * padding[d]);
  const effective = kernel.map((k, d) => dilation[d] * (k - 1) + 1);
  if (padded.some((s, d) => effective[d] > s)) {
    throw new Error(
      `${op}: kernel size ${fmtShape(kernel)} with dilation ${fmtShape(dilation)} spans ${
        fmtShape(effective)
      }, more than the padded input ${fmtShape(padded)} (input ${fmtShape(spatial)}, padding ${
        fmtShape(padding)
      }); expected a kernel that fits, for an output of at least 1×1`,
    );
  }
  return { kernel, stride, padding, dilation };
}
