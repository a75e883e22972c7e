/**
 * Adam and AdamW with PyTorch's update formulas.
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
  scalarLike,
  zerosLike,
} from "./optimizer.ts";
import { HyperInputs } from "./hyper_inputs.ts";

/** Hyperparameters of {@link Adam} and {@link AdamW}. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default `[0.9, 0.999]`). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay (default 1e-2). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (default `false`). */
  amsgrad?: boolean;
}

/** Adam's moment updates and step; `decoupled` selects AdamW's weight decay. */
function adamUpdate(
  param: Tensor,
  grad: Tensor,
  state: ParamState,
  o: Required<AdamOptions>,
  step: number,
  decoupled: boolean,
  inputs: HyperInputs,
): { param: Tensor; state: ParamState } {
  // Every hyperparameter is a scalar leaf (a program input), computed on the host in float64
  // as PyTorch computes its Python floats, so a changed value or step count compiles nothing.
  const h = (name: string, value: number) => inputs.get(o, name, value, param);
  const [beta1, beta2] = o.betas;
  let g = grad;
  if (decoupled) param = param.mul(h("decay_factor", 1 - o.lr * o.weightDecay));
  else if (o.weightDecay !== 0) g = g.add(param.mul(h("weight_decay", o.weightDecay)));
  // Moments start as zero leaves (as in PyTorch), not folded constants, so the first step's
  // graph has the structure of every later step and the loop compiles once.
  const expAvg = (state.exp_avg ?? zerosLike(param)).mul(h("beta1", beta1))
    .add(g.mul(h("one_minus_beta1", 1 - beta1)));
  const expAvgSq = (state.exp_avg_sq ?? zerosLike(param)).mul(h("beta2", beta2)).add(
    g.mul(g).mul(h("one_minus_beta2", 1 - beta2)),
  );
  const stepSize = h("step_size", o.lr / (1 - beta1 ** step));
  const bc2Sqrt = h("bias_correction2_sqrt", Math.sqrt(1 - beta2 ** step));
  const next: ParamState = {
    step: scalarLike(step, param),
    exp_avg: expAvg,
    exp_avg_sq: expAvgSq,
  };
  let second = expAvgSq;
  if (o.amsgrad) {
    second = (state.max_exp_avg_sq ?? zerosLike(param)).maximum(expAvgSq);
    next.max_exp_avg_sq = second;
  }
  const denom = second.sqrt().div(bc2Sqrt).add(h("eps", o.eps));
  return { param: param.sub(expAvg.div(denom).mul(stepSize)), state: next };
}

function resolve(op: string, opts: AdamOptions, weightDecay: number): Required<AdamOptions> {
  const o: Required<AdamOptions> = {
    lr: 1e-3,
    betas: [0.9, 0.999],
    eps: 1e-8,
    weightDecay,
    amsgrad: false,
    ...definedOnly(opts),
  };
  if (!(o.lr >= 0)) throw new Error(`${op}: invalid learning rate ${o.lr}; expected >= 0`);
  for (const b of o.betas) {
    if (!(b >= 0 && b < 1)) throw new Error(`${op}: invalid beta ${b}; expected 0 <= beta < 1`);
  }
  return o;
}

/**
 * Adam as `torch.optim.Adam`: L2 weight decay is added to the gradient.
 *
 * Learning rate, betas, eps, weight decay and the bias corrections are program inputs: changing
 * `paramGroups[i].options` between steps (or a learning-rate scheduler doing so) and the step
 * count compile nothing.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Adam, Linear } from "@symgrad/symgrad/nn";
 * const fc = new Linear(2, 1, { bias: false, seed: 0 });
 * const opt = new Adam(fc, { lr: 0.01 });
 * opt.step({ weight: Tensor.ones([1, 2]) });
 * await opt.commitState();
 * console.log(await opt.state("weight").step.item()); // 1
 * ```
 */
export class Adam extends Optimizer<Required<AdamOptions>> {
  // Hyperparameters enter the step's program as inputs, so changing them compiles nothing.
  readonly #inputs = new HyperInputs();

  /**
   * Whether weight decay scales the parameter before the step (AdamW) instead of being added to
   * the gradient; subclasses set it, and it also picks the name in errors and the default decay.
   */
  static readonly decoupledWeightDecay: boolean = false;

  /** Optimizes the parameters of `module`; `groups` override hyperparameters by name. */
  constructor(
    module: Module,
    opts: AdamOptions = {},
    groups: readonly ParamGroup<AdamOptions>[] = [],
  ) {
    const decoupled = new.target.decoupledWeightDecay;
    const op = decoupled ? "AdamW" : "Adam";
    super(
      op,
      module,
      resolve(op, opts, decoupled ? 1e-2 : 0),
      groups as readonly ParamGroup<Required<AdamOptions>>[],
    );
  }

  /** PyTorch's single-tensor Adam (or AdamW) update. */
  protected update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    o: Required<AdamOptions>,
    step: number,
  ): { param: Tensor; state: ParamState } {
    const decoupled = (this.constructor as typeof Adam).decoupledWeightDecay;
    return adamUpdate(param, grad, state, o, step, decoupled, this.#inputs);
  }
}

/**
 * AdamW as `torch.optim.AdamW`: decoupled weight decay `θ ← θ·(1 - lr·λ)` before the Adam step
 * (default λ = 1e-2).
 *
 * @example Calibration parameters without weight decay
 * ```ts
 * import { AdamW, RepresentativeBatchNorm2d } from "@symgrad/symgrad/nn";
 * const rbn = new RepresentativeBatchNorm2d(4);
 * const opt = new AdamW(rbn, { lr: 1e-3, weightDecay: 0.05 }, [
 *   { params: (name) => /center_|scale_/.test(name), weightDecay: 0 },
 * ]);
 * console.log(opt.paramGroups.map((g) => g.names));
 * ```
 */
export class AdamW extends Adam {
  /** AdamW decays the parameter itself, before the Adam step. */
  static override readonly decoupledWeightDecay: boolean = true;
}
