/**
 * Pooling layers: max, average and adaptive average pooling over the last two axes.
 *
 * @module
 */

import { checkPoolPadding, fmtShape, Tensor, windowPair } from "./_deps.ts";
import type { Pair } from "./conv.ts";
import { Module } from "./module.ts";

/** Options of {@link MaxPool2d} and {@link AvgPool2d}. */
export interface PoolOptions {
  /** Stride (default: the kernel size). */
  stride?: Pair;
  /** Implicit padding on both sides (default 0). */
  padding?: Pair;
}

/** Throws, naming `op`, unless the pooling arguments are valid for any input. */
function checkPoolArgs(op: string, kernel: Pair, opts: PoolOptions & { dilation?: Pair }): void {
  const k = windowPair(op, "kernel size", kernel, 1);
  windowPair(op, "stride", opts.stride ?? kernel, 1);
  const p = windowPair(op, "padding", opts.padding ?? 0, 0);
  windowPair(op, "dilation", opts.dilation ?? 1, 1);
  checkPoolPadding(op, k, p);
}

/**
 * Max pooling (`torch.nn.MaxPool2d`; padding never wins).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { MaxPool2d } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[[[1, 2], [3, 4]]]]);
 * console.log(await new MaxPool2d(2).forward(x).data()); // [4]
 * ```
 */
export class MaxPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Pair;
  /** Stride and padding. */
  readonly options: PoolOptions & { dilation?: Pair };

  /** Pools `kernelSize` windows. */
  constructor(kernelSize: Pair, opts: PoolOptions & { dilation?: Pair } = {}) {
    super();
    checkPoolArgs("MaxPool2d", kernelSize, opts);
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }

  /** Takes the maximum of each window. */
  forward(x: Tensor): Tensor {
    return x.maxPool2d(this.kernelSize, this.options);
  }
}

/** Options of {@link AvgPool2d}: {@link PoolOptions} and PyTorch's two flags. */
export interface AvgPoolOptions extends PoolOptions {
  /** Whether zero padding counts toward each window's divisor (default `true`). */
  countIncludePad?: boolean;
  /** Ceil instead of floor for the output size (default `false`). */
  ceilMode?: boolean;
}

/**
 * Average pooling (`torch.nn.AvgPool2d`): by default padding counts as zeros; with
 * `countIncludePad: false` each window is divided by its count of input elements.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { AvgPool2d } from "@symgrad/symgrad/nn";
 * const x = Tensor.from([[[[1, 2], [3, 4]]]]);
 * console.log(await new AvgPool2d(2).forward(x).data()); // [2.5]
 * const edge = new AvgPool2d(2, { padding: 1, countIncludePad: false });
 * console.log(await edge.forward(x).data()); // [1, 2, 3, 4]
 * ```
 */
export class AvgPool2d extends Module {
  /** Window size. */
  readonly kernelSize: Pair;
  /** Stride, padding, `countIncludePad` and `ceilMode`. */
  readonly options: AvgPoolOptions;

  /** Pools `kernelSize` windows. */
  constructor(kernelSize: Pair, opts: AvgPoolOptions = {}) {
    super();
    checkPoolArgs("AvgPool2d", kernelSize, opts);
    this.kernelSize = kernelSize;
    this.options = { ...opts };
  }

  /** Averages each window. */
  forward(x: Tensor): Tensor {
    return x.avgPool2d(this.kernelSize, this.options);
  }
}

/**
 * The `[out, in]` matrix that averages PyTorch's adaptive windows: output `i` averages inputs
 * `floor(i·in/out) .. ceil((i+1)·in/out) - 1`.
 */
function adaptiveMatrix(input: number, output: number, x: Tensor): Tensor {
  const m = new Float64Array(output * input);
  for (let i = 0; i < output; i++) {
    const start = Math.floor((i * input) / output);
    const end = Math.ceil(((i + 1) * input) / output);
    for (let j = start; j < end; j++) m[i * input + j] = 1 / (end - start);
  }
  return Tensor.from(m, { shape: [output, input], dtype: x.dtype, backend: x.backend });
}

/**
 * Adaptive average pooling to a fixed output size (`torch.nn.AdaptiveAvgPool2d`); `null` keeps
 * an extent.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { AdaptiveAvgPool2d } from "@symgrad/symgrad/nn";
 * const gap = new AdaptiveAvgPool2d(1);
 * console.log(gap.forward(Tensor.ones([2, 3, 5, 7])).shape); // [2, 3, 1, 1]
 * ```
 */
export class AdaptiveAvgPool2d extends Module {
  /** Output size `[OH, OW]` (`null` keeps the input extent). */
  readonly outputSize: readonly [number | null, number | null];

  /** Pools to `outputSize`. */
  constructor(outputSize: number | null | readonly [number | null, number | null]) {
    super();
    this.outputSize = Array.isArray(outputSize)
      ? [outputSize[0], outputSize[1]]
      : [outputSize as number | null, outputSize as number | null];
    for (const s of this.outputSize) {
      if (s !== null && !(Number.isInteger(s) && s > 0)) {
        throw new Error(`AdaptiveAvgPool2d: output size ${s} must be a positive integer or null`);
      }
    }
  }

  /** Averages adaptive windows of the last two axes. */
  forward(x: Tensor): Tensor {
    if (x.ndim < 2) {
      throw new Error(`AdaptiveAvgPool2d: expected rank >= 2, got ${fmtShape(x.shape)}`);
    }
    const [h, w] = x.shape.slice(-2);
    const [oh, ow] = [this.outputSize[0] ?? h, this.outputSize[1] ?? w];
    if (oh === 1 && ow === 1) return x.mean([-2, -1], { keepdims: true });
    if (h % oh === 0 && w % ow === 0) return x.avgPool2d([h / oh, w / ow]);
    return adaptiveMatrix(h, oh, x).matmul(x).matmul(adaptiveMatrix(w, ow, x).transpose());
  }
}
