/**
 * Contractions (matmul, conv2d and their gradients) tiled in workgroup memory.
 *
 * A reduction kernel qualifies when two of its output loops, A and B, split its loads: each load
 * is independent of A or of B (matmul: `a[m, k]` does not depend on n, `b[k, n]` not on m). A
 * workgroup computes a tile of TILE × TILE outputs over (A, B). For each chunk of TILE reduction
 * steps, its invocations first compute the values that do not depend on B for every (a, r) of
 * the tile, and those that do not depend on A for every (b, r), into workgroup memory; after a
 * barrier every invocation combines its row and column over the chunk. Each loaded element is
 * then read from device memory once per tile instead of once per output.
 *
 * @module
 */

import type { Kernel } from "../../core/schedule.ts";
import { literal } from "./wgsl.ts";

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
  readonly identity: string;
  combine(acc: string, v: string): string;
  store(value: string): string;
  readonly linear: string;
}

/** The source body, shared declarations and workgroup count of a tiled kernel, if it applies. */
export function renderTiled(
  c: TileContext,
  maxSharedBytes: number,
): { body: string; shared: string; workgroups: number; wg: number } | undefined {
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
  const type = (i: number) => (k.values[i].dtype === "bool" ? "u32" : "f32");
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
  if (${ln(loop)} < ${extents[loop]} && r < ${length}) {
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
  const body = `let t = i32(lid.x);
let w = ${c.linear};
if (w >= ${outerCount * tilesA * tilesB}) { return; }
let ta = t / ${TILE};
let tb = t % ${TILE};
let o = w / ${tilesA * tilesB};
let tile_a = ((w / ${tilesB}) % ${tilesA}) * ${TILE};
let tile_b = (w % ${tilesB}) * ${TILE};
${c.decode("o", outer)}
var acc = ${c.identity};
for (var c0 = 0; c0 < ${length}; c0 += ${TILE}) {
  ${phase1("a", A, "tile_a").replaceAll("\n", "\n  ")}
  ${phase1("b", B, "tile_b").replaceAll("\n", "\n  ")}
  workgroupBarrier();
  {
    let ${ln(A)} = tile_a + ta;
    let ${ln(B)} = tile_b + tb;
    for (var rr = 0; rr < min(${TILE}, ${length} - c0); rr++) {
      let r = c0 + rr;
      ${c.decode("r", redLoops).replaceAll("\n", "\n      ")}
      ${reads}
      ${sideSource("both").replaceAll("\n", "\n      ")}
      acc = ${c.combine("acc", c.arg(k.result))};
    }
  }
  workgroupBarrier();
}
{
  let ${ln(A)} = tile_a + ta;
  let ${ln(B)} = tile_b + tb;
  if (${ln(A)} < ${extents[A]} && ${ln(B)} < ${extents[B]}) { ${c.store("acc")} }
}`;
  return { body, shared, workgroups: outerCount * tilesA * tilesB, wg: TILE * TILE };
}
