/**
 * Stochastic gradient descent with PyTorch's update formulas.
 *
 * @module
 */

import type { Tensor } from "../_deps.ts";
import type { Module } from "../module.ts";
import {
  definedOnly,
  Optimizer,
  type ParamGroup,
  type ParamState,
  zerosLike,
} from "./optimizer.ts";
import { HyperInputs } from "./hyper_inputs.ts";

/** Hyperparameters of {@link SGD}. */
export interface SGDOptions {
  /** Learning rate. */
  lr: number;
  /** Momentum factor (default 0). */
  momentum?: number;
  /** Dampening of the momentum (default 0). */
  dampening?: number;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (default `false`; needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
}

/**
 * SGD as `torch.optim.SGD`: `g ← g + λθ`; with momentum `b ← μb + (1 - τ)g` (first step
 * `b ← g`) and `g ← g + μb` (Nesterov) or `g ← b`; then `θ ← θ - lr·g`.
 *
 * The hyperparameters are program inputs: set `paramGroups[i].options.lr` (or `momentum`, ...)
 * between steps, by hand or with a scheduler such as `CosineAnnealingLR`, and the next
 * step reuses the compiled kernels. Turning momentum or weight decay on or off changes the graph.
 *
 * @example One step on a one-parameter module
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Linear, SGD } from "@symgrad/symgrad/nn";
 * const fc = new Linear(2, 1, { bias: false, seed: 0 });
 * const opt = new SGD(fc, { lr: 0.1 });
 * opt.step({ weight: Tensor.ones([1, 2]) });
 * await fc.commitState();
 * console.log(fc.weight.shape); // [1, 2]
 * ```
 */
export class SGD extends Optimizer<Required<SGDOptions>> {
  // Hyperparameters enter the step's program as inputs, so changing them compiles nothing.
  readonly #inputs = new HyperInputs();

  /** Optimizes the parameters of `module`; `groups` override hyperparameters by name. */
  constructor(module: Module, opts: SGDOptions, groups: readonly ParamGroup<SGDOptions>[] = []) {
    const defaults: Required<SGDOptions> = {
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      ...definedOnly(opts),
      lr: opts.lr,
    };
    super("SGD", module, defaults, groups as readonly ParamGroup<Required<SGDOptions>>[]);
    for (const { options: o } of this.paramGroups) {
      if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
        throw new Error("SGD: Nesterov momentum requires a momentum and zero dampening");
      }
      if (!(o.lr >= 0)) throw new Error(`SGD: invalid learning rate ${o.lr}; expected >= 0`);
    }
  }

  /** PyTorch's single-tensor SGD update. */
  protected update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    o: Required<SGDOptions>,
  ): { param: Tensor; state: ParamState } {
    const h = (name: string, value: number) => this.#inputs.get(o, name, value, param);
    let d = o.weightDecay !== 0 ? grad.add(param.mul(h("weight_decay", o.weightDecay))) : grad;
    const next: ParamState = {};
    if (o.momentum !== 0) {
      // The first step's `b ← g` is `b ← 0·0 + 1·g` over leaves, so every step has one graph.
      const prev = state.momentum_buffer;
      const first = prev === undefined;
      const buf = (prev ?? zerosLike(param)).mul(h("buffer_decay", first ? 0 : o.momentum))
        .add(d.mul(h("buffer_gain", first ? 1 : 1 - o.dampening)));
      next.momentum_buffer = buf;
      d = o.nesterov ? d.add(buf.mul(h("momentum", o.momentum))) : buf;
    }
    return { param: param.sub(d.mul(h("lr", o.lr))), state: next };
  }
}
