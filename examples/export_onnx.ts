/**
 * Export to ONNX: trains the MNIST demo network (with RBN) for a few batches, exports it with
 * `exportOnnx`, runs the exported model in ONNX Runtime and prints both predictions side by side.
 *
 * ONNX Runtime is `onnxruntime-web`'s WebAssembly build: under Deno it needs no permission beyond
 * reading its .wasm from the npm cache, where `onnxruntime-node`'s native addon would need
 * `--allow-ffi`. The exporter itself imports no runtime.
 *
 * Run: `deno run --allow-read --allow-env --allow-write=/tmp examples/export_onnx.ts`
 * (flags: --steps N --norm BN|RBN --out PATH).
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as ort from "onnxruntime-web";
import { AdamW, crossEntropy, trainStep } from "../nn/mod.ts";
import { saveOnnx } from "../onnx/mod.ts";
import { batch, loadMnist, permutation } from "./mnist_data.ts";
import { SmallCnn } from "./mnist_model.ts";
import { NORMS } from "./mnist_train.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "8" },
    norm: { type: "string", default: "RBN" },
    out: { type: "string", default: "/tmp/symgrad-mnist.onnx" },
  },
});
const steps = Number(flags.steps);
const norm = NORMS[flags.norm as "BN" | "RBN"];
if (!(Number.isInteger(steps) && steps >= 0) || norm === undefined) {
  throw new Error(
    `export_onnx: expected --steps N >= 0 and --norm BN or RBN, got ${flags.steps} ${flags.norm}`,
  );
}

// A few training batches, so the weights and running statistics are not the initial ones.
const data = loadMnist();
const model = new SmallCnn(norm, 0);
const opt = new AdamW(model, { lr: 0.002 });
const order = permutation(data.train.count, 1);
for (let s = 0; s < steps; s++) {
  const { x, y } = batch(data.train, order.subarray(s * 64, (s + 1) * 64));
  const loss = await trainStep(model, opt, () => crossEntropy(model.forward(x), y));
  console.log(`step ${s + 1}/${steps}: loss ${(await loss.item()).toFixed(4)}`);
}

model.eval();
const test = batch(data.test, Uint32Array.from({ length: 10 }, (_, i) => i * 100));
await saveOnnx(flags.out!, model, test.x);
const ours = await model.forward(test.x).data();
console.log(
  `exported ${flags.norm} model to ${flags.out} (${(await Deno.stat(flags.out!)).size} bytes)`,
);

ort.env.wasm.numThreads = 1;
const session = await ort.InferenceSession.create(flags.out!);
const input = new ort.Tensor("float32", (await test.x.data()) as Float32Array, [...test.x.shape]);
const theirs = (await session.run({ input })).output.data as Float32Array;
await session.release();

const argmax = (v: ArrayLike<number>, row: number) => {
  let best = 0;
  for (let c = 1; c < 10; c++) if (v[row * 10 + c] > v[row * 10 + best]) best = c;
  return best;
};
let worst = 0;
for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
console.log("label  symgrad  onnxruntime");
for (let r = 0; r < test.labels.length; r++) {
  console.log(
    `${String(test.labels[r]).padStart(5)}  ${String(argmax(ours, r)).padStart(7)}  ${
      String(argmax(theirs, r)).padStart(11)
    }`,
  );
}
console.log(`largest logit difference: ${worst.toExponential(2)}`);
if (!(worst <= 1e-5)) throw new Error(`export_onnx: ONNX Runtime's logits differ by ${worst}`);
