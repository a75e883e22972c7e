/**
 * A small CNN for MNIST whose two normalization layers are chosen by the caller, so the same
 * network can be trained with `BatchNorm2d` and with `RepresentativeBatchNorm2d`.
 *
 * @module
 */

import type { Tensor } from "../mod.ts";
import { Conv2d, Linear, MaxPool2d, Module, ReLU } from "../nn/mod.ts";

/** Builds a normalization layer over `channels` channels. */
export type NormFactory = (channels: number) => Module & { forward(x: Tensor): Tensor };

/** conv(1→8) · norm · relu · pool · conv(8→16) · norm · relu · pool · linear(784→10). */
export class SmallCnn extends Module {
  /** First convolution, 3×3, padding 1. */
  conv1: Conv2d;
  /** First normalization layer. */
  norm1: Module & { forward(x: Tensor): Tensor };
  /** Second convolution, 3×3, padding 1. */
  conv2: Conv2d;
  /** Second normalization layer. */
  norm2: Module & { forward(x: Tensor): Tensor };
  /** The classifier. */
  fc: Linear;
  #relu = new ReLU();
  #pool = new MaxPool2d(2);

  /** A network with fresh weights drawn from `seed`. */
  constructor(norm: NormFactory, seed: number) {
    super();
    this.conv1 = new Conv2d(1, 8, 3, { padding: 1, seed });
    this.norm1 = norm(8);
    this.conv2 = new Conv2d(8, 16, 3, { padding: 1, seed: seed + 1 });
    this.norm2 = norm(16);
    this.fc = new Linear(16 * 7 * 7, 10, { seed: seed + 2 });
  }

  /** Logits `[N, 10]` and the outputs of both normalization layers. */
  forwardWithFeatures(x: Tensor): { logits: Tensor; normalized: [Tensor, Tensor] } {
    const n1 = this.norm1.forward(this.conv1.forward(x));
    const h = this.#pool.forward(this.#relu.forward(n1));
    const n2 = this.norm2.forward(this.conv2.forward(h));
    const g = this.#pool.forward(this.#relu.forward(n2));
    return { logits: this.fc.forward(g.reshape([x.shape[0], -1])), normalized: [n1, n2] };
  }

  /** Logits `[N, 10]`. */
  forward(x: Tensor): Tensor {
    return this.forwardWithFeatures(x).logits;
  }
}
