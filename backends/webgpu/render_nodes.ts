/**
 * Per-node WGSL kernels: every computing node of a program becomes one compute kernel.
 *
 * Elementwise and movement nodes run one invocation per output element (movement ops are index
 * maps, `pad` with a validity test). Reductions run one invocation per output when there are
 * many outputs or few reduced elements; otherwise one workgroup per output cooperates through
 * workgroup memory, and when even that leaves the device idle (few outputs, long reductions) the
 * reduction is split over several workgroups whose partial results a second kernel combines.
 *
 * @module
 */

import type { OpAttrs, UnaryOp } from "../../core/ir.ts";
import type { Program, ProgramNode } from "../../core/program.ts";
import { contiguousStrides, numel, type Shape } from "../../core/shape.ts";
import type { Binding, RenderedKernel, ScratchBuffer } from "./kernel.ts";
import {
  coordinates,
  describe,
  dot,
  f32Literal,
  KERNEL_PARAMS,
  LINEAR_WORKGROUP,
  literal,
  storageType,
  u32,
} from "./wgsl.ts";

/** Invocations per workgroup for elementwise kernels. */
const ELEMENTWISE_WG = 64;
/** Invocations per workgroup for cooperative reductions (a power of two). */
const REDUCE_WG = 256;

/** Kernels and scratch buffers for a whole program. */
export interface NodePlan {
  /** Kernels in execution order. */
  readonly kernels: readonly RenderedKernel[];
  /** Scratch buffers for split reductions. */
  readonly scratch: readonly ScratchBuffer[];
}

const UNARY_WGSL: Record<UnaryOp, (a: string) => string> = {
  neg: (a) => `-(${a})`,
  exp: (a) => `exp(${a})`,
  log: (a) => `log(${a})`,
  sqrt: (a) => `sqrt(${a})`,
  recip: (a) => `(1.0f / ${a})`,
  sin: (a) => `sin(${a})`,
  sigmoid: (a) => `(1.0f / (1.0f + exp(-(${a}))))`,
  // tanh(±15) rounds to ±1 in float32; clamping keeps exp-based implementations from inf/inf.
  tanh: (a) => `tanh(clamp(${a}, -15.0f, 15.0f))`,
};

/** `max` that propagates NaN like the interpreter (WGSL leaves NaN operands unspecified). */
export function maxExpr(a: string, b: string): string {
  return `select(max(${a}, ${b}), ${a} + ${b}, ${a} != ${a} || ${b} != ${b})`;
}

/** Operand access: a buffer binding or an inlined constant. */
interface Operand {
  /** WGSL expression of the element at the index expression `idx`. */
  load(idx: string): string;
  /** The declaration of its binding (empty for constants). */
  readonly decl: string;
}

/** Follows reshape/detach chains that are not program outputs to the node that owns the data. */
function makeResolver(program: Program): (j: number) => number {
  const isOutput = new Set(program.outputs);
  return (j) => {
    let n = program.nodes[j];
    while ((n.op === "reshape" || n.op === "detach") && !isOutput.has(j)) {
      j = n.inputs[0];
      n = program.nodes[j];
    }
    return j;
  };
}

/** Renders every node of `program` to kernels. */
export function planNodes(program: Program): NodePlan {
  const resolve = makeResolver(program);
  const isOutput = new Set(program.outputs);
  const kernels: RenderedKernel[] = [];
  const scratch: ScratchBuffer[] = [];

  program.nodes.forEach((node, index) => {
    storageType(node.dtype, `node #${index} (${node.op} ${describe(node.dtype, node.shape)})`);
    if (node.op === "input") return;
    if (node.op === "const" && !isOutput.has(index)) return;
    if (resolve(index) !== index) return; // an alias: consumers read the aliased buffer
    if (numel(node.shape) === 0) return;
    const bindings: Binding[] = [];
    const operand = (pos: number): Operand => {
      const j = resolve(node.inputs[pos]);
      const src = program.nodes[j];
      if (src.op === "const") {
        const v = literal((src.attrs as OpAttrs["const"]).value, src.dtype);
        return { load: () => v, decl: "" };
      }
      const b = bindings.length;
      bindings.push({ kind: "value", node: j });
      return {
        load: (idx) => `in${b}[${idx}]`,
        decl: `@group(0) @binding(${b}) var<storage, read> in${b}: array<${
          storageType(src.dtype, src.op)
        }>;\n`,
      };
    };
    const label = `#${index} ${node.op} ${describe(node.dtype, node.shape)}`;
    const out = { kind: "value", node: index } as const;
    if (node.op === "reduce_sum" || node.op === "reduce_max") {
      const src = operand(0);
      const inShape = program.nodes[node.inputs[0]].shape;
      kernels.push(
        ...reductionKernels(label, node, inShape, src, bindings, out, scratch),
      );
      return;
    }
    const args = node.inputs.map((_, pos) => operand(pos));
    const value = elementValue(node, args, program.nodes, node.inputs);
    bindings.push(out);
    const decls = args.map((a) => a.decl).join("");
    kernels.push({
      label,
      bindings,
      workgroups: Math.ceil(numel(node.shape) / ELEMENTWISE_WG),
      source: elementwiseSource(decls, bindings.length - 1, node, value),
    });
  });
  return { kernels, scratch };
}

/** A kernel body computing `let v` for output element `i`, possibly over several statements. */
function elementValue(
  node: ProgramNode,
  args: Operand[],
  nodes: readonly ProgramNode[],
  inputs: readonly number[],
): string {
  const [a, b, c] = args;
  const at = (o: Operand) => o.load("i");
  switch (node.op) {
    case "const":
      return `let v = ${literal((node.attrs as OpAttrs["const"]).value, node.dtype)};`;
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "recip":
    case "sin":
    case "sigmoid":
    case "tanh":
      return `let v = ${UNARY_WGSL[node.op](at(a))};`;
    case "add":
      return `let v = ${at(a)} + ${at(b)};`;
    case "mul":
      return `let v = ${at(a)} * ${at(b)};`;
    case "max":
      return `let x = ${at(a)}; let y = ${at(b)}; let v = ${maxExpr("x", "y")};`;
    case "cmplt":
      return `let v = select(0u, 1u, ${at(a)} < ${at(b)});`;
    case "cmpeq":
      return `let v = select(0u, 1u, ${at(a)} == ${at(b)});`;
    case "where":
      return `let v = select(${at(c)}, ${at(b)}, ${at(a)} != 0u);`;
    case "cast": {
      const from = nodes[inputs[0]].dtype;
      if (node.dtype === "bool") {
        return `let v = select(0u, 1u, ${at(a)} != ${from === "bool" ? "0u" : "0.0f"});`;
      }
      return `let v = f32(${at(a)});`;
    }
    case "detach":
    case "reshape":
      return `let v = ${at(a)};`;
    case "permute":
    case "expand":
    case "pad":
    case "slice":
      return movementValue(node, nodes[inputs[0]].shape, a);
    case "input":
    case "reduce_sum":
    case "reduce_max":
      throw new Error(`webgpu: ${node.op} is not an elementwise node`);
  }
}

/** Reads the element of a movement op's operand that output element `i` denotes. */
function movementValue(node: ProgramNode, inShape: Shape, a: Operand): string {
  const c = coordinates("i", node.shape);
  const inStrides = contiguousStrides(inShape);
  switch (node.op) {
    case "permute": {
      const perm = (node.attrs as OpAttrs["permute"]).perm;
      return `let v = ${a.load(dot(c, perm.map((p) => inStrides[p])))};`;
    }
    case "expand":
      return `let v = ${a.load(dot(c, inStrides.map((s, d) => (inShape[d] === 1 ? 0 : s))))};`;
    case "slice": {
      const { starts, steps } = node.attrs as OpAttrs["slice"];
      const idx = c.map((x, d) =>
        `(${starts[d] === 0 ? "" : `${u32(starts[d])} + `}${
          steps[d] === 1 ? x : `${x} * ${u32(steps[d])}`
        })`
      );
      return `let v = ${a.load(dot(idx, inStrides))};`;
    }
    case "pad": {
      const pads = (node.attrs as OpAttrs["pad"]).pads;
      const tests: string[] = [];
      const idx = c.map((x, d) => {
        const [before] = pads[d];
        if (before > 0) tests.push(`${x} >= ${u32(before)}`);
        if (inShape[d] + before < node.shape[d]) tests.push(`${x} < ${u32(inShape[d] + before)}`);
        return before === 0 ? x : `(${x} - ${u32(before)})`;
      });
      const zero = literal(0, node.dtype);
      if (tests.length === 0) return `let v = ${a.load(dot(idx, inStrides))};`;
      return `var v = ${zero};\n  if (${tests.join(" && ")}) { v = ${
        a.load(dot(idx, inStrides))
      }; }`;
    }
    default:
      throw new Error(`webgpu: ${node.op} is not a movement op`);
  }
}

function elementwiseSource(
  decls: string,
  outBinding: number,
  node: ProgramNode,
  body: string,
): string {
  const t = storageType(node.dtype, node.op);
  return `${decls}@group(0) @binding(${outBinding}) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(${KERNEL_PARAMS}) {
  let i = ${LINEAR_WORKGROUP} * ${u32(ELEMENTWISE_WG)} + lid.x;
  if (i >= ${u32(numel(node.shape))}) { return; }
  ${body}
  out[i] = v;
}
`;
}

/** The index expressions of a reduction: the input element for output `o` and step `r`. */
interface ReduceIndex {
  readonly outputs: number;
  readonly length: number;
  base(o: string): string;
  inner(r: string): string;
}

function reduceIndex(node: ProgramNode, inShape: Shape): ReduceIndex {
  const axes = (node.attrs as OpAttrs["reduce_sum"]).axes;
  const strides = contiguousStrides(inShape);
  const reduced = axes.map((a) => inShape[a]);
  return {
    outputs: numel(node.shape),
    length: numel(reduced),
    base: (o) => dot(coordinates(o, node.shape), strides),
    inner: (r) => dot(coordinates(r, reduced), axes.map((a) => strides[a])),
  };
}

/** Combines the accumulator `acc` with `v` for `op`. */
function combine(op: "reduce_sum" | "reduce_max", acc: string, v: string): string {
  return op === "reduce_sum" ? `${acc} + ${v}` : maxExpr(acc, v);
}

function identity(op: "reduce_sum" | "reduce_max"): string {
  return op === "reduce_sum" ? "0.0f" : f32Literal(-Infinity);
}

/** Kernels of one reduction node (one, or two for a split reduction). */
function reductionKernels(
  label: string,
  node: ProgramNode,
  inShape: Shape,
  src: Operand,
  bindings: Binding[],
  out: Binding,
  scratch: ScratchBuffer[],
): RenderedKernel[] {
  const op = node.op as "reduce_sum" | "reduce_max";
  const ix = reduceIndex(node, inShape);
  if (ix.outputs >= 4096 || ix.length <= 32) {
    return [serialReduction(label, op, ix, src, [...bindings, out])];
  }
  // Enough workgroups to occupy the device, each with at least 4 elements per invocation.
  const split = Math.max(
    1,
    Math.min(Math.ceil(64 / ix.outputs), Math.floor(ix.length / (REDUCE_WG * 4))),
  );
  if (split === 1) return [groupReduction(label, op, ix, 1, src, [...bindings, out])];
  const partial: ScratchBuffer = { id: scratch.length, bytes: ix.outputs * split * 4 };
  scratch.push(partial);
  const partialBinding: Binding = { kind: "scratch", id: partial.id };
  const stage2: ReduceIndex = {
    outputs: ix.outputs,
    length: split,
    base: (o) => `${o} * ${u32(split)}`,
    inner: (r) => r,
  };
  const partials: Operand = {
    load: (idx) => `in0[${idx}]`,
    decl: "@group(0) @binding(0) var<storage, read> in0: array<f32>;\n",
  };
  return [
    groupReduction(`${label} (stage 1 of 2)`, op, ix, split, src, [...bindings, partialBinding]),
    split > 32 * 4
      ? groupReduction(`${label} (stage 2 of 2)`, op, stage2, 1, partials, [partialBinding, out])
      : serialReduction(`${label} (stage 2 of 2)`, op, stage2, partials, [partialBinding, out]),
  ];
}

/** One invocation per output element, looping over the reduced elements. */
function serialReduction(
  label: string,
  op: "reduce_sum" | "reduce_max",
  ix: ReduceIndex,
  src: Operand,
  bindings: Binding[],
): RenderedKernel {
  const outB = bindings.length - 1;
  return {
    label,
    bindings,
    workgroups: Math.ceil(ix.outputs / ELEMENTWISE_WG),
    source: `${src.decl}@group(0) @binding(${outB}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(${KERNEL_PARAMS}) {
  let o = ${LINEAR_WORKGROUP} * ${u32(ELEMENTWISE_WG)} + lid.x;
  if (o >= ${u32(ix.outputs)}) { return; }
  let base = ${ix.base("o")};
  var acc = ${identity(op)};
  for (var r = 0u; r < ${u32(ix.length)}; r++) {
    let v = ${src.load(`base + ${ix.inner("r")}`)};
    acc = ${combine(op, "acc", "v")};
  }
  out[o] = acc;
}
`,
  };
}

/**
 * One workgroup per (output, part): invocations stride over the part's elements, then combine
 * their accumulators in workgroup memory by halving.
 */
function groupReduction(
  label: string,
  op: "reduce_sum" | "reduce_max",
  ix: ReduceIndex,
  parts: number,
  src: Operand,
  bindings: Binding[],
): RenderedKernel {
  const outB = bindings.length - 1;
  const chunk = Math.ceil(ix.length / parts);
  return {
    label,
    bindings,
    workgroups: ix.outputs * parts,
    source: `${src.decl}@group(0) @binding(${outB}) var<storage, read_write> out: array<f32>;
var<workgroup> shared_acc: array<f32, ${REDUCE_WG}>;
@compute @workgroup_size(${REDUCE_WG})
fn main(${KERNEL_PARAMS}) {
  let w = ${LINEAR_WORKGROUP};
  if (w >= ${u32(ix.outputs * parts)}) { return; }
  let o = w / ${u32(parts)};
  let start = (w % ${u32(parts)}) * ${u32(chunk)};
  let stop = min(start + ${u32(chunk)}, ${u32(ix.length)});
  let base = ${ix.base("o")};
  var acc = ${identity(op)};
  for (var r = start + lid.x; r < stop; r += ${u32(REDUCE_WG)}) {
    let v = ${src.load(`base + ${ix.inner("r")}`)};
    acc = ${combine(op, "acc", "v")};
  }
  shared_acc[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${u32(REDUCE_WG / 2)}; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      let a = shared_acc[lid.x];
      let b = shared_acc[lid.x + s];
      shared_acc[lid.x] = ${combine(op, "a", "b")};
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) { out[w] = shared_acc[0]; }
}
`,
  };
}
