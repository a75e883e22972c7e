/**
 * RBN forward and forward+backward (float32, training mode) in symgrad, jax-js (wasm device,
 * jit) and TF.js (wasm backend), in one run, with time ratios against symgrad; PyTorch's figure
 * too when `--torch FILE` has the shape's `rbn_NxCxHxW_mode` case.
 *
 * Then the cases of bench/cases.ts (matmul, conv2d, the MNIST training step) in one table:
 * symgrad, PyTorch (read from `--torch FILE`, the output of `bench/torch_peer.py --json`),
 * jax-js and TF.js (bench/peer_table.ts).
 *
 * Usage: `deno task bench:peers [--shape N,C,H,W] [--mode fwd|fwdbwd] [--torch FILE]
 * [--min-ms MS] [--only rbn|cases]` (default 32,64,32,32, both modes, 1500 ms per measurement,
 * both tables). Each framework gets the same seeded inputs; jax-js and TF.js losses are
 * sum(Y·G) like symgrad's.
 *
 * @module
 */

import "@tensorflow/tfjs-backend-wasm";
import { hostInputs, type Mode, timeJax, timeTf } from "./peer_models.ts";
import { timeRbn } from "./rbn.ts";
import { parseTorchLines, printCaseTable } from "./peer_table.ts";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

if (import.meta.main) {
  const shape = (arg("shape") ?? "32,64,32,32").split(",").map(Number);
  const modes: Mode[] = arg("mode") ? [arg("mode") as Mode] : ["fwd", "fwdbwd"];
  const only = arg("only");
  if (only !== undefined && only !== "rbn" && only !== "cases") {
    throw new Error(`--only: expected "rbn" or "cases", got "${only}"`);
  }
  const minMs = Number(arg("min-ms") ?? 1500);
  if (!(minMs >= 0)) {
    throw new Error(`--min-ms: expected a number ≥ 0, got "${arg("min-ms")}"`);
  }
  const torchFile = arg("torch");
  const torch = torchFile ? parseTorchLines(await Deno.readTextFile(torchFile)) : new Map();
  const h = only === "cases" ? undefined : await hostInputs(shape);
  for (const mode of only === "cases" ? [] : modes) {
    const hh = h ?? await hostInputs(shape);
    const ours = (await timeRbn("cpu", shape, mode)).median_ms;
    const row: [string, number | string][] = [["symgrad cpu", ours]];
    const torchMs = torch.get(`rbn_${shape.join("x")}_${mode}`);
    if (torchMs !== undefined) row.push(["pytorch", torchMs]);
    const peers = [
      ["jax-js wasm jit", () => timeJax("wasm", shape, mode, hh)],
      ["tfjs wasm", () => timeTf("wasm", shape, mode, hh)],
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
  if (only !== "rbn") await printCaseTable(torch, minMs);
  // A peer's runtime keeps the event loop alive after its last run: end once the table is out.
  Deno.exit(0);
}
