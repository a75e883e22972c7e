import type { Tensor } from "../../mod.ts";
import { Adam, AdamW, Module, type Optimizer, SGD } from "../../nn/mod.ts";
import {
  expectClose,
  type FixtureTensor,
  forEachTargetCase,
  loadFixture,
  TOLERANCE,
  toTensor,
} from "./helpers.ts";

interface OptimCase {
  name: string;
  optimizer: "SGD" | "Adam" | "AdamW";
  options: Record<string, never>;
  param: FixtureTensor;
  grads: FixtureTensor[];
  params_after: FixtureTensor[];
  state_after: Record<string, FixtureTensor | null>[];
}

/** A module holding one parameter, as the fixtures optimize a bare tensor. */
class Holder extends Module {
  param: Tensor;
  constructor(param: Tensor) {
    super();
    this.param = param;
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.param);
  }
}

function build(c: OptimCase, m: Holder): Optimizer<object> {
  const o = c.options;
  switch (c.optimizer) {
    case "SGD":
      return new SGD(m, {
        lr: o.lr,
        momentum: o.momentum,
        dampening: o.dampening,
        nesterov: o.nesterov,
        weightDecay: o.weight_decay,
      });
    case "Adam":
    case "AdamW": {
      const opts = {
        lr: o.lr,
        betas: o.betas,
        eps: o.eps,
        weightDecay: o.weight_decay,
        amsgrad: o.amsgrad,
      };
      return c.optimizer === "Adam" ? new Adam(m, opts) : new AdamW(m, opts);
    }
  }
}

const { cases } = loadFixture<OptimCase>("optim");

Deno.test("SGD, Adam and AdamW match torch.optim step by step", async (t) => {
  await forEachTargetCase(t, "optim", cases, async (c, target, key) => {
    const tol = TOLERANCE[target.dtype];
    const m = new Holder(toTensor(c.param, target.dtype, target.backend));
    const opt = build(c, m);
    for (const [k, g] of c.grads.entries()) {
      opt.step({ param: toTensor(g, target.dtype, target.backend) });
      await m.commitState();
      await opt.commitState();
      await expectClose(m.param, c.params_after[k], tol, `${c.name} step ${k} param`, key);
      for (const [name, expected] of Object.entries(c.state_after[k])) {
        if (expected === null) continue;
        const got = opt.state("param")[name];
        if (got === undefined) throw new Error(`${c.name} step ${k}: no state ${name}`);
        await expectClose(got, expected, tol, `${c.name} step ${k} ${name}`, key);
      }
    }
  });
});
