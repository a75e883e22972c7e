/**
 * Contractions (matmul, conv2d and their gradients) tiled in workgroup memory.
 *
 * A reduction kernel qualifies when two of its output loops, A and B, split its loads: each load
 * is independent of A or of B (matmul: `a[m, k]` does not depend on n, `b[k, n]` not on m). A
 * workgroup computes a tile of TILE × TILE outputs over (A, B). For each chunk of TILE reduction
 * steps, its invocations first compute the values that do not depend on B for every (a, r) of
 * the tile, and those that do not depend on A for every (b, r), into workgroup memory; after a
 * barrier every invocation combines its row and column over the chunk. Each loaded element is
 * then read from device memory once per tile instead of once per output. A long reduction is
 * split into parts (each a range of whole chunks) whose partial states a second kernel folds, so
 * that no invocation runs more loop iterations than the budget (render_kernel.ts).
 *
 * @module
 */

import type { Kernel } from "../../core/schedule.ts";
import type { Accumulator } from "./accumulate.ts";
import { literal, storageType } from "./wgsl.ts";

/** Tile extent along A, B and the reduction (TILE² invocations per workgroup). */
const TILE = 16;

/** What the tiled renderer needs from the kernel renderer. */
export interface TileContext {
  readonly k: Kernel;
  readonly extents: readonly number[];
  readonly outLoops: readonly number[];
  readonly redLoops: readonly number[];
  /** Values the result needs. */
  readonly used: ReadonlySet<number>;
  /** The statement(s) defining value `i` (empty for constants). */
  valueSource(i: number): string;
  /** A value's name, or its literal for constants. */
  arg(i: number): string;
  /** `let` bindings of `loops` decoded from the linear index `x`. */
  decode(x: string, loops: readonly number[]): string;
  /** The reduce op's accumulator. */
  readonly acc: Accumulator;
  store(value: string): string;
  readonly linear: string;
  /** Parts a reduction of `extent` steps splits into: at most `maxChunk` each, `wanted` or more. */
  partsFor(extent: number, maxChunk: number, wanted: number): number;
}

/**
 * Chunks of the reduction one invocation walks: each costs TILE + 1 loop iterations, and the
 * budget leaves a margin for the rest of the kernel.
 */
const MAX_CHUNKS = 2560;

/** The source body, shared declarations and workgroup count of a tiled kernel, if it applies. */
export function renderTiled(
  c: TileContext,
  maxSharedBytes: number,
): { body: string; shared: string; workgroups: number; wg: number; parts: number } | undefined {
  const { k, extents, outLoops, redLoops, used } = c;
  if (k.reduceOp === undefined || outLoops.length < 2) return undefined;
  const length = redLoops.reduce((p, l) => p * extents[l], 1);
  if (length < TILE) return undefined;
  const loads = [...used].filter((i) => k.values[i].op === "load");
  const dependsOn = (i: number, l: number) => k.values[i].deps.includes(l);
  // The pair of output loops that splits every load, with the most outputs per tile.
  let best: [number, number] | undefined, bestScore = 0;
  for (const a of outLoops) {
    for (const b of outLoops) {
      if (a >= b || extents[a] < 4 || extents[b] < 4) continue;
      if (!loads.every((i) => !dependsOn(i, a) || !dependsOn(i, b))) continue;
      const score = Math.min(extents[a], TILE) * Math.min(extents[b], TILE);
      if (score > bestScore) [best, bestScore] = [[a, b], score];
    }
  }
  if (best === undefined) return undefined;
  const [A, B] = best;
  // Sides: values free of B are computed per (a, r), values free of A per (b, r); the rest per
  // (a, b, r). Each side is closed under arguments, since deps only grow along the SSA chain.
  const side = (i: number): "a" | "b" | "both" =>
    !dependsOn(i, B) ? "a" : !dependsOn(i, A) ? "b" : "both";
  const frontier = new Set<number>();
  for (const i of used) {
    const v = k.values[i];
    if (side(i) !== "both" || v.op === "const") continue;
    if (v.op === "alu" || v.op === "guard") {
      for (const j of v.args) if (side(j) !== "both" && k.values[j].op !== "const") frontier.add(j);
    }
  }
  if (side(k.result) !== "both" && k.values[k.result].op !== "const") frontier.add(k.result);
  const sharedBytes = frontier.size * TILE * TILE * 4;
  if (frontier.size === 0 || sharedBytes > maxSharedBytes) return undefined;

  const tilesA = Math.ceil(extents[A] / TILE), tilesB = Math.ceil(extents[B] / TILE);
  const outer = outLoops.filter((l) => l !== A && l !== B);
  const outerCount = outer.reduce((p, l) => p * extents[l], 1);
  const type = (i: number) => storageType(k.values[i].dtype, `value ${i} of a tiled kernel`);
  const shared = [...frontier].map((i) =>
    `var<workgroup> sh${i}: array<${type(i)}, ${TILE * TILE}>;\n`
  )
    .join("");
  // Phase 1 of side "a" computes every value free of B (also those free of both, which side
  // "b" values may use too); phase 2 computes the values that depend on both.
  const sideSource = (s: "a" | "b" | "both") =>
    [...used].filter((i) =>
      s === "a" ? !dependsOn(i, B) : s === "b" ? !dependsOn(i, A) : side(i) === "both"
    ).sort((p, q) => p - q).map((i) => c.valueSource(i)).filter((x) => x !== "").join("\n");
  const ln = (l: number) => `i${l}`;
  // Phase 1 block for one side: invocation t takes row t / TILE of the tile and step t % TILE.
  const phase1 = (s: "a" | "b", loop: number, base: string) => {
    const mine = [...frontier].filter((i) => side(i) === s);
    if (mine.length === 0) return "";
    return `{
  let ${ln(loop)} = ${base} + t / ${TILE};
  let r = c0 + t % ${TILE};
  ${c.decode("r", redLoops).replaceAll("\n", "\n  ")}
  if (${ln(loop)} < ${extents[loop]} && r < stop) {
    ${sideSource(s).replaceAll("\n", "\n    ")}
    ${mine.map((i) => `sh${i}[t] = ${c.arg(i)};`).join("\n    ")}
  } else {
    ${mine.map((i) => `sh${i}[t] = ${literal(0, k.values[i].dtype)};`).join("\n    ")}
  }
}`;
  };
  // Phase 2: invocation (t / TILE, t % TILE) = (a, b) folds the chunk.
  const reads = [...frontier].map((i) =>
    `let v${i} = sh${i}[${side(i) === "a" ? "ta" : "tb"} * ${TILE} + rr];`
  ).join("\n      ");
  const tiles = outerCount * tilesA * tilesB;
  const chunks = Math.ceil(length / TILE);
  const parts = c.partsFor(
    chunks,
    MAX_CHUNKS,
    Math.min(Math.ceil(64 / tiles), Math.floor(chunks / 64)),
  );
  const span = Math.ceil(chunks / parts) * TILE;
  // The output's row-major index over all output loops (partial states are output-major).
  let linearOut = "0";
  for (const l of outLoops) linearOut = `(${linearOut} * ${extents[l]} + ${ln(l)})`;
  const head = parts === 1
    ? `let w = ${c.linear};\nif (w >= ${tiles}) { return; }\nlet start = 0;\nlet stop = ${length};`
    : `let wp = ${c.linear};\nif (wp >= ${tiles * parts}) { return; }\n` +
      `let w = wp / ${parts};\nlet part = wp % ${parts};\nlet start = part * ${span};\n` +
      `let stop = min(start + ${span}, ${length});`;
  const finish = parts === 1
    ? c.store(c.acc.value("acc"))
    : c.acc.put("acc", "out", `${linearOut} * ${parts} + part`);
  const body = `let t = i32(lid.x);
${head}
let ta = t / ${TILE};
let tb = t % ${TILE};
let o = w / ${tilesA * tilesB};
let tile_a = ((w / ${tilesB}) % ${tilesA}) * ${TILE};
let tile_b = (w % ${tilesB}) * ${TILE};
${c.decode("o", outer)}
${c.acc.decl("acc")}
for (var c0 = start; c0 < stop; c0 += ${TILE}) {
  ${phase1("a", A, "tile_a").replaceAll("\n", "\n  ")}
  ${phase1("b", B, "tile_b").replaceAll("\n", "\n  ")}
  workgroupBarrier();
  {
    let ${ln(A)} = tile_a + ta;
    let ${ln(B)} = tile_b + tb;
    for (var rr = 0; rr < min(${TILE}, stop - c0); rr++) {
      let r = c0 + rr;
      ${c.decode("r", redLoops).replaceAll("\n", "\n      ")}
      ${reads}
      ${sideSource("both").replaceAll("\n", "\n      ")}
      ${c.acc.add("acc", c.arg(k.result)).replaceAll("\n", "\n      ")}
    }
  }
  workgroupBarrier();
}
{
  let ${ln(A)} = tile_a + ta;
  let ${ln(B)} = tile_b + tb;
  if (${ln(A)} < ${extents[A]} && ${ln(B)} < ${extents[B]}) {
    ${finish.replaceAll("\n", "\n    ")}
  }
}`;
  return { body, shared, workgroups: tiles * parts, wg: TILE * TILE, parts };
}
