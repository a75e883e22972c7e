// Module.parameterCount and Module.summary: counts, shared tensors, the table, traced output
// shapes, and that tracing leaves mode and state as they were.

import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import { BatchNorm2d, Conv2d, Flatten, Linear, Module, ReLU, Sequential } from "../../nn/mod.ts";

Deno.test("parameterCount sums parameter elements, each shared tensor once, no buffers", () => {
  const cnn = new Sequential(new Conv2d(1, 4, 3), new BatchNorm2d(4), new Linear(6, 5));
  // Conv 4·1·3·3 + 4, BN weight and bias 4 + 4 (running stats are buffers), Linear 5·6 + 5.
  assert.equal(cnn.parameterCount(), 40 + 8 + 35);
  assert.equal(
    cnn.parameterCount(),
    cnn.parameters().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0),
  );
  class Tied extends Module {
    a = new Linear(3, 3, { bias: false });
    b = new Linear(3, 3, { bias: false });
    constructor() {
      super();
      this.b.weight = this.a.weight;
    }
    forward(x: Tensor): Tensor {
      return this.b.forward(this.a.forward(x));
    }
  }
  assert.equal(new Tied().parameterCount(), 9);
  assert.equal(new ReLU().parameterCount(), 0);
});

Deno.test("summary: one row per module with type, traced output shape and own parameters", () => {
  const cnn = new Sequential(
    new Conv2d(1, 4, 3),
    new BatchNorm2d(4),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 6 * 6, 10),
  );
  const text = cnn.summary([2, 1, 8, 8]);
  const lines = text.split("\n");
  assert.match(lines[0], /^Layer \(type\)\s+Output shape\s+Params$/);
  const row = (name: string) =>
    lines.find((l) => l.trimStart().startsWith(name))!.trim().split(/\s{2,}/);
  assert.deepEqual(row("(root)").map((c) => c.trim()), ["(root) (Sequential)", "[2, 10]", "0"]);
  assert.deepEqual(row("0 (Conv2d)").map((c) => c.trim()), ["0 (Conv2d)", "[2, 4, 6, 6]", "40"]);
  assert.deepEqual(row("1 (BatchNorm2d)").map((c) => c.trim()), [
    "1 (BatchNorm2d)",
    "[2, 4, 6, 6]",
    "8",
  ]);
  assert.deepEqual(row("3 (Flatten)").map((c) => c.trim()), ["3 (Flatten)", "[2, 144]", "0"]);
  assert.deepEqual(row("4 (Linear)").map((c) => c.trim()), ["4 (Linear)", "[2, 10]", "1,450"]);
  assert.ok(lines.includes("Total params: 1,498"));
  assert.ok(lines.includes("Buffers (not trained): 9 elements"));
  // Children are indented under their parent.
  assert.ok(lines.some((l) => l.startsWith("  0 (Conv2d)")));
  // Without an input the shapes are unknown.
  assert.ok(cnn.summary().split("\n").filter((l) => / - /.test(l)).length >= 5);
});

Deno.test("summary traces lazily and restores mode, state and forward methods", async () => {
  const bn = new BatchNorm2d(3);
  const net = new Sequential(bn, new ReLU());
  const before = net.stateDict();
  net.summary(Tensor.randn([2, 3, 4, 4], { seed: 1 }));
  assert.equal(net.training, true);
  assert.equal(bn.training, true);
  assert.equal(Object.hasOwn(bn, "forward"), false);
  assert.deepEqual(net.pendingState(), []); // a train-mode forward would have queued BN updates
  for (const [k, t] of Object.entries(net.stateDict())) assert.equal(t, before[k]);
  // The module still works afterwards.
  assert.deepEqual(net.forward(Tensor.ones([1, 3, 2, 2])).shape, [1, 3, 2, 2]);
  await net.commitState();
  // A failing forward call (wrong input rank) restores everything too.
  net.eval();
  assert.throws(() => net.summary([3]));
  assert.equal(net.training, false);
  assert.equal(Object.hasOwn(bn, "forward"), false);
});
