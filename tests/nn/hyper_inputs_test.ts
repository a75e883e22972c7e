/**
 * Hyperparameters are program inputs: changing a learning rate, momentum, betas, eps or weight
 * decay between training steps compiles nothing, and a step with a changed value computes the
 * same result as an optimizer built with that value from the start.
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { backendStats, registerBackend, Tensor } from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/backend.ts";
import { hasWebGpu } from "../helpers/webgpu.ts";
import {
  Adam,
  AdamW,
  Linear,
  type Module,
  mseLoss,
  type Optimizer,
  SGD,
  trainStep,
} from "../../nn/mod.ts";

const backend = "cpu-hyper-inputs";
registerBackend(backend, () => new CpuBackend({ threads: 1 }));
const on = { backend } as const;

const compiled = async () => (await backendStats(backend)).kernelsCompiled;
const x = () => Tensor.randn([6, 3], { seed: 1, ...on });
const y = () => Tensor.randn([6, 2], { seed: 2, ...on });

type Make = (m: Module) => Optimizer<object>;
type Change = (o: Record<string, unknown>, i: number) => void;
/** Each case: an optimizer and a change of its hyperparameters before step `i`. */
const cases: [string, Make, Change][] = [
  ["SGD lr", (m) => new SGD(m, { lr: 0.1 }) as Optimizer<object>, (o, i) => {
    o.lr = 0.1 / (i + 1);
  }],
  [
    "SGD momentum, dampening, weight decay",
    (m) => new SGD(m, { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 0.01 }),
    (o, i) => {
      o.momentum = 0.9 - 0.1 * i;
      o.dampening = 0.1 + 0.05 * i;
      o.weightDecay = 0.01 * (i + 1);
    },
  ],
  [
    "SGD Nesterov momentum",
    (m) => new SGD(m, { lr: 0.1, momentum: 0.9, nesterov: true }) as Optimizer<object>,
    (o, i) => {
      o.momentum = 0.9 - 0.1 * i;
    },
  ],
  [
    "Adam lr, betas, eps, weight decay",
    (m) => new Adam(m, { lr: 0.01, weightDecay: 0.1 }) as Optimizer<object>,
    (o, i) => {
      o.lr = 0.01 * (i + 1);
      o.betas = [0.9 - 0.05 * i, 0.999 - 0.01 * i];
      o.eps = 1e-8 * (i + 1);
      o.weightDecay = 0.1 / (i + 1);
    },
  ],
  ["Adam amsgrad lr", (m) => new Adam(m, { lr: 0.01, amsgrad: true }) as Optimizer<object>, (
    o,
    i,
  ) => {
    o.lr = 0.01 * (i + 1);
  }],
  ["AdamW lr, weight decay", (m) => new AdamW(m, { lr: 0.01 }) as Optimizer<object>, (o, i) => {
    o.lr = 0.01 * (i + 1);
    o.weightDecay = 0.01 * (i + 1);
  }],
];

const gpu = await hasWebGpu();

/** Kernels compiled by each of 4 steps on `backend`, changing hyperparameters before each. */
async function compilesPerStep(backend: string, make: Make, change: Change): Promise<number[]> {
  const model = new Linear(3, 2, { seed: 0, backend });
  const opt = make(model);
  const inputs = Tensor.randn([6, 3], { seed: 1, backend });
  const targets = Tensor.randn([6, 2], { seed: 2, backend });
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    change(opt.paramGroups[0].options as Record<string, unknown>, i);
    const before = (await backendStats(backend)).kernelsCompiled;
    await trainStep(model, opt, () => mseLoss(model.forward(inputs), targets));
    counts.push((await backendStats(backend)).kernelsCompiled - before);
  }
  return counts;
}

Deno.test("changing hyperparameters between steps compiles nothing", async (t) => {
  for (const [name, make, change] of cases) {
    await t.step(name, async () => {
      const counts = await compilesPerStep(backend, make, change);
      strictEqual(counts[0] > 0, true, `step 1 compiles: ${counts}`);
      deepStrictEqual(counts.slice(1), [0, 0, 0], `kernels compiled per step: ${counts}`);
    });
  }
  for (const [name, make, change] of cases) {
    await t.step({
      name: `webgpu: ${name}`,
      ignore: !gpu,
      fn: async () => {
        const counts = await compilesPerStep("webgpu", make, change);
        strictEqual(counts[0] > 0, true, `step 1 compiles: ${counts}`);
        deepStrictEqual(counts.slice(1), [0, 0, 0], `kernels compiled per step: ${counts}`);
      },
    });
  }
});

Deno.test("a learning rate set on the group equals one given to the constructor", async () => {
  // Same float32 arithmetic on the same values, so the results agree exactly.
  const a = new Linear(3, 2, { seed: 0, ...on });
  const optA = new Adam(a, { lr: 0.01 });
  optA.paramGroups[0].options.lr = 0.05;
  const b = new Linear(3, 2, { seed: 0, ...on });
  const optB = new Adam(b, { lr: 0.05 });
  const inputs = x(), targets = y();
  for (let i = 0; i < 2; i++) {
    await trainStep(a, optA, () => mseLoss(a.forward(inputs), targets));
    await trainStep(b, optB, () => mseLoss(b.forward(inputs), targets));
  }
  deepStrictEqual(await a.weight.data(), await b.weight.data());
});

Deno.test("a scalar leaf is a program input; a number is a constant of the program", async () => {
  const v = Tensor.randn([16], { seed: 3, ...on });
  const before = await compiled();
  for (const s of [2, 3, 4]) await v.mul(Tensor.full([], s, on)).add(1).data();
  const leafCompiles = (await compiled()) - before;
  const mid = await compiled();
  for (const s of [2, 3, 4]) await v.mul(s).add(1).data();
  const constCompiles = (await compiled()) - mid;
  strictEqual(leafCompiles, 1, "one program for three values of a scalar leaf");
  strictEqual(constCompiles, 3, "a number is baked in: one program per value");
});
