/**
 * WGSL for one scheduled kernel (core/schedule.ts).
 *
 * Index arithmetic is `i32` (index expressions may be negative where a `pad` condition guards
 * them; buffers are far below 2^31 elements). Three shapes of parallelism:
 * - no reduction: one invocation per output element;
 * - reductions with many outputs or short reductions: one invocation per output, the reduction
 *   loops nested inside it, each value computed at the outermost loop it depends on;
 * - few outputs with long reductions: one workgroup per output (or per part of an output: a split
 *   reduction, whose partial results a second kernel combines) strides over the reduced
 *   elements and combines the invocations' accumulators in workgroup memory.
 *
 * @module
 */

import type { Cond, Kernel, KernelValue, ScheduleBuffer } from "../../core/schedule.ts";
import type { Index } from "../../core/symbolic.ts";
import type { Binding, RenderedKernel, ScratchBuffer } from "./kernel.ts";
import { f32Literal, KERNEL_PARAMS, LINEAR_WORKGROUP, literal, storageType, u32 } from "./wgsl.ts";

/** Invocations per workgroup of elementwise and per-output kernels. */
const THREAD_WG = 64;
/** Invocations per workgroup of cooperative reductions (a power of two). */
const GROUP_WG = 256;

/** Helpers for floor division and non-negative remainders of possibly negative indices. */
const INDEX_HELPERS =
  `fn fdiv(a: i32, d: i32) -> i32 { return select(a / d, (a - d + 1) / d, a < 0); }
fn fmod(a: i32, d: i32) -> i32 { return ((a % d) + d) % d; }
`;

const loopName = (l: number) => `i${l}`;

/** An index expression as WGSL `i32`. */
export function indexSource(x: Index): string {
  const atom = (a: Index["terms"][number]["atom"]): string => {
    switch (a.kind) {
      case "loop":
        return loopName(a.loop);
      case "div":
        return a.x.min >= 0
          ? `(${indexSource(a.x)} / ${a.d})`
          : `fdiv(${indexSource(a.x)}, ${a.d})`;
      case "mod":
        return a.x.min >= 0
          ? `(${indexSource(a.x)} % ${a.d})`
          : `fmod(${indexSource(a.x)}, ${a.d})`;
    }
  };
  const parts = x.terms.map((t) =>
    t.coef === 1 ? atom(t.atom) : `${t.coef < 0 ? `(${t.coef})` : t.coef} * ${atom(t.atom)}`
  );
  if (x.c !== 0 || parts.length === 0) parts.push(x.c < 0 ? `(${x.c})` : String(x.c));
  return parts.length === 1 ? parts[0] : `(${parts.join(" + ")})`;
}

function condSource(c: Cond): string {
  const e = indexSource(c.index);
  const parts: string[] = [];
  if (c.index.min < c.lo) parts.push(`${c.lo} <= ${e}`);
  if (c.index.max >= c.hi) parts.push(`${e} < ${c.hi}`);
  return parts.join(" && ") || "true";
}

/** `max` that propagates NaN like the interpreter (WGSL leaves NaN operands unspecified). */
function maxExpr(a: string, b: string): string {
  return `select(max(${a}, ${b}), ${a} + ${b}, ${a} != ${a} || ${b} != ${b})`;
}

function aluSource(
  v: KernelValue & { op: "alu" },
  arg: (i: number) => string,
  dtypeOf: (i: number) => string,
): string {
  const [a, b, c] = v.args.map(arg);
  switch (v.alu) {
    case "neg":
      return `-${a}`;
    case "exp":
      return `exp(${a})`;
    case "log":
      return `log(${a})`;
    case "sqrt":
      return `sqrt(${a})`;
    case "recip":
      return `1.0f / ${a}`;
    case "sin":
      return `sin(${a})`;
    case "sigmoid":
      return `1.0f / (1.0f + exp(-${a}))`;
    case "tanh":
      // tanh(±15) rounds to ±1 in float32; clamping keeps exp-based versions from inf/inf.
      return `tanh(clamp(${a}, -15.0f, 15.0f))`;
    case "add":
      return `${a} + ${b}`;
    case "mul":
      return `${a} * ${b}`;
    case "max":
      return maxExpr(a, b);
    case "cmplt":
      return `select(0u, 1u, ${a} < ${b})`;
    case "cmpeq":
      return `select(0u, 1u, ${a} == ${b})`;
    case "where":
      return `select(${c}, ${b}, ${a} != 0u)`;
    case "cast":
      if (v.dtype === "bool") {
        return `select(0u, 1u, ${a} != ${dtypeOf(v.args[0]) === "bool" ? "0u" : "0.0f"})`;
      }
      return dtypeOf(v.args[0]) === "bool" ? `f32(${a})` : a;
  }
}

/** Which strategy a kernel runs with. */
type Strategy =
  | { kind: "elementwise" }
  | { kind: "serial" }
  | { kind: "group"; parts: number };

function chooseStrategy(outputs: number, length: number): Strategy {
  if (length <= 1) return { kind: "elementwise" };
  if (outputs >= 1024 || length <= 64) return { kind: "serial" };
  // Enough workgroups to occupy the device, each with at least 4 elements per invocation.
  const parts = Math.max(1, Math.min(Math.ceil(64 / outputs), Math.floor(length / (GROUP_WG * 4))));
  return { kind: "group", parts };
}

/** Kernels (one, or two for a split reduction) computing scheduled kernel `k`. */
export function renderKernel(
  k: Kernel,
  buffers: readonly ScheduleBuffer[],
  scratch: ScratchBuffer[],
): RenderedKernel[] {
  const outLoops = k.loops.flatMap((l, i) => (l.reduce ? [] : [i]));
  const redLoops = k.loops.flatMap((l, i) => (l.reduce ? [i] : []));
  const outputs = outLoops.reduce((p, l) => p * k.loops[l].extent, 1);
  const length = redLoops.reduce((p, l) => p * k.loops[l].extent, 1);
  const strategy = k.reduceOp === undefined
    ? { kind: "elementwise" } as const
    : chooseStrategy(outputs, length);
  const label = `kernel ${k.id} [${k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`)}]`;

  // Bindings: buffers read, in order, then the output (or the partials of a split reduction).
  const bindings: Binding[] = k.reads.map((b) => ({ kind: "buffer", buffer: b }));
  const decls = k.reads.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, read> b${b}: array<${
      storageType(buffers[b].dtype, `buffer ${b} of ${label}`)
    }>;\n`
  ).join("");
  const outType = storageType(k.out.dtype, `the output of ${label}`);

  // Values the result needs, each placed at the loop depth it depends on.
  const used = new Set<number>();
  const mark = (i: number) => {
    if (used.has(i)) return;
    used.add(i);
    const v = k.values[i];
    if (v.op === "alu" || v.op === "guard") v.args.forEach(mark);
  };
  mark(k.result);
  const arg = (i: number) => {
    const v = k.values[i];
    return v.op === "const" ? literal(v.value, v.dtype) : `v${i}`;
  };
  const dtypeOf = (i: number) => k.values[i].dtype;
  const valueLines = (i: number): string => {
    const v = k.values[i];
    const t = storageType(v.dtype, `value ${i} of ${label}`);
    switch (v.op) {
      case "const":
        return "";
      case "load": {
        const read = `b${v.buffer}[${indexSource(v.index)}]`;
        if (v.valid.length === 0) return `let v${i} = ${read};`;
        return `var v${i}: ${t} = ${literal(0, v.dtype)};\n` +
          `if (${v.valid.map(condSource).join(" && ")}) { v${i} = ${read}; }`;
      }
      case "guard":
        return `let v${i} = select(${literal(0, v.dtype)}, ${arg(v.args[0])}, ${
          v.valid.map(condSource).join(" && ")
        });`;
      case "alu":
        return `let v${i} = ${aluSource(v, arg, dtypeOf)};`;
    }
  };
  // Depth 0: needs only output loops; depth d > 0: inside reduction loop number d - 1.
  const redPos = new Map(redLoops.map((l, p) => [l, p]));
  const depthOf = (v: KernelValue) =>
    v.deps.reduce((d, l) => Math.max(d, redPos.has(l) ? redPos.get(l)! + 1 : 0), 0);
  const atDepth: string[][] = Array.from({ length: redLoops.length + 1 }, () => []);
  k.values.forEach((v, i) => {
    if (!used.has(i)) return;
    const src = valueLines(i);
    if (src !== "") atDepth[depthOf(v)].push(src);
  });

  /** Defines the output loop variables from the linear output index `o` (an i32). */
  const outputVars = (o: string) => {
    let stride = outputs;
    return outLoops.map((l) => {
      const e = k.loops[l].extent;
      stride /= e;
      const q = stride === 1 ? o : `(${o} / ${stride})`;
      return `let ${loopName(l)} = ${stride * e === outputs ? q : `${q} % ${e}`};`;
    }).join("\n  ");
  };
  const result = arg(k.result);
  const store = (value: string) => `out[${indexSource(k.out.index)}] = ${value};`;
  const identity = k.reduceOp === "max" ? f32Literal(-Infinity) : "0.0f";
  const combine = (acc: string, v: string) =>
    k.reduceOp === "max" ? maxExpr(acc, v) : `${acc} + ${v}`;
  const header = (outDecl: string, wg: number) =>
    `${INDEX_HELPERS}${decls}${outDecl}@compute @workgroup_size(${wg})\nfn main(${KERNEL_PARAMS}) {\n`;
  const outDecl = (t: string) =>
    `@group(0) @binding(${k.reads.length}) var<storage, read_write> out: array<${t}>;\n`;
  const outBinding: Binding = { kind: "buffer", buffer: k.out.buffer };

  if (strategy.kind === "elementwise" || strategy.kind === "serial") {
    const lines: string[] = [
      `  let o = i32(${LINEAR_WORKGROUP} * ${u32(THREAD_WG)} + lid.x);`,
      `  if (o >= ${outputs}) { return; }`,
      `  ${outputVars("o")}`,
      ...atDepth[0].map((s) => `  ${s}`),
    ];
    if (strategy.kind === "elementwise") {
      lines.push(`  ${store(result)}`);
    } else {
      lines.push(`  var acc = ${identity};`);
      redLoops.forEach((l, p) => {
        const n = loopName(l);
        lines.push(`  for (var ${n} = 0; ${n} < ${k.loops[l].extent}; ${n}++) {`);
        lines.push(...atDepth[p + 1].map((s) => `  ${s}`));
      });
      lines.push(`  acc = ${combine("acc", result)};`);
      lines.push(...redLoops.map(() => "  }"));
      lines.push(`  ${store("acc")}`);
    }
    return [{
      label,
      bindings: [...bindings, outBinding],
      workgroups: Math.ceil(outputs / THREAD_WG),
      source: `${header(outDecl(outType), THREAD_WG)}${lines.join("\n")}\n}\n`,
    }];
  }

  // Cooperative reduction: workgroup w handles part (w % parts) of output (w / parts).
  const parts = strategy.parts;
  const chunk = Math.ceil(length / parts);
  const redVars = (() => {
    let stride = length;
    return redLoops.map((l) => {
      const e = k.loops[l].extent;
      stride /= e;
      const q = stride === 1 ? "r" : `(r / ${stride})`;
      return `let ${loopName(l)} = ${stride * e === length ? q : `${q} % ${e}`};`;
    }).join("\n    ");
  })();
  const inner = atDepth.slice(1).flat().map((s) => `    ${s}`).join("\n");
  const split = parts > 1;
  let target: Binding = outBinding, targetType = outType, finalStore = store("shared_acc[0]");
  if (split) {
    const partial: ScratchBuffer = { id: scratch.length, bytes: outputs * parts * 4 };
    scratch.push(partial);
    target = { kind: "scratch", id: partial.id };
    targetType = "f32";
    finalStore = "out[w] = shared_acc[0];";
  }
  const stage1 = `${header(outDecl(targetType), GROUP_WG)}  let w = i32(${LINEAR_WORKGROUP});
  if (w >= ${outputs * parts}) { return; }
  let o = w / ${parts};
  let start = (w % ${parts}) * ${chunk};
  let stop = min(start + ${chunk}, ${length});
  ${outputVars("o")}
${atDepth[0].map((s) => `  ${s}`).join("\n")}
  var acc = ${identity};
  for (var r = start + i32(lid.x); r < stop; r += ${GROUP_WG}) {
    ${redVars}
${inner}
    acc = ${combine("acc", result)};
  }
  shared_acc[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${u32(GROUP_WG / 2)}; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      let a = shared_acc[lid.x];
      let b = shared_acc[lid.x + s];
      shared_acc[lid.x] = ${combine("a", "b")};
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { ${finalStore} }
}
`.replace("@compute", `var<workgroup> shared_acc: array<f32, ${GROUP_WG}>;\n@compute`);
  const first: RenderedKernel = {
    label: split ? `${label} (part 1 of 2)` : label,
    bindings: [...bindings, target],
    workgroups: outputs * parts,
    source: stage1,
  };
  if (!split) return [first];
  // Stage 2: one invocation per output folds its `parts` partial results.
  const stage2 = `${INDEX_HELPERS}@group(0) @binding(0) var<storage, read> partial: array<f32>;
${
    outDecl(outType).replace(`@binding(${k.reads.length})`, "@binding(1)")
  }@compute @workgroup_size(${THREAD_WG})
fn main(${KERNEL_PARAMS}) {
  let o = i32(${LINEAR_WORKGROUP} * ${u32(THREAD_WG)} + lid.x);
  if (o >= ${outputs}) { return; }
  ${outputVars("o")}
  var acc = ${identity};
  for (var p = 0; p < ${parts}; p++) {
    let v = partial[o * ${parts} + p];
    acc = ${combine("acc", "v")};
  }
  ${store("acc")}
}
`;
  return [first, {
    label: `${label} (part 2 of 2)`,
    bindings: [target, outBinding],
    workgroups: Math.ceil(outputs / THREAD_WG),
    source: stage2,
  }];
}
