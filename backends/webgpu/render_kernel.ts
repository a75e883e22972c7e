/**
 * WGSL for one scheduled kernel (core/schedule.ts). Every value is computed at the outermost
 * loop it depends on. The parallel shape depends on the adapter ({@link RenderOptions}):
 * - GPUs (cooperative): elementwise kernels give each workgroup a row of the last loop;
 *   contractions whose loads split over two output loops are tiled in workgroup memory
 *   (render_tiled.ts); other reductions run one workgroup per output, or per part of an
 *   output when outputs are few (a second kernel folds the parts), and combine the lanes'
 *   accumulators in workgroup memory. Reductions with many outputs run one invocation each.
 * - CPU adapters (llvmpipe): each invocation walks a whole row or reduction serially; long
 *   reductions with few outputs are split into parts that a second kernel folds.
 * Kernels that read more buffers than the device binds pack their smallest inputs into one.
 *
 * @module
 */

import type { DType } from "../../core/dtype.ts";
import {
  type Kernel,
  kernelOutputs,
  type ScheduleBuffer,
  singleOutput,
  usedValues,
} from "../../core/schedule.ts";
import { linearCoef } from "../../core/symbolic.ts";
import type { Binding, RenderedKernel, ScratchBuffer } from "./kernel.ts";
import { renderTiled } from "./render_tiled.ts";
import { accumulator } from "./accumulate.ts";
import { aluSource, condSource, INDEX_HELPERS, indexSource, loopName } from "./wgsl_expr.ts";
import { KERNEL_PARAMS, LINEAR_WORKGROUP, literal, storageType, u32 } from "./wgsl.ts";

/** Invocations per workgroup of elementwise and per-output kernels. */
const THREAD_WG = 256;
/** Invocations a serial reduction aims for (splitting long reductions to get there). */
const SERIAL_INVOCATIONS = 2048;
/**
 * Most loop iterations one invocation runs, counting every loop it enters, nested or one after
 * another. Mesa's llvmpipe silently ends every loop of an invocation once its loops have
 * iterated 65535 times in total, leaving the rest of its work undone; every kernel below keeps
 * its invocations within this budget (bounded work per invocation suits GPUs too).
 */
export const LOOP_BUDGET = 49152;
/** Most iterations of one loop that an invocation runs serially (within the budget). */
const MAX_SERIAL_LOOP = 16384;
/**
 * Most iterations per pass over the inner loops of a reduction nest for it to be walked as a
 * nest (the outer loop then gets at least LOOP_BUDGET / 1024 iterations); longer inner loops
 * are walked as one flat range.
 */
const MAX_NESTED_INNER = 1024;
/** Steps each lane takes along its segment of a row, where a workgroup walks a row. */
const ROW_STEPS = 64;

/** Loop iterations of a nest whose loops (outermost first) run `counts` times, plus one. */
function nestCost(counts: readonly number[]): number {
  let total = 1, product = 1;
  for (const c of counts) total += product *= c;
  return total;
}

/** A level of a loop nest: lines that define some loop variables (or open a loop). */
interface Level {
  /** Source that opens the level. */
  readonly open: string;
  /** Loop variables defined by the level. */
  readonly vars: readonly number[];
  /** Source that closes the level (after everything inside it). */
  readonly close: string;
}

/** Decodes a linear index `x` over `loops` (row-major) into `let` bindings of loop variables. */
function decode(x: string, loops: readonly number[], extents: readonly number[]): string {
  const total = loops.reduce((p, l) => p * extents[l], 1);
  let stride = total;
  return loops.map((l) => {
    const e = extents[l];
    stride /= e;
    const q = stride === 1 ? x : `(${x} / ${stride})`;
    return `let ${loopName(l)} = ${stride * e === total ? q : `${q} % ${e}`};`;
  }).join("\n");
}

/** The largest power of two <= `n`, clamped to [32, 256]. */
function lanes(n: number): number {
  return Math.max(32, Math.min(256, 2 ** Math.floor(Math.log2(Math.max(1, n)))));
}

/** Choices a renderer makes per adapter. */
export interface RenderOptions {
  /**
   * Lanes of a workgroup cooperate: they share rows of elementwise kernels and reductions,
   * combining partial results in workgroup memory (good on GPUs). Without it every invocation
   * walks a whole row or reduction serially, and a second kernel folds split reductions (good
   * on CPU adapters such as llvmpipe, where lanes are SIMD slots and barriers are expensive).
   */
  readonly cooperative: boolean;
  /** Workgroup memory a kernel may use, in bytes (`maxComputeWorkgroupStorageSize`). */
  readonly maxSharedBytes: number;
  /** Storage buffers a kernel may bind (`maxStorageBuffersPerShaderStage`). */
  readonly maxBindings: number;
}

/**
 * A zero (of padded and guarded values, and constants ±0) that the compiler cannot see is zero
 * (`nwg.z` is 1 for our 2-D dispatches): Mesa folds `x * 0` to 0, wrong for x = ±Infinity or NaN.
 */
function opaqueZero(dtype: DType, zero = 0): string {
  if (dtype === "bool") return "(nwg.z - 1u)";
  // Integer products by zero have no special values to lose.
  if (dtype === "int32") return "0i";
  return `bitcast<f32>(${Object.is(zero, -0) ? "0x80000000u" : "0u"} ^ (nwg.z - 1u))`;
}

/** Kernels (one, or two for a split reduction) computing scheduled kernel `k`. */
export function renderKernel(
  k: Kernel,
  buffers: readonly ScheduleBuffer[],
  scratch: ScratchBuffer[],
  opts: RenderOptions,
): RenderedKernel[] {
  // Fused reductions are rendered as one kernel where each invocation walks whole reductions
  // (one accumulator per output); elsewhere each output gets its own kernel.
  const perOutput = () =>
    kernelOutputs(k).flatMap((o) => renderKernel(singleOutput(k, o), buffers, scratch, opts));
  if (
    k.extra.length > 0 &&
    (opts.cooperative || k.reads.length + 1 + k.extra.length > opts.maxBindings)
  ) {
    return perOutput();
  }
  const extents = k.loops.map((l) => l.extent);
  const outLoops = k.loops.flatMap((l, i) => (l.reduce ? [] : [i]));
  const redLoops = k.loops.flatMap((l, i) => (l.reduce ? [i] : []));
  const prod = (ls: readonly number[]) => ls.reduce((p, l) => p * extents[l], 1);
  const outputs = prod(outLoops);
  const length = prod(redLoops);
  const label = `kernel ${k.id} [${k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`)}]`;

  const used = usedValues(k);
  // Buffers that used values load (a folded-away load must not be bound: pipelines created with
  // layout "auto" only have the bindings their shader uses).
  const reads = [
    ...new Set([...used].flatMap((i) => {
      const v = k.values[i];
      return v.op === "load" ? [v.buffer] : [];
    })),
  ].sort((p, q) => p - q);

  // Bindings: buffers read, in order, then the output (or the partials of a split reduction).
  // Past the device's binding limit, the smallest float32 inputs share one packed binding.
  const excess = reads.length + 1 - opts.maxBindings;
  const packedAt = new Map<number, number>();
  if (excess > 0) {
    const small = reads.filter((b) => buffers[b].dtype === "float32")
      .sort((p, q) => buffers[p].size - buffers[q].size).slice(0, excess + 1);
    if (small.length < excess + 1) {
      throw new Error(
        `webgpu: ${label} reads ${reads.length} buffers, more than the ${opts.maxBindings - 1} ` +
          `this device binds per kernel (maxStorageBuffersPerShaderStage), and too few are ` +
          `float32 to pack; expected a kernel reading fewer tensors`,
      );
    }
    let offset = 0;
    const copies = small.map((b) => {
      packedAt.set(b, offset);
      const bytes = buffers[b].size * 4;
      offset += buffers[b].size;
      return { buffer: b, offset: (offset - buffers[b].size) * 4, bytes };
    });
    scratch.push({ id: scratch.length, bytes: Math.max(4, offset * 4), copies });
  }
  const direct = reads.filter((b) => !packedAt.has(b));
  const bindings: Binding[] = direct.map((b) => ({ kind: "buffer", buffer: b }));
  let decls = direct.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, read> b${b}: array<${
      storageType(buffers[b].dtype, `buffer ${b} of ${label}`)
    }>;\n`
  ).join("");
  if (packedAt.size > 0) {
    decls += `@group(0) @binding(${bindings.length}) var<storage, read> packed: array<f32>;\n`;
    bindings.push({ kind: "scratch", id: scratch.length - 1 });
  }
  const nReads = bindings.length;
  const readAt = (b: number, idx: string) =>
    packedAt.has(b) ? `packed[${packedAt.get(b)} + ${idx}]` : `b${b}[${idx}]`;
  const outType = storageType(k.out.dtype, `the output of ${label}`);

  const arg = (i: number) => {
    const v = k.values[i];
    if (v.op !== "const") return `v${i}`;
    return v.value === 0 && v.dtype !== "bool"
      ? opaqueZero(v.dtype, v.value)
      : literal(v.value, v.dtype);
  };
  const dtypeOf = (i: number) => k.values[i].dtype;
  const valueSource = (i: number): string => {
    const v = k.values[i];
    const t = storageType(v.dtype, `value ${i} of ${label}`);
    switch (v.op) {
      case "const":
        return "";
      case "load": {
        const read = readAt(v.buffer, indexSource(v.index));
        if (v.valid.length === 0) return `let v${i} = ${read};`;
        return `var v${i}: ${t} = ${opaqueZero(v.dtype)};\n` +
          `if (${v.valid.map(condSource).join(" && ")}) { v${i} = ${read}; }`;
      }
      case "guard":
        return `let v${i} = select(${opaqueZero(v.dtype)}, ${arg(v.args[0])}, ${
          v.valid.map(condSource).join(" && ")
        });`;
      case "alu":
        return `let v${i} = ${aluSource(v, arg, dtypeOf)};`;
    }
  };
  /** The levels' source with every used value at the outermost level that defines its deps. */
  const nest = (levels: readonly Level[], core: string): string => {
    const levelOf = new Map<number, number>();
    levels.forEach((lv, d) => lv.vars.forEach((l) => levelOf.set(l, d)));
    const at: string[][] = levels.map(() => []);
    k.values.forEach((v, i) => {
      if (!used.has(i)) return;
      const d = v.deps.reduce((m, l) => Math.max(m, levelOf.get(l)!), 0);
      const src = valueSource(i);
      if (src !== "") at[d].push(src);
    });
    const parts: string[] = [];
    levels.forEach((lv, d) => parts.push(lv.open, ...at[d]));
    parts.push(core);
    for (let d = levels.length - 1; d >= 0; d--) parts.push(levels[d].close);
    return parts.filter((x) => x !== "").join("\n").replaceAll("\n", "\n  ");
  };

  const result = arg(k.result);
  const store = (value: string) => `out[${indexSource(k.out.index)}] = ${value};`;
  const outDecl = (binding: number, t: string) =>
    `@group(0) @binding(${binding}) var<storage, read_write> out: array<${t}>;\n`;
  const source = (outD: string, wg: number, body: string, shared = "") =>
    `${INDEX_HELPERS}${decls}${outD}${shared}@compute @workgroup_size(${wg})\n` +
    `fn main(${KERNEL_PARAMS}) {\n  ${body}\n}\n`;
  const outBinding: Binding = { kind: "buffer", buffer: k.out.buffer };
  const kernel = (body: string, wg: number, workgroups: number, shared = ""): RenderedKernel => ({
    label,
    bindings: [...bindings, outBinding],
    workgroups,
    source: source(outDecl(nReads, outType), wg, body, shared),
  });
  const linear = `i32(${LINEAR_WORKGROUP})`;
  const lastOut = outLoops[outLoops.length - 1];
  const lastRed = redLoops[redLoops.length - 1];
  /** Whether some load walks memory contiguously along `loop`. */
  const contiguous = (loop: number | undefined) =>
    loop !== undefined && extents[loop] >= 32 &&
    k.values.some((v, i) => used.has(i) && v.op === "load" && linearCoef(v.index, loop) === 1);

  if (k.reduceOp === undefined) {
    if (
      lastOut !== undefined && extents[lastOut] >= 64 && !opts.cooperative &&
      prod(outLoops.slice(0, -1)) >= 256 && extents[lastOut] <= MAX_SERIAL_LOOP
    ) {
      // An invocation per row of the last loop, walking it serially (CPU adapters).
      const outer = outLoops.slice(0, -1);
      const rows = prod(outer);
      const n = loopName(lastOut);
      return [kernel(
        nest([
          {
            open: `let w = ${linear} * ${THREAD_WG} + i32(lid.x);\nif (w >= ${rows}) { return; }\n${
              decode("w", outer, extents)
            }`,
            vars: outer,
            close: "",
          },
          {
            open: `for (var ${n} = 0; ${n} < ${extents[lastOut]}; ${n}++) {`,
            vars: [lastOut],
            close: "}",
          },
        ], store(result)),
        THREAD_WG,
        Math.ceil(rows / THREAD_WG),
      )];
    }
    if (lastOut !== undefined && extents[lastOut] >= 64) {
      // A workgroup per row of the last loop, or per segment of ROW_STEPS · wg elements of a
      // long row: row-invariant values are computed once per lane.
      const wg = lanes(extents[lastOut]);
      const outer = outLoops.slice(0, -1);
      const rows = prod(outer);
      const n = loopName(lastOut);
      const e = extents[lastOut];
      const segment = wg * ROW_STEPS;
      const segments = Math.ceil(e / segment);
      const head = segments === 1
        ? `let w = ${linear};\nif (w >= ${rows}) { return; }\n${decode("w", outer, extents)}`
        : `let ws = ${linear};\nif (ws >= ${rows * segments}) { return; }\n` +
          `let w = ws / ${segments};\nlet seg = (ws % ${segments}) * ${segment};\n` +
          `let seg_end = min(seg + ${segment}, ${e});\n${decode("w", outer, extents)}`;
      const loop = segments === 1
        ? `for (var ${n} = i32(lid.x); ${n} < ${e}; ${n} += ${wg}) {`
        : `for (var ${n} = seg + i32(lid.x); ${n} < seg_end; ${n} += ${wg}) {`;
      return [kernel(
        nest([
          { open: head, vars: outer, close: "" },
          { open: loop, vars: [lastOut], close: "}" },
        ], store(result)),
        wg,
        rows * segments,
      )];
    }
    return [kernel(
      nest([{
        open: `let o = ${linear} * ${THREAD_WG} + i32(lid.x);\nif (o >= ${outputs}) { return; }\n` +
          decode("o", outLoops, extents),
        vars: outLoops,
        close: "",
      }], store(result)),
      THREAD_WG,
      Math.ceil(outputs / THREAD_WG),
    )];
  }

  const acc = accumulator(k.reduceOp, k.out.dtype);
  const outputLevel = (o: string, extra = ""): Level => ({
    open: `${extra}${decode(o, outLoops, extents)}`,
    vars: outLoops,
    close: "",
  });
  const forLoop = (l: number, from = "0", to = String(extents[l]), step = "1"): Level => {
    const n = loopName(l);
    return {
      open: `for (var ${n} = ${from}; ${n} < ${to}; ${n} += ${step}) {`,
      vars: [l],
      close: "}",
    };
  };
  /** The reduction walked as one flat range `[start, stop)` with step `step`. */
  const flatLoop = (from: string, step: string): Level => ({
    open: `for (var r = ${from}; r < stop; r += ${step}) {\n${decode("r", redLoops, extents)}`,
    vars: redLoops,
    close: "}",
  });
  /** Parts a reduction of `extent` steps splits into, at most `maxChunk` steps each. */
  const partsFor = (extent: number, maxChunk: number, wanted: number, hardChunk = maxChunk) => {
    let parts = Math.max(1, Math.ceil(extent / maxChunk), wanted);
    // The fold walks the parts: past the budget, parts get longer (up to `hardChunk`) instead.
    if (parts > LOOP_BUDGET) parts = Math.ceil(extent / hardChunk);
    if (parts > LOOP_BUDGET) {
      throw new Error(
        `webgpu: ${label} reduces ${length} elements per output, too many for two WebGPU ` +
          `kernels (at most ${LOOP_BUDGET} parts of ${maxChunk} loop steps); expected a shorter ` +
          `reduction (split it into partial sums), or the "cpu" backend`,
      );
    }
    return parts;
  };
  /** Scratch buffer for `n` partial accumulator states. */
  const partialBuffer = (n: number): Binding => {
    const partial: ScratchBuffer = { id: scratch.length, bytes: n * acc.words * 4 };
    scratch.push(partial);
    return { kind: "scratch", id: partial.id };
  };

  /**
   * Stage 2 of a split reduction: one invocation per output folds its `parts` partial states,
   * stored part-major (`byOutput`: output-major).
   */
  const fold = (parts: number, n: number, partials: Binding, byOutput = false): RenderedKernel => ({
    label: `${label} (part 2 of 2)`,
    bindings: [partials, outBinding],
    workgroups: Math.ceil(n / THREAD_WG),
    source: `${INDEX_HELPERS}@group(0) @binding(0) var<storage, read> partial: array<${acc.type}>;
${outDecl(1, outType)}@compute @workgroup_size(${THREAD_WG})
fn main(${KERNEL_PARAMS}) {
  let o = ${linear} * ${THREAD_WG} + i32(lid.x);
  if (o >= ${n}) { return; }
  ${decode("o", outLoops, extents).replaceAll("\n", "\n  ")}
  ${acc.decl("acc").replaceAll("\n", "\n  ")}
  for (var p = 0; p < ${parts}; p++) {
    ${
      acc.get("m", "partial", byOutput ? `o * ${parts} + p` : `p * ${n} + o`)
        .replaceAll("\n", "\n    ")
    }
    ${acc.merge("acc", "m").replaceAll("\n", "\n    ")}
  }
  ${store(acc.value("acc"))}
}
`,
  });

  if (opts.cooperative) {
    const tiled = renderTiled({
      k,
      extents,
      outLoops,
      redLoops,
      used,
      valueSource,
      arg,
      decode: (x, loops) => decode(x, loops, extents),
      acc,
      store,
      linear,
      partsFor,
    }, opts.maxSharedBytes);
    if (tiled !== undefined) {
      const split = tiled.parts > 1;
      const target = split ? partialBuffer(outputs * tiled.parts) : outBinding;
      const stage1: RenderedKernel = {
        label: split ? `${label} (part 1 of 2)` : label,
        bindings: [...bindings, target],
        workgroups: tiled.workgroups,
        source: source(
          outDecl(nReads, split ? acc.type : outType),
          tiled.wg,
          tiled.body.replaceAll("\n", "\n  "),
          tiled.shared,
        ),
      };
      return split ? [stage1, fold(tiled.parts, outputs, target, true)] : [stage1];
    }
  }

  const cooperative = opts.cooperative && (contiguous(lastRed) || (outputs < 1024 && length > 64));
  if (!cooperative) {
    // One invocation per output and part: when outputs are few, the outermost reduction loop is
    // split into parts whose partial results a second kernel folds. Where the inner loops are
    // long, the reduction is walked as one flat range instead, split the same way.
    const first = redLoops[0];
    const inner = nestCost(redLoops.slice(1).map((l) => extents[l]));
    const nested = inner <= MAX_NESTED_INNER;
    const splitExtent = nested ? extents[first] : length;
    const maxParts = nested && redLoops.length > 1 ? extents[first] : Math.floor(splitExtent / 256);
    const nestChunk = nested ? Math.floor(LOOP_BUDGET / inner) : LOOP_BUDGET;
    const parts = partsFor(
      splitExtent,
      Math.min(MAX_SERIAL_LOOP, nestChunk),
      Math.min(maxParts, Math.ceil(SERIAL_INVOCATIONS / outputs)),
      nestChunk,
    );
    const chunk = Math.ceil(splitExtent / parts);
    let loops: Level[];
    if (nested) {
      loops = redLoops.map((l) => forLoop(l));
      if (parts > 1) loops[0] = forLoop(first, "start", "stop");
    } else {
      loops = [flatLoop("start", "1")];
    }
    if (k.extra.length > 0 && parts > 1) return perOutput();
    const target = parts > 1 ? partialBuffer(outputs * parts) : outBinding;
    loops[0] = {
      ...loops[0],
      open: `${acc.decl("acc")}\n${loops[0].open}`,
      close: `}\n${parts > 1 ? acc.put("acc", "out", "w") : store(acc.value("acc"))}`,
    };
    // Neighbouring lanes take neighbouring outputs of the same part.
    const head = parts > 1
      ? `let w = ${linear} * ${THREAD_WG} + i32(lid.x);\nif (w >= ${
        outputs * parts
      }) { return; }\n` +
        `let o = w % ${outputs};\nlet start = (w / ${outputs}) * ${chunk};\n` +
        `let stop = min(start + ${chunk}, ${splitExtent});\n`
      : `let o = ${linear} * ${THREAD_WG} + i32(lid.x);\nif (o >= ${outputs}) { return; }\n` +
        (nested ? "" : `let start = 0;\nlet stop = ${length};\n`);
    if (k.extra.length > 0) {
      // Every output of a fused reduction: its own accumulator, updated in the same order.
      const outs = kernelOutputs(k);
      const accs = outs.map((o) => accumulator(o.reduceOp!));
      const multiLoops = [...loops];
      multiLoops[0] = {
        ...loops[0],
        open: `${accs.map((a, j) => a.decl(`acc${j}`)).join("\n")}\n${loops[0].open}`,
        close: `}\n${
          outs.map((o, j) => `out${j}[${indexSource(o.index)}] = ${accs[j].value(`acc${j}`)};`)
            .join("\n")
        }`,
      };
      const outDecls = outs.map((o, j) =>
        `@group(0) @binding(${nReads + j}) var<storage, read_write> out${j}: array<${
          storageType(o.dtype, `output ${j} of ${label}`)
        }>;\n`
      ).join("");
      const core = outs.map((o, j) => accs[j].add(`acc${j}`, arg(o.result))).join("\n");
      return [{
        label,
        bindings: [
          ...bindings,
          ...outs.map((o): Binding => ({ kind: "buffer", buffer: o.buffer })),
        ],
        workgroups: Math.ceil(outputs / THREAD_WG),
        source: source(outDecls, THREAD_WG, nest([outputLevel("o", head), ...multiLoops], core)),
      }];
    }
    const stage1: RenderedKernel = {
      label: parts > 1 ? `${label} (part 1 of 2)` : label,
      bindings: [...bindings, target],
      workgroups: Math.ceil((outputs * parts) / THREAD_WG),
      source: source(
        outDecl(nReads, parts > 1 ? acc.type : outType),
        THREAD_WG,
        nest([outputLevel("o", head), ...loops], acc.add("acc", result)),
      ),
    };
    return parts > 1 ? [stage1, fold(parts, outputs, target)] : [stage1];
  }

  // Cooperative: a workgroup per (output, part); lanes share the reduction and combine their
  // accumulators in workgroup memory. Contiguous reductions keep their loop nest (lanes stride
  // over the last loop, outer reduction loops are uniform); others, and nests whose inner loops
  // are long, walk a flattened range.
  let nested = contiguous(lastRed);
  let wg = nested ? lanes(extents[lastRed]) : 256;
  const mid = redLoops.slice(1, -1).map((l) => extents[l]);
  const inner = redLoops.length > 1 ? nestCost([...mid, Math.ceil(extents[lastRed] / wg)]) : 0;
  if (nested && inner > MAX_NESTED_INNER) [nested, wg] = [false, 256];
  const nestedOuter = nested && redLoops.length > 1;
  const first = redLoops[0];
  // Split the outermost reduction loop (or the flat range) so that the device has work.
  const splitExtent = nested ? extents[first] : length;
  const minChunk = nestedOuter ? 1 : wg * 4;
  const parts = partsFor(
    splitExtent,
    nestedOuter ? Math.min(MAX_SERIAL_LOOP, Math.floor(LOOP_BUDGET / inner)) : MAX_SERIAL_LOOP * wg,
    Math.min(Math.ceil(64 / outputs), Math.floor(splitExtent / minChunk)),
  );
  const chunk = Math.ceil(splitExtent / parts);
  const head = outputLevel(
    "o",
    `let w = ${linear};\nif (w >= ${outputs * parts}) { return; }\nlet o = w / ${parts};\n` +
      `let start = (w % ${parts}) * ${chunk};\nlet stop = min(start + ${chunk}, ${splitExtent});\n`,
  );
  const split = parts > 1;
  const target = split ? partialBuffer(outputs * parts) : outBinding;
  const tree = `${acc.put("acc", "shared_acc", "lid.x")}
workgroupBarrier();
for (var s = ${u32(wg / 2)}; s > 0u; s = s >> 1u) {
  if (lid.x < s) {
    ${acc.get("a", "shared_acc", "lid.x").replaceAll("\n", "\n    ")}
    ${acc.get("b", "shared_acc", "lid.x + s").replaceAll("\n", "\n    ")}
    ${acc.merge("a", "b").replaceAll("\n", "\n    ")}
    ${acc.put("a", "shared_acc", "lid.x").replaceAll("\n", "\n    ")}
  }
  workgroupBarrier();
}
if (lid.x == 0u) {
  ${acc.get("total", "shared_acc", "0u").replaceAll("\n", "\n  ")}
  ${(split ? acc.put("total", "out", "w") : store(acc.value("total"))).replaceAll("\n", "\n  ")}
}`;
  let levels: Level[];
  const lane = "i32(lid.x)";
  if (nested) {
    levels = redLoops.map((l, p) => {
      const last = p === redLoops.length - 1;
      if (p === 0 && last) return forLoop(l, `start + ${lane}`, "stop", String(wg));
      if (p === 0) return forLoop(l, "start", "stop");
      return last ? forLoop(l, lane, String(extents[l]), String(wg)) : forLoop(l);
    });
  } else {
    levels = [flatLoop(`start + ${lane}`, String(wg))];
  }
  levels[0] = {
    ...levels[0],
    open: `${acc.decl("acc")}\n${levels[0].open}`,
    close: `${levels[0].close}\n${tree}`,
  };
  const stage1: RenderedKernel = {
    label: split ? `${label} (part 1 of 2)` : label,
    bindings: [...bindings, target],
    workgroups: outputs * parts,
    source: source(
      outDecl(nReads, split ? acc.type : outType),
      wg,
      nest([head, ...levels], acc.add("acc", result)),
      `var<workgroup> shared_acc: array<${acc.type}, ${wg * acc.words}>;\n`,
    ),
  };
  if (!split) return [stage1];
  return [stage1, fold(parts, outputs, target, true)];
}
