/**
 * Learning-rate schedules with PyTorch's names, formulas and stepping rules
 * (`torch.optim.lr_scheduler` of PyTorch 1.13).
 *
 * A scheduler is attached to an optimizer when it is built (which applies the schedule's first
 * value) and sets `optimizer.paramGroups[i].options.lr` on every `step()`, called once after
 * each optimizer step. The optimizers read their hyperparameters as program inputs, so a
 * schedule changes values without compiling anything. The same holds for a scalar of your own
 * loss: `Tensor.full([], v)` is a leaf, hence a program input, whereas a number (`t.mul(v)`) is
 * a constant of the program and each new value compiles anew.
 *
 * The recursive ("chainable") formulas are PyTorch's, evaluated in the same order in float64,
 * so the learning rates agree with PyTorch's to the last bits of `Math.cos` and `**`.
 *
 * @example Warm-up, then cosine annealing
 * ```ts
 * import { CosineAnnealingLR, LinearLR, Linear, SequentialLR, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 0.1, momentum: 0.9 });
 * const warmup = new LinearLR(opt, { startFactor: 0.1, totalIters: 3 });
 * const cosine = new CosineAnnealingLR(opt, { tMax: 10 });
 * const schedule = new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [3] });
 * for (let step = 0; step < 5; step++) {
 *   // await trainStep(model, opt, lossFn);
 *   schedule.step();
 * }
 * console.log(schedule.getLastLr()); // [0.09045084971874738]
 * ```
 *
 * @module
 */

/** What a scheduler needs of an optimizer: parameter groups with a mutable learning rate. */
export interface SchedulableOptimizer {
  /** The groups; `options.lr` is set by the scheduler, `momentum` or `betas` by OneCycleLR. */
  readonly paramGroups: readonly {
    options: { lr: number; momentum?: number; betas?: readonly [number, number] };
  }[];
}

// PyTorch's `group['initial_lr']`: the first scheduler of a group records it, later ones and
// SequentialLR read it (OneCycleLR overwrites it with max_lr / div_factor).
const initialLrs = new WeakMap<object, number>();

function initialLr(options: { lr: number }): number {
  if (!initialLrs.has(options)) initialLrs.set(options, options.lr);
  return initialLrs.get(options)!;
}

/**
 * The scheduler base, PyTorch's `_LRScheduler`: `lastEpoch` counts the `step()` calls (0 after
 * construction), `baseLrs` are the groups' initial learning rates.
 */
export abstract class LRScheduler {
  /** The optimizer whose learning rates this scheduler sets. */
  readonly optimizer: SchedulableOptimizer;
  /** The initial learning rate of each group. */
  readonly baseLrs: readonly number[];
  /** Index of the last step (PyTorch's `last_epoch`): 0 right after construction. */
  lastEpoch: number = -1;
  /** `step()` calls so far, counting the one made by the constructor. */
  protected stepCount = 0;
  #lastLr: number[] = [];

  /** Attaches to `optimizer`; subclasses call `step()` at the end of their constructor. */
  constructor(optimizer: SchedulableOptimizer) {
    this.optimizer = optimizer;
    this.baseLrs = optimizer.paramGroups.map((g) => initialLr(g.options));
  }

  /** The learning rates of the next step from the current ones (PyTorch's `get_lr`). */
  protected abstract computeLr(): number[];

  /** The learning rates at `lastEpoch` in closed form, where the schedule has one. */
  protected closedFormLr(): number[] | undefined {
    return undefined;
  }

  /**
   * Advances the schedule by one step (call it after the optimizer's step) and sets each
   * group's learning rate. With `epoch`, jumps to that step instead, by the closed form where
   * there is one (as PyTorch's deprecated `step(epoch)`; SequentialLR uses it).
   */
  step(epoch?: number): void {
    const [count, last] = [this.stepCount, this.lastEpoch];
    let values: number[];
    try {
      this.stepCount++;
      if (epoch === undefined) {
        this.lastEpoch++;
        values = this.computeLr();
      } else {
        this.lastEpoch = epoch;
        values = this.closedFormLr() ?? this.computeLr();
      }
    } catch (e) {
      // A rejected step leaves the schedule where it was.
      [this.stepCount, this.lastEpoch] = [count, last];
      throw e;
    }
    this.optimizer.paramGroups.forEach((g, i) => g.options.lr = values[i]);
    this.#lastLr = this.optimizer.paramGroups.map((g) => g.options.lr);
  }

  /** The learning rate of each group set by the last `step()` (PyTorch's `get_last_lr`). */
  getLastLr(): number[] {
    return [...this.#lastLr];
  }

  /** The current learning rate of each group. */
  protected get lrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.options.lr);
  }
}

function positiveInt(op: string, name: string, v: number): void {
  if (!(Number.isInteger(v) && v > 0)) {
    throw new Error(`${op}: ${name} must be a positive integer; got ${v}`);
  }
}

/** Options of {@link StepLR}. */
export interface StepLROptions {
  /** Steps between decays. */
  stepSize: number;
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/**
 * `torch.optim.lr_scheduler.StepLR`: multiplies the learning rate by `gamma` every `stepSize`
 * steps.
 *
 * @example
 * ```ts
 * import { Linear, SGD, StepLR } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const s = new StepLR(opt, { stepSize: 2, gamma: 0.5 });
 * for (let i = 0; i < 4; i++) s.step();
 * console.log(s.getLastLr()); // [0.25]
 * ```
 */
export class StepLR extends LRScheduler {
  readonly #stepSize: number;
  readonly #gamma: number;
  /** Attaches to `optimizer` and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: StepLROptions) {
    super(optimizer);
    positiveInt("StepLR", "stepSize", opts.stepSize);
    this.#stepSize = opts.stepSize;
    this.#gamma = opts.gamma ?? 0.1;
    this.step();
  }
  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    if (this.lastEpoch === 0 || this.lastEpoch % this.#stepSize !== 0) return this.lrs;
    return this.lrs.map((lr) => lr * this.#gamma);
  }
  /** The learning rates at `lastEpoch`, by PyTorch's closed form. */
  protected override closedFormLr(): number[] {
    const k = Math.floor(this.lastEpoch / this.#stepSize);
    return this.baseLrs.map((lr) => lr * this.#gamma ** k);
  }
}

/** Options of {@link MultiStepLR}. */
export interface MultiStepLROptions {
  /** Steps at which to decay; a step listed twice decays twice. */
  milestones: readonly number[];
  /** Decay factor (default 0.1). */
  gamma?: number;
}

/**
 * `torch.optim.lr_scheduler.MultiStepLR`: multiplies the learning rate by `gamma` at each
 * milestone.
 *
 * @example
 * ```ts
 * import { Linear, MultiStepLR, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const s = new MultiStepLR(opt, { milestones: [1, 3], gamma: 0.1 });
 * for (let i = 0; i < 3; i++) s.step();
 * console.log(s.getLastLr()); // [0.010000000000000002]
 * ```
 */
export class MultiStepLR extends LRScheduler {
  readonly #counts = new Map<number, number>();
  readonly #sorted: number[];
  readonly #gamma: number;
  /** Attaches to `optimizer` and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: MultiStepLROptions) {
    super(optimizer);
    for (const m of opts.milestones) {
      if (!Number.isInteger(m)) {
        throw new Error(`MultiStepLR: milestones must be integers; got ${m}`);
      }
      this.#counts.set(m, (this.#counts.get(m) ?? 0) + 1);
    }
    this.#sorted = [...opts.milestones].sort((a, b) => a - b);
    this.#gamma = opts.gamma ?? 0.1;
    this.step();
  }
  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    const n = this.#counts.get(this.lastEpoch);
    if (n === undefined) return this.lrs;
    return this.lrs.map((lr) => lr * this.#gamma ** n);
  }
  /** The learning rates at `lastEpoch`, by PyTorch's closed form. */
  protected override closedFormLr(): number[] {
    const passed = this.#sorted.filter((m) => m <= this.lastEpoch).length;
    return this.baseLrs.map((lr) => lr * this.#gamma ** passed);
  }
}

/** Options of {@link ExponentialLR}. */
export interface ExponentialLROptions {
  /** Decay factor per step. */
  gamma: number;
}

/**
 * `torch.optim.lr_scheduler.ExponentialLR`: multiplies the learning rate by `gamma` every step.
 *
 * @example
 * ```ts
 * import { ExponentialLR, Linear, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const s = new ExponentialLR(opt, { gamma: 0.5 });
 * s.step();
 * s.step();
 * console.log(s.getLastLr()); // [0.25]
 * ```
 */
export class ExponentialLR extends LRScheduler {
  readonly #gamma: number;
  /** Attaches to `optimizer` and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: ExponentialLROptions) {
    super(optimizer);
    this.#gamma = opts.gamma;
    this.step();
  }
  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    if (this.lastEpoch === 0) return this.lrs;
    return this.lrs.map((lr) => lr * this.#gamma);
  }
  /** The learning rates at `lastEpoch`, by PyTorch's closed form. */
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((lr) => lr * this.#gamma ** this.lastEpoch);
  }
}

/** Options of {@link CosineAnnealingLR}. */
export interface CosineAnnealingLROptions {
  /** Steps of a half period. */
  tMax: number;
  /** Minimum learning rate (default 0). */
  etaMin?: number;
}

/**
 * `torch.optim.lr_scheduler.CosineAnnealingLR`: `η_t = η_min + (η_0 − η_min)(1 + cos(π t / T_max)) / 2`,
 * computed recursively from the current learning rate as PyTorch does (past `tMax` the
 * learning rate rises again).
 *
 * @example
 * ```ts
 * import { CosineAnnealingLR, Linear, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const s = new CosineAnnealingLR(opt, { tMax: 4 });
 * s.step();
 * s.step();
 * console.log(s.getLastLr()); // [0.5]
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly #tMax: number;
  readonly #etaMin: number;
  /** Attaches to `optimizer` and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: CosineAnnealingLROptions) {
    super(optimizer);
    if (!(opts.tMax > 0)) throw new Error(`CosineAnnealingLR: tMax must be > 0; got ${opts.tMax}`);
    this.#tMax = opts.tMax;
    this.#etaMin = opts.etaMin ?? 0;
    this.step();
  }
  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    const t = this.lastEpoch, T = this.#tMax, min = this.#etaMin;
    if (t === 0) return this.lrs;
    if (this.stepCount === 1 && t > 0) {
      return this.baseLrs.map((b) => min + (b - min) * (1 + Math.cos(t * Math.PI / T)) / 2);
    }
    if ((t - 1 - T) % (2 * T) === 0) {
      const lrs = this.lrs;
      return this.baseLrs.map((b, i) => lrs[i] + (b - min) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    return this.lrs.map((lr) =>
      (1 + Math.cos(Math.PI * t / T)) / (1 + Math.cos(Math.PI * (t - 1) / T)) * (lr - min) + min
    );
  }
  /** The learning rates at `lastEpoch`, by PyTorch's closed form. */
  protected override closedFormLr(): number[] {
    const t = this.lastEpoch, T = this.#tMax, min = this.#etaMin;
    return this.baseLrs.map((b) => min + (b - min) * (1 + Math.cos(Math.PI * t / T)) / 2);
  }
}

/** Options of {@link LinearLR}. */
export interface LinearLROptions {
  /** Factor at step 0, in [0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor from step `totalIters` on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Steps of the ramp (default 5). */
  totalIters?: number;
}

/**
 * `torch.optim.lr_scheduler.LinearLR`: scales the learning rate by a factor going linearly from
 * `startFactor` to `endFactor` over `totalIters` steps (a warm-up when `startFactor < 1`).
 *
 * @example
 * ```ts
 * import { Linear, LinearLR, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const s = new LinearLR(opt, { startFactor: 0.5, totalIters: 2 });
 * console.log(s.getLastLr()); // [0.5]
 * s.step();
 * s.step();
 * console.log(s.getLastLr()); // [1]
 * ```
 */
export class LinearLR extends LRScheduler {
  readonly #start: number;
  readonly #end: number;
  readonly #total: number;
  /** Attaches to `optimizer` and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: LinearLROptions = {}) {
    super(optimizer);
    const start = opts.startFactor ?? 1 / 3, end = opts.endFactor ?? 1;
    for (const [name, f] of [["startFactor", start], ["endFactor", end]] as const) {
      if (!(f >= 0 && f <= 1)) {
        throw new Error(`LinearLR: ${name} must be between 0 and 1; got ${f}`);
      }
    }
    this.#start = start;
    this.#end = end;
    this.#total = opts.totalIters ?? 5;
    positiveInt("LinearLR", "totalIters", this.#total);
    this.step();
  }
  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    const t = this.lastEpoch, s = this.#start, e = this.#end, n = this.#total;
    if (t === 0) return this.lrs.map((lr) => lr * s);
    if (t > n) return this.lrs;
    return this.lrs.map((lr) => lr * (1 + (e - s) / (n * s + (t - 1) * (e - s))));
  }
  /** The learning rates at `lastEpoch`, by PyTorch's closed form. */
  protected override closedFormLr(): number[] {
    const t = this.lastEpoch, s = this.#start, e = this.#end, n = this.#total;
    return this.baseLrs.map((b) => b * (s + (e - s) * Math.min(n, t) / n));
  }
}

/** Options of {@link OneCycleLR}: `totalSteps`, or `epochs` and `stepsPerEpoch`. */
export interface OneCycleLROptions {
  /** Peak learning rate, one for all groups or one per group. */
  maxLr: number | readonly number[];
  /** Steps in the cycle. */
  totalSteps?: number;
  /** Epochs (with `stepsPerEpoch`), when `totalSteps` is not given. */
  epochs?: number;
  /** Steps per epoch (with `epochs`). */
  stepsPerEpoch?: number;
  /** Fraction of the cycle spent increasing the learning rate (default 0.3). */
  pctStart?: number;
  /** `"cos"` (default) or `"linear"` annealing. */
  annealStrategy?: "cos" | "linear";
  /** Cycle the momentum (SGD) or beta1 (Adam) inversely to the learning rate (default true). */
  cycleMomentum?: boolean;
  /** Lowest momentum, one value or one per group (default 0.85). */
  baseMomentum?: number | readonly number[];
  /** Highest momentum, one value or one per group (default 0.95). */
  maxMomentum?: number | readonly number[];
  /** Initial learning rate is `maxLr / divFactor` (default 25). */
  divFactor?: number;
  /** Final learning rate is the initial one divided by this (default 1e4). */
  finalDivFactor?: number;
  /** Three phases (up, down to the initial rate, then annihilation) instead of two. */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: "initial" | "max" | "min";
  endLr: "initial" | "max" | "min";
  startMomentum: "max" | "base";
  endMomentum: "max" | "base";
}

/**
 * `torch.optim.lr_scheduler.OneCycleLR`: the 1cycle policy, stepped once per batch. Sets the
 * groups' initial learning rate to `maxLr / divFactor` and, with `cycleMomentum`, their
 * momentum (SGD) or first beta (Adam).
 *
 * @example
 * ```ts
 * import { Linear, OneCycleLR, SGD } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 0.1, momentum: 0.9 });
 * const s = new OneCycleLR(opt, { maxLr: 1, totalSteps: 10 });
 * s.step();
 * s.step();
 * console.log(s.getLastLr(), opt.paramGroups[0].options.momentum); // [1] 0.85
 * ```
 */
export class OneCycleLR extends LRScheduler {
  readonly #total: number;
  readonly #phases: Phase[];
  readonly #anneal: (start: number, end: number, pct: number) => number;
  readonly #cycleMomentum: boolean;
  readonly #groups: { initial: number; max: number; min: number; maxM: number; baseM: number }[];

  /** Attaches to `optimizer`, sets the initial learning rates (and momenta) and applies step 0. */
  constructor(optimizer: SchedulableOptimizer, opts: OneCycleLROptions) {
    const op = "OneCycleLR";
    const groups = optimizer.paramGroups;
    const perGroup = (name: string, v: number | readonly number[]): readonly number[] => {
      if (typeof v === "number") return groups.map(() => v);
      if (v.length !== groups.length) {
        throw new Error(`${op}: expected ${groups.length} values for ${name}, got ${v.length}`);
      }
      return v;
    };
    let total: number;
    if (opts.totalSteps !== undefined) {
      positiveInt(op, "totalSteps", opts.totalSteps);
      total = opts.totalSteps;
    } else if (opts.epochs !== undefined && opts.stepsPerEpoch !== undefined) {
      positiveInt(op, "epochs", opts.epochs);
      positiveInt(op, "stepsPerEpoch", opts.stepsPerEpoch);
      total = opts.epochs * opts.stepsPerEpoch;
    } else {
      throw new Error(`${op}: give totalSteps, or epochs and stepsPerEpoch`);
    }
    const pct = opts.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) {
      throw new Error(`${op}: pctStart must be between 0 and 1; got ${pct}`);
    }
    const strategy = opts.annealStrategy ?? "cos";
    if (strategy !== "cos" && strategy !== "linear") {
      throw new Error(`${op}: annealStrategy must be "cos" or "linear"; got ${strategy}`);
    }
    const div = opts.divFactor ?? 25, finalDiv = opts.finalDivFactor ?? 1e4;
    const maxLrs = perGroup("maxLr", opts.maxLr);
    const cycle = opts.cycleMomentum ?? true;
    const maxMs = perGroup("maxMomentum", opts.maxMomentum ?? 0.95);
    const baseMs = perGroup("baseMomentum", opts.baseMomentum ?? 0.85);
    if (cycle) {
      for (const g of groups) {
        if (g.options.momentum === undefined && g.options.betas === undefined) {
          throw new Error(`${op}: cycleMomentum needs an optimizer with momentum or betas`);
        }
      }
    }
    const state = groups.map((g, i) => {
      const initial = maxLrs[i] / div;
      initialLrs.set(g.options, initial);
      if (cycle) setMomentum(g.options, maxMs[i]);
      return { initial, max: maxLrs[i], min: initial / finalDiv, maxM: maxMs[i], baseM: baseMs[i] };
    });
    super(optimizer);
    this.#total = total;
    this.#groups = state;
    this.#cycleMomentum = cycle;
    this.#anneal = strategy === "cos"
      ? (s, e, p) => e + (s - e) / 2 * (Math.cos(Math.PI * p) + 1)
      : (s, e, p) => (e - s) * p + s;
    this.#phases = opts.threePhase
      ? [
        {
          endStep: pct * total - 1,
          startLr: "initial",
          endLr: "max",
          startMomentum: "max",
          endMomentum: "base",
        },
        {
          endStep: 2 * pct * total - 2,
          startLr: "max",
          endLr: "initial",
          startMomentum: "base",
          endMomentum: "max",
        },
        {
          endStep: total - 1,
          startLr: "initial",
          endLr: "min",
          startMomentum: "max",
          endMomentum: "max",
        },
      ]
      : [
        {
          endStep: pct * total - 1,
          startLr: "initial",
          endLr: "max",
          startMomentum: "max",
          endMomentum: "base",
        },
        {
          endStep: total - 1,
          startLr: "max",
          endLr: "min",
          startMomentum: "base",
          endMomentum: "max",
        },
      ];
    this.step();
  }

  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    const t = this.lastEpoch;
    if (t > this.#total) {
      throw new Error(
        `OneCycleLR: tried to step ${t + 1} times; the specified number of total steps is ` +
          `${this.#total}`,
      );
    }
    return this.optimizer.paramGroups.map((g, i) => {
      const s = this.#groups[i];
      const lrOf = { initial: s.initial, max: s.max, min: s.min };
      const mOf = { max: s.maxM, base: s.baseM };
      let start = 0;
      for (let k = 0; k < this.#phases.length; k++) {
        const p = this.#phases[k];
        if (t <= p.endStep || k === this.#phases.length - 1) {
          const pct = (t - start) / (p.endStep - start);
          if (this.#cycleMomentum) {
            setMomentum(g.options, this.#anneal(mOf[p.startMomentum], mOf[p.endMomentum], pct));
          }
          return this.#anneal(lrOf[p.startLr], lrOf[p.endLr], pct);
        }
        start = p.endStep;
      }
      throw new Error("OneCycleLR: unreachable");
    });
  }
}

/** Sets SGD's momentum or Adam's first beta. */
function setMomentum(
  options: { momentum?: number; betas?: readonly [number, number] },
  m: number,
): void {
  if (options.betas !== undefined) options.betas = [m, options.betas[1]];
  else options.momentum = m;
}

/** Options of {@link SequentialLR}. */
export interface SequentialLROptions {
  /** Schedulers of the same optimizer, used one after the other. */
  schedulers: readonly LRScheduler[];
  /** Steps at which the next scheduler takes over; one fewer than the schedulers. */
  milestones: readonly number[];
}

/**
 * `torch.optim.lr_scheduler.SequentialLR`: runs `schedulers[0]` until `milestones[0]`, then
 * `schedulers[1]` (restarted at its step 0), and so on. Build the schedulers first (each applies
 * its own step 0), then this one, which restores the initial learning rates and reapplies the
 * first scheduler's step 0.
 *
 * @example See the module example: warm-up with LinearLR, then CosineAnnealingLR.
 * ```ts
 * import { ExponentialLR, Linear, SequentialLR, SGD, StepLR } from "@symgrad/symgrad/nn";
 * const opt = new SGD(new Linear(2, 1, { seed: 0 }), { lr: 1 });
 * const a = new StepLR(opt, { stepSize: 10 }), b = new ExponentialLR(opt, { gamma: 0.5 });
 * const s = new SequentialLR(opt, { schedulers: [a, b], milestones: [2] });
 * for (let i = 0; i < 3; i++) s.step();
 * console.log(s.getLastLr()); // [0.5]
 * ```
 */
export class SequentialLR extends LRScheduler {
  readonly #schedulers: readonly LRScheduler[];
  readonly #milestones: readonly number[];
  #current: LRScheduler;

  /** Attaches to `optimizer` and hands step 0 to the first scheduler. */
  constructor(optimizer: SchedulableOptimizer, opts: SequentialLROptions) {
    const { schedulers, milestones } = opts;
    if (schedulers.length === 0) throw new Error("SequentialLR: expected at least one scheduler");
    schedulers.forEach((s, i) => {
      if (s.optimizer !== optimizer) {
        throw new Error(
          `SequentialLR: scheduler ${i} belongs to another optimizer; expected all to share one`,
        );
      }
    });
    if (milestones.length !== schedulers.length - 1) {
      throw new Error(
        `SequentialLR: ${schedulers.length} schedulers need ${schedulers.length - 1} ` +
          `milestones; got ${milestones.length}`,
      );
    }
    super(optimizer);
    this.#schedulers = schedulers;
    this.#milestones = milestones;
    this.lastEpoch = 0;
    optimizer.paramGroups.forEach((g) => g.options.lr = initialLr(g.options));
    for (const s of schedulers) s.lastEpoch -= 1;
    this.#current = schedulers[0];
    schedulers[0].step();
  }

  /** The next learning rates, by PyTorch's recursive formula. */
  protected computeLr(): number[] {
    return this.lrs;
  }

  /** Advances the active scheduler; at a milestone, the next one starts at its step 0. */
  override step(): void {
    this.lastEpoch++;
    const idx = this.#milestones.filter((m) => m <= this.lastEpoch).length;
    const s = this.#schedulers[idx];
    if (idx > 0 && this.#milestones[idx - 1] === this.lastEpoch) s.step(0);
    else s.step();
    this.#current = s;
  }

  /** The learning rates set by the active scheduler's last step. */
  override getLastLr(): number[] {
    return this.#current.getLastLr();
  }
}
