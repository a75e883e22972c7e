/**
 * JavaScript source for one scheduled kernel: nested loops over typed arrays.
 *
 * Loop order follows memory: the loop with the most contiguous traffic (weighted by the size of
 * the buffers it walks) goes innermost. When that loop is a reduction loop, output loops stay
 * outside and a scalar accumulates; when it is an output loop (matmul, conv, column sums), the
 * reduction loops move outside it and a row of accumulators is updated with unit stride. Every
 * value and every partial index sum is computed at the outermost loop it depends on.
 *
 * Arithmetic is JavaScript's (double precision), and every float32 op result is rounded to float32
 * (`Math.fround`) where it is computed, inlined or not: a float32 kernel computes exactly the values
 * the interpreter stores after each op, so a value recomputed inside a fused kernel equals the
 * stored one (`x.eq(x.max())` finds the maximum). One rounding of an exact double result is the
 * correctly rounded float32 result for `+ - * /` and `sqrt` (53 >= 2·24 + 2 bits). Float32 sums
 * round every partial sum and visit the reduced elements in the interpreter's order (row-major
 * over the reduced axes), so they are bit-identical to its sums too.
 *
 * @module
 */

import {
  type Cond,
  type Kernel,
  kernelOutputs,
  type KernelValue,
  type ScheduleBuffer,
  usedValues,
} from "../../core/schedule.ts";
import { fmtIndex, type Index, linearCoef, loopsOf } from "../../core/symbolic.ts";
import { kernelHelpers } from "./rounding_source.ts";

/** A chosen loop order: `order[position] = loop`, and the accumulator-row loop if any. */
export interface LoopOrder {
  /** Kernel loop numbers from outermost to innermost. */
  readonly order: readonly number[];
  /** An output loop placed inside the reduction loops (accumulated as a row), if any. */
  readonly rowLoop: number | undefined;
}

/** Picks the loop order of `k` for memory locality. */
export function chooseLoopOrder(k: Kernel, buffers: readonly ScheduleBuffer[]): LoopOrder {
  const outs = k.loops.flatMap((l, i) => (l.reduce ? [] : [i]));
  const reds = k.loops.flatMap((l, i) => (l.reduce ? [i] : []));
  if (reds.length === 0) return { order: outs, rowLoop: undefined };
  const accesses = new Map<string, { index: Index; weight: number }>();
  for (const o of kernelOutputs(k)) {
    accesses.set(`out${o.buffer}`, { index: o.index, weight: buffers[o.buffer].size });
  }
  for (const v of k.values) {
    if (v.op === "load") {
      accesses.set(`${v.buffer}|${v.index.key}`, {
        index: v.index,
        weight: buffers[v.buffer].size,
      });
    }
  }
  // A sum visits the reduced elements in the interpreter's order (row-major over the reduction
  // loops) so that it rounds the same partial sums; only the last reduction loop may go innermost.
  // A max does not depend on the order.
  const allMax = kernelOutputs(k).every((o) => o.reduceOp === "max");
  const movable = (l: number) => !k.loops[l].reduce || allMax || l === reds[reds.length - 1];
  let best = -1, bestScore = -1;
  k.loops.forEach((loop, l) => {
    if (!movable(l)) return;
    let score = 0;
    for (const a of accesses.values()) {
      const c = linearCoef(a.index, l);
      if (c === 1 || c === -1) score += a.weight;
    }
    // Ties go to the longer loop, then to reduction loops (a scalar accumulator).
    const better = score > bestScore ||
      (score === bestScore && loop.extent > k.loops[best].extent) ||
      (score === bestScore && loop.extent === k.loops[best].extent && loop.reduce);
    if (better) [best, bestScore] = [l, score];
  });
  if (k.loops[best].reduce || bestScore === 0) {
    const last = k.loops[best].reduce ? best : reds[reds.length - 1];
    return { order: [...outs, ...reds.filter((r) => r !== last), last], rowLoop: undefined };
  }
  return { order: [...outs.filter((o) => o !== best), ...reds, best], rowLoop: best };
}

/** A number as JavaScript source (NaN, ±Infinity and -0 included). */
export function literal(x: number): string {
  if (Object.is(x, -0)) return "(-0)";
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "(-Infinity)";
  return x < 0 ? `(${x})` : String(x);
}

const loopName = (l: number) => `i${l}`;

function condSource(c: Cond): string {
  const e = fmtIndex(c.index, loopName);
  const parts: string[] = [];
  if (c.index.min < c.lo) parts.push(`${c.lo} <= (${e})`);
  if (c.index.max >= c.hi) parts.push(`(${e}) < ${c.hi}`);
  return parts.join(" && ") || "true";
}

/**
 * Source of an ALU value, rounded to float32 when it is a float32 result that may not be one
 * already (`neg`, `max` and `where` of float32 operands are exact).
 */
export function aluSource(
  v: KernelValue & { op: "alu" },
  arg: (i: number) => string,
  dtypeOf: (i: number) => string,
): string {
  if (v.dtype === "int32") return int32Source(v, arg, dtypeOf);
  const src = aluDoubleSource(v, arg);
  // floor, round and fmod results are float32 values; floor_div's helper rounds as it goes.
  const exact = v.alu === "neg" || v.alu === "max" || v.alu === "where" || v.alu === "floor" ||
    v.alu === "round" || v.alu === "fmod" || v.alu === "floor_div";
  return v.dtype === "float32" && !exact ? `Math.fround(${src})` : src;
}

/**
 * Source of an int32 ALU value: `+`, `-x` and `*` wrap around as two's complement, a cast from
 * a float truncates toward zero and saturates (NaN to 0), as `castScalar` does.
 */
function int32Source(
  v: KernelValue & { op: "alu" },
  arg: (i: number) => string,
  dtypeOf: (i: number) => string,
): string {
  const [a, b] = v.args.map(arg);
  switch (v.alu) {
    case "neg":
      return `(-${a} | 0)`;
    case "add":
      return `((${a} + ${b}) | 0)`;
    case "mul":
      return `Math.imul(${a}, ${b})`;
    case "floor_div":
      return `floorDivInt32(${a}, ${b})`;
    case "fmod":
      return `fmodInt32(${a}, ${b})`;
    case "cast":
      return dtypeOf(v.args[0]) === "bool"
        ? a
        : `(Math.max(-2147483648, Math.min(2147483647, ${a})) | 0)`;
    default:
      return aluDoubleSource(v, arg);
  }
}

/** Source of an ALU value in double precision. */
function aluDoubleSource(v: KernelValue & { op: "alu" }, arg: (i: number) => string): string {
  const [a, b, c] = v.args.map(arg);
  switch (v.alu) {
    case "neg":
      return `-${a}`;
    case "exp":
      return `Math.exp(${a})`;
    case "log":
      return `Math.log(${a})`;
    case "sqrt":
      return `Math.sqrt(${a})`;
    case "recip":
      return `1 / ${a}`;
    case "sin":
      return `Math.sin(${a})`;
    case "sigmoid":
      return `1 / (1 + Math.exp(-${a}))`;
    case "tanh":
      return `Math.tanh(${a})`;
    case "add":
      return `${a} + ${b}`;
    case "mul":
      return `${a} * ${b}`;
    case "max":
      return `Math.max(${a}, ${b})`;
    case "cmplt":
      return `(${a} < ${b} ? 1 : 0)`;
    case "cmpeq":
      return `(${a} === ${b} ? 1 : 0)`;
    case "pow":
      // C's pow (as scalar_ops.ts): Math.pow gives NaN for 1^NaN and (-1)^±Infinity.
      return `(${a} === 1 || (${a} === -1 && Math.abs(${b}) === Infinity) ? 1 : Math.pow(${a}, ${b}))`;
    case "where":
      return `(${a} ? ${b} : ${c})`;
    case "cast":
      return v.dtype === "bool" ? `(${a} ? 1 : 0)` : a;
    case "floor":
      return `Math.floor(${a})`;
    case "round":
      return `roundHalfEven(${a})`;
    case "floor_div":
      return `floorDivFloat(${a}, ${b}, ${v.dtype === "float32"})`;
    case "fmod":
      return `(${a} % ${b})`;
  }
}

/** Output loops outside every reduction loop (the ones that own whole output elements). */
function outerOutputLoops(k: Kernel, rowLoop: number | undefined): number {
  return k.loops.filter((l) => !l.reduce).length - (rowLoop === undefined ? 0 : 1);
}

/**
 * The extent of the loop that `start`/`end` range over in {@link renderKernel}'s source: the
 * outermost loop when it is an output loop outside every reduction, else 1 (the kernel then
 * ignores the range and must be run once as `[0, 1)`).
 */
export function rangeExtent(k: Kernel, buffers: readonly ScheduleBuffer[]): number {
  const { order, rowLoop } = chooseLoopOrder(k, buffers);
  return outerOutputLoops(k, rowLoop) > 0 ? k.loops[order[0]].extent : 1;
}

/**
 * The body of `function (bufs, start, end) { … }` computing kernel `k` for iterations
 * `[start, end)` of its outermost output loop (see {@link rangeExtent}); `bufs[b]` is the typed
 * array of schedule buffer `b`. Each output element is written by one iteration of that loop,
 * with the same arithmetic whatever the range, so slices may run on different threads.
 */
export function renderKernel(k: Kernel, buffers: readonly ScheduleBuffer[]): string {
  const { order, rowLoop } = chooseLoopOrder(k, buffers);
  const pos = new Map(order.map((l, p) => [l, p]));
  const depthOf = (loops: readonly number[]) =>
    loops.reduce((d, l) => Math.max(d, pos.get(l)! + 1), 0);
  const nLoops = order.length;
  const atDepth: string[][] = Array.from({ length: nLoops + 1 }, () => []);
  const used = usedValues(k);
  let nBase = 0;
  const named = new Map<string, string>();
  /** A name for `src`, computed once at `depth` (shared by every use of the same text). */
  const hoist = (prefix: string, src: string, depth: number): string => {
    const key = `${depth}|${src}`;
    let name = named.get(key);
    if (name === undefined) {
      name = `${prefix}${nBase++}`;
      named.set(key, name);
      atDepth[depth].push(`const ${name} = ${src};`);
    }
    return name;
  };
  /** Validity conditions, each evaluated at the outermost loop it depends on. */
  const condsSource = (cs: readonly Cond[]) =>
    cs.map((c) => hoist("c", condSource(c), depthOf(loopsOf(c.index)))).join(" && ");
  /** An index as source, with its loop-invariant part hoisted into a named partial sum. */
  const indexSource = (x: Index): string => {
    if (x.terms.some((t) => t.atom.kind !== "loop")) return fmtIndex(x, loopName);
    const inner = depthOf(loopsOf(x));
    const innerTerms = x.terms.filter((t) =>
      t.atom.kind === "loop" && pos.get(t.atom.loop)! + 1 === inner
    );
    const outerTerms = x.terms.filter((t) => !innerTerms.includes(t));
    if (outerTerms.length === 0 || innerTerms.length === 0) return fmtIndex(x, loopName);
    const outer: Index = { ...x, terms: outerTerms, key: "" };
    const outerDepth = depthOf(outerTerms.map((t) => (t.atom as { loop: number }).loop));
    const name = hoist("x", fmtIndex(outer, loopName), outerDepth);
    const innerSrc = fmtIndex({ ...x, c: 0, terms: innerTerms, key: "" }, loopName);
    return `${name} + ${innerSrc}`;
  };
  const arg = (i: number) => {
    const v = k.values[i];
    return v.op === "const" ? literal(v.value) : `v${i}`;
  };
  k.values.forEach((v, i) => {
    if (!used.has(i) || v.op === "const") return;
    let src: string;
    if (v.op === "load") {
      const read = `b${v.buffer}[${indexSource(v.index)}]`;
      src = v.valid.length ? `(${condsSource(v.valid)}) ? ${read} : 0` : read;
    } else if (v.op === "guard") {
      src = `(${condsSource(v.valid)}) ? ${arg(v.args[0])} : 0`;
    } else {
      src = aluSource(v, arg, (j) => k.values[j].dtype);
    }
    atDepth[depthOf(v.deps)].push(`const v${i} = ${src};`);
  });

  const lines: string[] = [`"use strict";`, ...kernelHelpers(k)];
  const outs = kernelOutputs(k);
  const outBufs = outs.map((o) => o.buffer);
  const dtypes = [...k.reads, ...outBufs].map((b) => `b${b}:${buffers[b].dtype}`).join(" ");
  lines.push(`// kernel ${k.id}: ${dtypes}`);
  for (const b of new Set([...k.reads, ...outBufs])) lines.push(`const b${b} = bufs[${b}];`);
  // One accumulator (or row of accumulators) per output, each updated as if it were alone.
  const accName = (j: number) => (j === 0 ? "acc" : `acc${j}`);
  const accAt = (j: number) =>
    rowLoop === undefined ? accName(j) : `${accName(j)}[${loopName(rowLoop)}]`;
  const combine = (j: number) => {
    const o = outs[j], acc = accAt(j), result = arg(o.result);
    return o.reduceOp === "max"
      ? `${acc} = (${result} > ${acc} || ${result} !== ${result}) ? ${result} : ${acc};`
      : o.dtype === "float32" && rowLoop === undefined
      ? `${acc} = Math.fround(${acc} + ${result});`
      : o.dtype === "int32"
      ? `${acc} = (${acc} + ${result}) | 0;`
      : `${acc} += ${result};`;
  };
  // The int32 identity of max is -2^31 (an Int32Array row would store -Infinity as 0).
  const init = (j: number) =>
    outs[j].reduceOp !== "max" ? "0" : outs[j].dtype === "int32" ? "(-2147483648)" : "-Infinity";
  const resetAccs = () =>
    outs.forEach((_, j) =>
      lines.push(
        rowLoop === undefined
          ? `let ${accName(j)} = ${init(j)};`
          : `${accName(j)}.fill(${init(j)});`,
      )
    );
  const storeAccs = () =>
    outs.forEach((o, j) =>
      lines.push(`b${o.buffer}[${fmtIndex(o.index, loopName)}] = ${accAt(j)};`)
    );
  const nOuter = outerOutputLoops(k, rowLoop);
  if (rowLoop !== undefined) {
    outs.forEach((o, j) => {
      // A Float32Array rounds every partial sum of a float32 reduction as it is stored.
      const row = o.dtype === "float32"
        ? "Float32Array"
        : o.dtype === "int32"
        ? "Int32Array"
        : "Float64Array";
      lines.push(`const ${accName(j)} = new ${row}(${k.loops[rowLoop].extent});`);
    });
  }
  const open = (p: number) => {
    const i = loopName(order[p]);
    const [from, to] = p === 0 && nOuter > 0 ? ["start", "end"] : ["0", k.loops[order[p]].extent];
    lines.push(`for (let ${i} = ${from}; ${i} < ${to}; ${i}++) {`);
  };
  lines.push(...atDepth[0]);
  for (let p = 0; p < nLoops; p++) {
    if (p === nOuter && k.reduceOp !== undefined) resetAccs();
    open(p);
    lines.push(...atDepth[p + 1]);
  }
  if (nOuter === nLoops && k.reduceOp !== undefined) resetAccs();
  if (k.reduceOp === undefined) {
    for (const o of outs) {
      lines.push(`b${o.buffer}[${fmtIndex(o.index, loopName)}] = ${arg(o.result)};`);
    }
  } else {
    outs.forEach((_, j) => lines.push(combine(j)));
  }
  for (let p = nLoops - 1; p >= 0; p--) {
    lines.push("}");
    if (p === nOuter && k.reduceOp !== undefined) {
      if (rowLoop === undefined) {
        storeAccs();
      } else {
        const j = loopName(rowLoop);
        lines.push(`for (let ${j} = 0; ${j} < ${k.loops[rowLoop].extent}; ${j}++) {`);
        storeAccs();
        lines.push("}");
      }
    }
  }
  if (nOuter === nLoops && k.reduceOp !== undefined) storeAccs();
  return lines.join("\n");
}
