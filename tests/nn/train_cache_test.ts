/**
 * A training loop compiles once: the step-1 graph (fresh optimizer state, initial running
 * statistics) has the structure of every later step, so steps 2..N compile no kernel.
 */
import { strictEqual } from "node:assert/strict";
import { backendStats, registerBackend, Tensor } from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/backend.ts";
import {
  Adam,
  AdamW,
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  type Module,
  type Optimizer,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
  SGD,
  trainStep,
} from "../../nn/mod.ts";

const backend = "cpu-train-cache";
registerBackend(backend, () => new CpuBackend({ threads: 1 }));
const on = { backend } as const;

/** Kernels compiled by each of `steps` training steps. */
async function compilesPerStep(
  model: Module,
  opt: Optimizer<object>,
  x: Tensor,
  labels: Tensor,
  steps = 4,
): Promise<number[]> {
  const counts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const before = (await backendStats(backend)).kernelsCompiled;
    await trainStep(model, opt, () => crossEntropy(model.forward(x) as Tensor, labels));
    counts.push((await backendStats(backend)).kernelsCompiled - before);
  }
  return counts;
}

const convNet = (norm: Module) =>
  new Sequential(
    new Conv2d(2, 3, 3, { padding: 1, seed: 1, ...on }),
    norm,
    new ReLU(),
    new Flatten(),
    new Linear(3 * 4 * 4, 3, { seed: 2, ...on }),
  );
const images = () => Tensor.randn([5, 2, 4, 4], { seed: 3, ...on });
const labels = () => Tensor.from([0, 1, 2, 0, 1], on);

const cases: [string, () => { model: Module; opt: Optimizer<object> }][] = [
  ["BatchNorm2d + Adam", () => {
    const model = convNet(new BatchNorm2d(3, on));
    return { model, opt: new Adam(model, { lr: 1e-2 }) as Optimizer<object> };
  }],
  ["RBN + Adam (amsgrad)", () => {
    const model = convNet(new RepresentativeBatchNorm2d(3, on));
    return { model, opt: new Adam(model, { lr: 1e-2, amsgrad: true }) as Optimizer<object> };
  }],
  ["RBN + AdamW", () => {
    const model = convNet(new RepresentativeBatchNorm2d(3, on));
    return { model, opt: new AdamW(model, { lr: 1e-2 }) as Optimizer<object> };
  }],
  ["BatchNorm2d (momentum null) + SGD with momentum and dampening", () => {
    const model = convNet(new BatchNorm2d(3, { momentum: null, ...on }));
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9, dampening: 0.2, weightDecay: 1e-3 });
    return { model, opt: opt as Optimizer<object> };
  }],
  ["RBN + SGD Nesterov", () => {
    const model = convNet(new RepresentativeBatchNorm2d(3, on));
    const opt = new SGD(model, { lr: 0.1, momentum: 0.9, nesterov: true });
    return { model, opt: opt as Optimizer<object> };
  }],
];

Deno.test("training steps 2..N compile no kernel", async (t) => {
  for (const [name, make] of cases) {
    await t.step(name, async () => {
      const { model, opt } = make();
      const counts = await compilesPerStep(model, opt, images(), labels());
      strictEqual(counts[0] > 0, true, `step 1 compiles the step: ${counts}`);
      strictEqual(
        counts.slice(1).every((c) => c === 0),
        true,
        `kernels compiled per step: ${counts}`,
      );
    });
  }
  await t.step("BatchNorm1d + Adam, float64", async () => {
    const opts = { dtype: "float64", ...on } as const;
    const model = new Sequential(
      new Linear(4, 3, { seed: 1, ...opts }),
      new BatchNorm1d(3, opts),
    );
    const opt = new Adam(model, { lr: 1e-2 }) as Optimizer<object>;
    const x = Tensor.randn([6, 4], { seed: 2, ...opts });
    const counts = await compilesPerStep(model, opt, x, Tensor.from([0, 1, 2, 0, 1, 2], on));
    strictEqual(
      counts.slice(1).every((c) => c === 0),
      true,
      `kernels compiled per step: ${counts}`,
    );
  });
});
