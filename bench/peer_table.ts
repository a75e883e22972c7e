/**
 * The contraction table of bench/peers.ts: each case of bench/cases.ts timed in symgrad (cpu),
 * read from PyTorch's `bench/torch_peer.py --json` lines when given, and timed in jax-js and
 * TF.js (wasm) where bench/peer_cases.ts implements it; one row per case, ratios to symgrad.
 *
 * @module
 */

import { CASES } from "./cases.ts";
import { timeStep } from "./timing.ts";
import { caseInputs, peerCaseIds, timeJaxCase, timeTfCase } from "./peer_cases.ts";

/** Median ms per case id from JSON lines `{"case": id, "median_ms": ms, ...}`. */
export function parseTorchLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [i, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const row = JSON.parse(line) as { case?: unknown; median_ms?: unknown };
    if (typeof row.case !== "string" || typeof row.median_ms !== "number") {
      throw new Error(
        `--torch line ${i + 1}: expected {"case": string, "median_ms": number}`,
      );
    }
    out.set(row.case, row.median_ms);
  }
  return out;
}

type Cell = number | string;

// Failures are printed below the table; their cell shows the footnote number.
const failures: string[] = [];

function cell(v: Cell | undefined, ours: number): string {
  if (v === undefined) return "—".padStart(20);
  if (typeof v === "string") return `failed [${failures.push(v)}]`.padStart(20);
  return `${v.toFixed(2)} (${(v / ours).toFixed(2)}×)`.padStart(20);
}

async function attempt(fn: () => Promise<number>): Promise<Cell> {
  try {
    return await fn();
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

/**
 * Times every case and prints the table. `torch` holds PyTorch's medians by case id (may be
 * empty); `minMs` is each measurement's minimum timed span.
 */
export async function printCaseTable(
  torch: Map<string, number>,
  minMs: number,
): Promise<void> {
  const peers = new Set(peerCaseIds());
  const cols = ["symgrad cpu", "pytorch", "jax-js wasm jit", "tfjs wasm"];
  console.log(
    `\n${"case".padEnd(34)}${cols.map((c) => c.padStart(20)).join("")}` +
      "\n(median ms; in parentheses: time relative to symgrad, below 1 means faster than symgrad)",
  );
  for (const c of CASES) {
    const { step, dispose } = await c.setup("cpu");
    const ours = (await timeStep("cpu", step, minMs)).median_ms;
    dispose();
    let jaxMs: Cell | undefined, tfMs: Cell | undefined;
    if (peers.has(c.id)) {
      const inp = await caseInputs(c.id);
      jaxMs = await attempt(() => timeJaxCase(c.id, inp, minMs));
      tfMs = await attempt(() => timeTfCase(c.id, inp, minMs));
    }
    console.log(
      c.id.padEnd(34) + `${ours.toFixed(2)}`.padStart(20) +
        cell(torch.get(c.id), ours) +
        cell(jaxMs, ours) + cell(tfMs, ours),
    );
  }
  for (const [i, f] of failures.entries()) console.log(`[${i + 1}] ${f}`);
  console.log(
    "— : not measured (no --torch figure, or no peer implementation of the case)",
  );
}
