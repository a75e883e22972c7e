/**
 * `Conv2d` with PyTorch's semantics, state names and default initialization.
 *
 * @module
 */

import { type Tensor, windowPair } from "./_deps.ts";
import { type InitOptions, kaimingUniform, uniform } from "./init.ts";
import { Module } from "./module.ts";

/** A size for both spatial axes, or `[height, width]`. */
export type Pair = number | readonly [number, number];

/** Options of {@link Conv2d}. */
export interface Conv2dOptions extends InitOptions {
  /** Stride (default 1). */
  stride?: Pair;
  /** Zero padding on both sides (default 0). */
  padding?: Pair;
  /** Dilation (default 1). */
  dilation?: Pair;
  /** Groups (default 1). */
  groups?: number;
  /** Learn an additive `bias` (default `true`). */
  bias?: boolean;
}

/**
 * 2-D convolution of `[N, Cin, H, W]` inputs (`torch.nn.Conv2d`, zero padding). Weight
 * `[Cout, Cin / groups, KH, KW]` from Kaiming-uniform with `a = √5`, bias from
 * `U(-1/√fanIn, 1/√fanIn)`, seeded by `seed` (bias uses `seed + 1`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Conv2d } from "@symgrad/symgrad/nn";
 * const conv = new Conv2d(3, 8, 3, { padding: 1, seed: 0 });
 * console.log(conv.forward(Tensor.ones([1, 3, 5, 5])).shape); // [1, 8, 5, 5]
 * ```
 */
export class Conv2d extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** Kernel size `[KH, KW]`. */
  readonly kernelSize: readonly [number, number];
  /** Stride. */
  readonly stride: readonly [number, number];
  /** Padding. */
  readonly padding: readonly [number, number];
  /** Dilation. */
  readonly dilation: readonly [number, number];
  /** Groups. */
  readonly groups: number;
  /** Weight `[Cout, Cin / groups, KH, KW]`. */
  weight: Tensor;
  /** Bias `[Cout]`, or `null`. */
  bias: Tensor | null;

  /** A convolution from `inChannels` to `outChannels` with a `kernelSize` window. */
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, opts: Conv2dOptions = {}) {
    super();
    const groups = opts.groups ?? 1;
    for (const [what, n] of [["inChannels", inChannels], ["outChannels", outChannels]] as const) {
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(`Conv2d: ${what} ${n} is invalid; expected a positive integer`);
      }
    }
    if (!Number.isInteger(groups) || groups < 1) {
      throw new Error(`Conv2d: groups ${groups} is invalid; expected a positive integer`);
    }
    if (
      inChannels % groups !== 0 ||
      outChannels % groups !== 0
    ) {
      throw new Error(
        `Conv2d: inChannels ${inChannels} and outChannels ${outChannels} must be divisible by ` +
          `groups ${groups}`,
      );
    }
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = windowPair("Conv2d", "kernel size", kernelSize, 1);
    this.stride = windowPair("Conv2d", "stride", opts.stride ?? 1, 1);
    this.padding = windowPair("Conv2d", "padding", opts.padding ?? 0, 0);
    this.dilation = windowPair("Conv2d", "dilation", opts.dilation ?? 1, 1);
    this.groups = groups;
    const [kh, kw] = this.kernelSize;
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = kaimingUniform([outChannels, inChannels / groups, kh, kw], fanIn, {
      ...opts,
      a: Math.sqrt(5),
    });
    const seed = opts.seed === undefined ? undefined : opts.seed + 1;
    this.bias = opts.bias === false
      ? null
      : uniform([outChannels], 1 / Math.sqrt(fanIn), { ...opts, seed });
  }

  /** Convolves `x`. */
  forward(x: Tensor): Tensor {
    return x.conv2d(this.weight, {
      bias: this.bias ?? undefined,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }
}
