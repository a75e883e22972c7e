/**
 * RBN forward+backward (float32, training mode) on WebGPU in symgrad, jax-js (webgpu device,
 * jit) and TF.js (webgpu backend), in one run on the same adapter, plus symgrad's kernels and
 * queue submissions per step.
 *
 * Usage: `deno run -A --config bench/deno.json bench/webgpu_peers.ts [--shape N,C,H,W]
 * [--mode fwd|fwdbwd]` (default 32,64,32,32 fwdbwd; bench/deno.json maps the peer packages).
 * Every framework's step ends in a device synchronization: symgrad and TF.js read back a small
 * result, jax-js waits with `blockUntilReady`.
 *
 * @module
 */

import "@tensorflow/tfjs-backend-webgpu";
import { getBackend, jit, type Tensor } from "../mod.ts";
import { hostInputs, median, type Mode, timeJax, timeTf } from "./peer_models.ts";
import { rbnForward, rbnForwardBackward, rbnInputs } from "./rbn_model.ts";

async function timeSymgrad(shape: number[], mode: Mode) {
  const inputs = await rbnInputs(shape, "webgpu");
  const backend = await getBackend("webgpu");
  const step = jit(() => (mode === "fwd" ? [rbnForward(inputs)] : rbnForwardBackward(inputs)));
  const once = async () => {
    const outs: Tensor[] = await step();
    // Reading the smallest output waits for the whole submission (the queue runs in order).
    const smallest = outs.reduce((a, b) => (b.size < a.size ? b : a));
    await smallest.data();
    for (const t of outs) t.dispose();
  };
  const ms = await median(once);
  const before = { ...backend.stats };
  await step().then((outs: Tensor[]) => outs.forEach((t) => t.dispose()));
  const kernels = backend.stats.kernelsRun - before.kernelsRun;
  const submissions = backend.stats.submissions - before.submissions;
  for (const t of Object.values(inputs)) t.dispose();
  return { ms, kernels, submissions };
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const shape = (arg("shape") ?? "32,64,32,32").split(",").map(Number);
  const mode = (arg("mode") ?? "fwdbwd") as Mode;
  const h = await hostInputs(shape);
  const ours = await timeSymgrad(shape, mode);
  const adapter = await navigator.gpu.requestAdapter();
  console.log(`RBN ${shape.join("·")} ${mode} on ${adapter?.info.description || "WebGPU"}`);
  console.log(
    `  ${"symgrad webgpu".padEnd(18)} ${ours.ms.toFixed(2).padStart(8)} ms  ` +
      `(${ours.kernels} kernels, ${ours.submissions} submission per step)`,
  );
  const peers = [
    ["jax-js webgpu jit", () => timeJax("webgpu", shape, mode, h)],
    ["tfjs webgpu", () => timeTf("webgpu", shape, mode, h)],
  ] as const;
  for (const [name, run] of peers) {
    try {
      const ms = await run();
      console.log(
        `  ${name.padEnd(18)} ${ms.toFixed(2).padStart(8)} ms  (${(ms / ours.ms).toFixed(2)}×)`,
      );
    } catch (e) {
      console.log(`  ${name.padEnd(18)} failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}
