/**
 * A training loop under a learning-rate schedule compiles once: 200 `trainStep`s with
 * CosineAnnealingLR (a new learning rate every step) compile their kernels on step 1 only, and
 * the trained parameters equal a reference loop that bakes each step's learning rate into its
 * graph as a constant (which compiles a program per learning rate).
 */
import { deepStrictEqual, strictEqual } from "node:assert/strict";
import {
  backendStats,
  type DType,
  realize,
  registerBackend,
  type Tensor,
  Tensor as T,
} from "../../mod.ts";
import { CpuBackend } from "../../backends/cpu/backend.ts";
import {
  CosineAnnealingLR,
  Linear,
  mseLoss,
  namedGradients,
  SGD,
  trainStep,
} from "../../nn/mod.ts";

const scheduled = "cpu-schedule-train";
const baked = "cpu-schedule-baked";
registerBackend(scheduled, () => new CpuBackend({ threads: 1 }));
registerBackend(baked, () => new CpuBackend({ threads: 1 }));
const compiled = async (b: string) => (await backendStats(b)).kernelsCompiled;

const STEPS = 200, MOMENTUM = 0.9;
const data = (backend: string, dtype: DType) => ({
  x: T.randn([8, 4], { seed: 1, backend, dtype }),
  y: T.randn([8, 3], { seed: 2, backend, dtype }),
});

/** SGD with momentum, PyTorch's formulas, each step's lr and the momentum as constants. */
async function bakedRun(lrs: readonly number[], dtype: DType): Promise<Linear> {
  const model = new Linear(4, 3, { seed: 0, backend: baked, dtype });
  const { x, y } = data(baked, dtype);
  const bufs = new Map<string, Tensor>();
  for (const lr of lrs) {
    const grads = namedGradients(mseLoss(model.forward(x), y), model);
    for (const [name, p] of model.namedParameters()) {
      const prev = bufs.get(name);
      const buf = prev === undefined ? grads[name] : prev.mul(MOMENTUM).add(grads[name]);
      bufs.set(name, buf);
      model.setTensor(name, p.sub(buf.mul(lr)));
    }
    await realize(...model.pendingState(), ...bufs.values());
    model.detachState();
    for (const [name, b] of bufs) bufs.set(name, b.detach());
  }
  return model;
}

async function scheduledRun(dtype: DType) {
  const model = new Linear(4, 3, { seed: 0, backend: scheduled, dtype });
  const opt = new SGD(model, { lr: 0.05, momentum: MOMENTUM });
  // tMax 60 over 200 steps: the rate falls, rises again and falls, never repeating for long.
  const schedule = new CosineAnnealingLR(opt, { tMax: 60, etaMin: 1e-3 });
  const { x, y } = data(scheduled, dtype);
  const lrs: number[] = [];
  const perStep: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    lrs.push(opt.paramGroups[0].options.lr);
    const before = await compiled(scheduled);
    await trainStep(model, opt, () => mseLoss(model.forward(x), y));
    perStep.push((await compiled(scheduled)) - before);
    schedule.step();
  }
  return { model, lrs, perStep };
}

for (const dtype of ["float32", "float64"] as const) {
  Deno.test(`200 steps under CosineAnnealingLR compile once, equal baked-in rates (${dtype})`, async () => {
    const { model, lrs, perStep } = await scheduledRun(dtype);
    strictEqual(new Set(lrs).size > 150, true, "the schedule changes the rate nearly every step");
    strictEqual(perStep[0] > 0, true, "step 1 compiles the step");
    deepStrictEqual(perStep.slice(1).filter((c) => c !== 0), [], "steps 2..200 compile nothing");

    const bakedBefore = await compiled(baked);
    const reference = await bakedRun(lrs, dtype);
    const bakedCompiles = (await compiled(baked)) - bakedBefore;
    // The baked loop compiles at least once per distinct float32 rate (the cosine repeats its
    // values each period): the cost that the inputs remove.
    const distinct = new Set(dtype === "float32" ? lrs.map(Math.fround) : lrs).size;
    strictEqual(
      bakedCompiles >= distinct,
      true,
      `baked: ${bakedCompiles} kernels, ${distinct} rates`,
    );
    // Both loops do the same operations on the same values (a scalar input and a constant
    // rounded to the dtype hold the same number; SGD's first step `0·0 + 1·g` is exactly
    // `g`), so after 200 steps the parameters agree bit for bit.
    for (const [name, p] of model.namedParameters()) {
      const r = reference.namedParameters().find(([n]) => n === name)![1];
      deepStrictEqual(await p.data(), await r.data(), `${name} after ${STEPS} steps`);
    }
  });
}
