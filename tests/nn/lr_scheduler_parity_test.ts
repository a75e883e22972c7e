/**
 * The learning-rate schedulers give PyTorch 1.13's learning rates (and OneCycleLR's momenta)
 * after construction and after every step, for two parameter groups
 * (tests/fixtures/lr_scheduler.json, from tools/fixtures/lr_scheduler.py).
 */
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  Adam,
  CosineAnnealingLR,
  ExponentialLR,
  Linear,
  LinearLR,
  type LRScheduler,
  MultiStepLR,
  OneCycleLR,
  type SchedulableOptimizer,
  SequentialLR,
  SGD,
  StepLR,
} from "../../nn/mod.ts";
import { loadFixture } from "./helpers.ts";

interface Spec {
  scheduler: string;
  options: Record<string, never>;
}
interface SchedulerCase extends Spec {
  name: string;
  optimizer: "SGD" | "Adam";
  lrs: number[][];
  momenta: number[][];
}

/** The fixture's optimizer: two groups, lr 0.1 and 0.02 (momentum 0.9 or betas (0.9, 0.999)). */
function optimizer(kind: "SGD" | "Adam"): SchedulableOptimizer {
  const model = new Linear(1, 1, { seed: 0 });
  const groups = [{ params: ["weight"], lr: 0.1 }, { params: ["bias"], lr: 0.02 }];
  return kind === "Adam"
    ? new Adam(model, { betas: [0.9, 0.999] }, groups)
    : new SGD(model, { lr: 0.1, momentum: 0.9 }, groups);
}

function build(opt: SchedulableOptimizer, { scheduler, options: o }: Spec): LRScheduler {
  switch (scheduler) {
    case "StepLR":
      return new StepLR(opt, { stepSize: o.step_size, gamma: o.gamma });
    case "MultiStepLR":
      return new MultiStepLR(opt, { milestones: o.milestones, gamma: o.gamma });
    case "ExponentialLR":
      return new ExponentialLR(opt, { gamma: o.gamma });
    case "CosineAnnealingLR":
      return new CosineAnnealingLR(opt, { tMax: o.T_max, etaMin: o.eta_min });
    case "LinearLR":
      return new LinearLR(opt, {
        startFactor: o.start_factor,
        endFactor: o.end_factor,
        totalIters: o.total_iters,
      });
    case "OneCycleLR":
      return new OneCycleLR(opt, {
        maxLr: o.max_lr,
        totalSteps: o.total_steps,
        pctStart: o.pct_start,
        annealStrategy: o.anneal_strategy,
        cycleMomentum: o.cycle_momentum,
        baseMomentum: o.base_momentum,
        maxMomentum: o.max_momentum,
        divFactor: o.div_factor,
        finalDivFactor: o.final_div_factor,
        threePhase: o.three_phase,
      });
    case "SequentialLR":
      return new SequentialLR(opt, {
        schedulers: (o.schedulers as Spec[]).map((s) => build(opt, s)),
        milestones: o.milestones,
      });
  }
  throw new Error(`unknown scheduler ${scheduler}`);
}

const momenta = (opt: SchedulableOptimizer) =>
  opt.paramGroups.map((g) => g.options.betas?.[0] ?? g.options.momentum!);

// Same float64 formulas in the same order; only Math.cos and ** may differ from glibc's cos and
// pow by an ulp, and the recursive forms carry such an error through at most 30 steps: a
// relative 1e-14 covers that with a wide margin, while any formula slip is far larger.
const RTOL = 1e-14;
function close(actual: number, expected: number, what: string): void {
  const err = Math.abs(actual - expected);
  if (!(err <= RTOL * Math.abs(expected) + 1e-300)) {
    throw new Error(`${what}: ${actual} != ${expected} (error ${err})`);
  }
}

Deno.test("learning-rate schedulers match torch.optim.lr_scheduler step by step", async (t) => {
  const { cases } = loadFixture<SchedulerCase>("lr_scheduler");
  strictEqual(cases.length > 10, true);
  for (const c of cases) {
    await t.step(c.name, () => {
      const opt = optimizer(c.optimizer);
      const s = build(opt, c);
      for (let k = 0; k < c.lrs.length; k++) {
        if (k > 0) s.step();
        const lrs = s.getLastLr();
        strictEqual(lrs.length, 2);
        lrs.forEach((lr, i) => close(lr, c.lrs[k][i], `step ${k} group ${i} lr`));
        opt.paramGroups.forEach((g, i) => close(g.options.lr, c.lrs[k][i], `step ${k} group lr`));
        momenta(opt).forEach((m, i) => close(m, c.momenta[k][i], `step ${k} group ${i} momentum`));
      }
    });
  }
});

Deno.test("schedulers reject bad options with a clear error", () => {
  const opt = optimizer("SGD");
  throws(() => new StepLR(opt, { stepSize: 0 }), /StepLR: stepSize must be a positive integer/);
  throws(() => new LinearLR(opt, { startFactor: 2 }), /LinearLR: startFactor must be between/);
  throws(() => new CosineAnnealingLR(opt, { tMax: 0 }), /CosineAnnealingLR: tMax must be > 0/);
  throws(() => new OneCycleLR(opt, { maxLr: 1 }), /OneCycleLR: give totalSteps/);
  throws(
    () => new OneCycleLR(opt, { maxLr: [1, 2, 3], totalSteps: 5 }),
    /OneCycleLR: expected 2 values for maxLr, got 3/,
  );
  const one = new OneCycleLR(optimizer("SGD"), { maxLr: 1, totalSteps: 2 });
  one.step();
  one.step();
  const before = [...one.getLastLr(), one.lastEpoch];
  throws(() => one.step(), /OneCycleLR: tried to step 4 times; the specified number of total/);
  deepStrictEqual([...one.getLastLr(), one.lastEpoch], before, "a rejected step changes nothing");
  const other = optimizer("SGD");
  throws(
    () =>
      new SequentialLR(opt, { schedulers: [new StepLR(other, { stepSize: 1 })], milestones: [] }),
    /SequentialLR: scheduler 0 belongs to another optimizer/,
  );
  throws(
    () =>
      new SequentialLR(opt, { schedulers: [new StepLR(opt, { stepSize: 1 })], milestones: [1] }),
    /SequentialLR: 1 schedulers need 0 milestones; got 1/,
  );
});
