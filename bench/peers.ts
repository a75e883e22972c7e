/**
 * RBN forward and forward+backward (float32, training mode) in symgrad, jax-js (wasm device,
 * jit) and TF.js (wasm backend), in one run, with time ratios against symgrad.
 *
 * Usage: `deno task bench:peers [--shape N,C,H,W] [--mode fwd|fwdbwd]` (default 32,64,32,32,
 * both modes). Each framework gets the same seeded inputs; jax-js and TF.js losses are sum(Y·G)
 * like symgrad's.
 *
 * @module
 */

import "@tensorflow/tfjs-backend-wasm";
import { hostInputs, type Mode, timeJax, timeTf } from "./peer_models.ts";
import { timeRbn } from "./rbn.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const shape = (arg("shape") ?? "32,64,32,32").split(",").map(Number);
  const modes: Mode[] = arg("mode") ? [arg("mode") as Mode] : ["fwd", "fwdbwd"];
  const h = await hostInputs(shape);
  for (const mode of modes) {
    const ours = (await timeRbn("cpu", shape, mode)).median_ms;
    const row: [string, number | string][] = [["symgrad cpu", ours]];
    const peers = [
      ["jax-js wasm jit", () => timeJax("wasm", shape, mode, h)],
      ["tfjs wasm", () => timeTf("wasm", shape, mode, h)],
    ] as const;
    for (const [name, run] of peers) {
      try {
        row.push([name, await run()]);
      } catch (e) {
        row.push([name, `failed: ${(e as Error).message.split("\n")[0]}`]);
      }
    }
    console.log(`RBN ${shape.join("·")} ${mode}`);
    for (const [name, ms] of row) {
      console.log(
        typeof ms === "number"
          ? `  ${name.padEnd(16)} ${ms.toFixed(2).padStart(8)} ms  (${
            (ms / ours).toFixed(2)
          }× symgrad)`
          : `  ${name.padEnd(16)} ${ms}`,
      );
    }
  }
  // A peer's runtime keeps the event loop alive after its last run: end once the table is out.
  Deno.exit(0);
}
