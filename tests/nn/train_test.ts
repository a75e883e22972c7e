import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { getBackend, realize, Tensor, valueAndGrad } from "../../mod.ts";
import {
  AdamW,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
  SGD,
  trainStep,
} from "../../nn/mod.ts";

const model = () =>
  new Sequential(
    new Conv2d(1, 2, 3, { padding: 1, seed: 1, backend: "interpreter" }),
    new RepresentativeBatchNorm2d(2, { backend: "interpreter" }),
    new ReLU(),
    new Flatten(),
    new Linear(2 * 3 * 3, 3, { seed: 2, backend: "interpreter" }),
  );
const x = Tensor.randn([6, 1, 3, 3], { seed: 7, backend: "interpreter" });
const labels = Tensor.from([0, 1, 2, 0, 1, 2], { backend: "interpreter" });

Deno.test("trainStep: one program per step, same structure every step, detached state", async () => {
  const net = model();
  const opt = new SGD(net, { lr: 0.1, momentum: 0.9 });
  const backend = await getBackend("interpreter");
  const losses: number[] = [];
  const compiled: number[] = [];
  for (let i = 0; i < 4; i++) {
    const loss = await trainStep(net, opt, () => crossEntropy(net.forward(x), labels));
    losses.push(await loss.item());
    compiled.push(backend.stats.kernelsCompiled);
    // Graphs do not chain across steps: every state tensor is a leaf over realized storage.
    ok(Object.values(net.stateDict()).every((t) => t.node.op === "buffer"));
    strictEqual(net.pendingState().length + opt.pendingState().length, 0);
  }
  // Step 1 starts the momentum buffers from zero leaves, so every step is the same program.
  strictEqual(compiled[3], compiled[0], `compiles per step: ${compiled}`);
  ok(losses[3] < losses[0], `loss went from ${losses[0]} to ${losses[3]}`);
  const rbn = net[1] as RepresentativeBatchNorm2d;
  strictEqual(await rbn.num_batches_tracked!.item(), 4);
});

Deno.test("parameter groups: calibration parameters get their own weight decay", async () => {
  const rbn = new RepresentativeBatchNorm2d(2, { dtype: "float64", backend: "interpreter" });
  rbn.center_weight = Tensor.full([1, 2, 1, 1], 1, { dtype: "float64", backend: "interpreter" });
  rbn.weight = Tensor.full([1, 2, 1, 1], 1, { dtype: "float64", backend: "interpreter" });
  const opt = new AdamW(rbn, { lr: 0.1, weightDecay: 0.5 }, [
    { params: (n) => /^(center|scale)_/.test(n), weightDecay: 0 },
  ]);
  strictEqual(opt.paramGroups.length, 2);
  // With zero gradients Adam's step is zero, so only the decoupled decay moves a parameter.
  const zeros = Object.fromEntries(rbn.namedParameters().map(([n, p]) => [n, p.mul(0)]));
  opt.step(zeros);
  await rbn.commitState();
  strictEqual((await rbn.center_weight.data())[0], 1);
  strictEqual((await rbn.weight!.data())[0], 1 - 0.1 * 0.5);
});

Deno.test("a step written with valueAndGrad equals trainStep", async () => {
  const a = model(), b = model();
  const optA = new SGD(a, { lr: 0.05, weightDecay: 0.01 });
  const optB = new SGD(b, { lr: 0.05, weightDecay: 0.01 });
  await trainStep(a, optA, () => crossEntropy(a.forward(x), labels));
  const params = Object.fromEntries(b.namedParameters());
  const [loss, grads] = valueAndGrad((_: typeof params) => crossEntropy(b.forward(x), labels))(
    params,
  );
  optB.step(grads);
  await realize(loss, ...b.pendingState(), ...optB.pendingState());
  b.detachState();
  for (const [name, t] of Object.entries(a.stateDict())) {
    deepStrictEqual(await b.stateDict()[name].data(), await t.data(), name);
  }
});
