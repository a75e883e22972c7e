/**
 * `exportOnnx`: traces a function of tensors or an evaluation-mode module on example inputs and
 * writes the graph as an ONNX model.
 *
 * @module
 */

import { isRealized } from "../core/realize.ts";
import type { Node } from "../core/ir.ts";
import { Tensor } from "../core/tensor.ts";
import { Module } from "../nn/module.ts";
import { Lowering } from "./lower.ts";
import { IR_VERSION, OPSET } from "./opset.ts";
import { encodeModel, type NodeProto, type TensorProto, tensorProto, valueInfo } from "./proto.ts";

/** What {@link exportOnnx} exports: a function of tensors, or a module in evaluation mode. */
export type OnnxExportable =
  | Module
  | ((...inputs: Tensor[]) => Tensor | readonly Tensor[]);

/** Options of {@link exportOnnx}. */
export interface OnnxExportOptions {
  /** Names of the graph inputs (default `input`, or `input_0`, `input_1`, … for several). */
  inputNames?: readonly string[];
  /** Names of the graph outputs (default `output`, or `output_0`, …). */
  outputNames?: readonly string[];
  /** The graph's name (default `symgrad`). */
  graphName?: string;
}

const PRODUCER_VERSION = "0.1.0";

function defaultNames(base: string, n: number): string[] {
  return n === 1 ? [base] : Array.from({ length: n }, (_, i) => `${base}_${i}`);
}

function checkNames(what: string, names: readonly string[], n: number): void {
  if (names.length !== n || new Set(names).size !== n || names.some((s) => s === "")) {
    throw new Error(
      `exportOnnx: ${what} ${JSON.stringify(names)} do not fit ${n} value(s); expected ${n} ` +
        `distinct non-empty names`,
    );
  }
}

/**
 * Traces `f` on `example` and encodes the graph as an ONNX model (opset 21, IR version 10), ready
 * for ONNX Runtime or any other ONNX consumer. Composites keep their identity: a convolution is
 * one `Conv`, batch normalization with running statistics one `BatchNormalization`, a `Linear`
 * layer one `Gemm`, softmax one `Softmax`; everything else maps to ONNX's elementwise, reduction
 * and movement operators. A module's parameters and buffers become initializers under their
 * dotted state names (`conv1.weight`, `norm1.running_mean`); other realized tensors the graph
 * reads become anonymous initializers. Shapes are static: those of the example inputs.
 *
 * A module must be in evaluation mode (`.eval()`): a training-mode forward pass would replace
 * its running statistics. Reading the weights realizes pending state, hence the promise.
 * Throws, naming the op and the opset, for an operation or dtype ONNX has no form for here.
 *
 * @example Export a small network and check the initializer names
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Linear, ReLU, Sequential } from "@symgrad/symgrad/nn";
 * import { exportOnnx } from "@symgrad/symgrad/onnx";
 * const net = new Sequential(new Linear(4, 8, { seed: 0 }), new ReLU()).eval();
 * const bytes = await exportOnnx(net, Tensor.ones([2, 4]));
 * console.log(bytes.length > 0); // true: a ModelProto with a Gemm, a Relu, 0.weight and 0.bias
 * ```
 */
export async function exportOnnx(
  f: OnnxExportable,
  example: Tensor | readonly Tensor[],
  opts: OnnxExportOptions = {},
): Promise<Uint8Array> {
  const inputs = example instanceof Tensor ? [example] : [...example];
  if (inputs.length === 0 || !inputs.every((t) => t instanceof Tensor)) {
    throw new Error("exportOnnx: expected one example Tensor or a non-empty array of Tensors");
  }
  const named = new Map<Node, { name: string; tensor: Tensor }>();
  let result: Tensor | readonly Tensor[];
  if (f instanceof Module) {
    if (f.namedModules().some(([, m]) => m.training)) {
      throw new Error(
        `exportOnnx: ${f.constructor.name} is in training mode; call .eval() first (a ` +
          `training-mode forward pass normalizes with batch statistics and updates its buffers)`,
      );
    }
    for (const [name, t] of [...f.namedParameters(), ...f.namedBuffers()]) {
      if (!named.has(t.node)) named.set(t.node, { name, tensor: t });
    }
    if (inputs.length !== 1) {
      throw new Error(`exportOnnx: a Module takes one example input, got ${inputs.length}`);
    }
    result = f.forward(inputs[0]);
  } else if (typeof f === "function") {
    result = f(...inputs);
  } else {
    throw new Error("exportOnnx: expected a Module or a function of tensors");
  }
  const outputs = result instanceof Tensor ? [result] : [...result];
  if (outputs.length === 0 || !outputs.every((t) => t instanceof Tensor)) {
    throw new Error("exportOnnx: the function must return a Tensor or a non-empty array of them");
  }

  const inputNames = opts.inputNames ?? defaultNames("input", inputs.length);
  const outputNames = opts.outputNames ?? defaultNames("output", outputs.length);
  checkNames("inputNames", inputNames, inputs.length);
  checkNames("outputNames", outputNames, outputs.length);
  const inputOf = new Map<Node, string>();
  inputs.forEach((t, i) => {
    if (inputOf.has(t.node)) {
      throw new Error(`exportOnnx: example inputs ${inputOf.get(t.node)} and ${i} are one tensor`);
    }
    inputOf.set(t.node, inputNames[i]);
  });

  // Leaves read by the graph, in first-use order; their data is read once lowering is done.
  const weights: { name: string; tensor: Tensor }[] = [];
  const weightOf = new Map<Node, string>();
  const lowering: Lowering = new Lowering({
    leaf(n): string | undefined {
      const input = inputOf.get(n);
      if (input !== undefined) return input;
      const have = weightOf.get(n);
      if (have !== undefined) return have;
      const entry = named.get(n);
      if (entry === undefined && !isRealized(n)) return undefined;
      const name: string = entry?.name ?? lowering.freshName(`weight_${weights.length}`);
      if (entry !== undefined && (inputNames.includes(name) || outputNames.includes(name))) {
        throw new Error(
          `exportOnnx: the state tensor ${JSON.stringify(name)} has the name of a graph input or ` +
            `output; expected inputNames and outputNames that no state name uses`,
        );
      }
      weights.push({ name, tensor: entry?.tensor ?? new Tensor(n, outputs[0].backend) });
      weightOf.set(n, name);
      return name;
    },
  });
  for (const name of [...inputNames, ...outputNames, ...[...named.values()].map((e) => e.name)]) {
    lowering.reserve(name);
  }
  outputs.forEach((t, i) => lowering.emitTo("Identity", [lowering.value(t.node)], outputNames[i]));
  // Drop Identity nodes where the output can be the producing node's own output.
  const nodes = renameOutputs(lowering.nodes, new Set(inputNames), new Set(weightOf.values()));

  const initializers: TensorProto[] = [];
  for (const { name, tensor } of weights) {
    initializers.push(tensorProto(name, tensor.dtype, tensor.shape, await tensor.data()));
  }
  return encodeModel({
    name: opts.graphName ?? "symgrad",
    opset: OPSET,
    irVersion: IR_VERSION,
    nodes,
    initializers: [...initializers, ...lowering.constants],
    inputs: inputs.map((t, i) => valueInfo(inputNames[i], t.dtype, t.shape)),
    outputs: outputs.map((t, i) => valueInfo(outputNames[i], t.dtype, t.shape)),
    producerVersion: PRODUCER_VERSION,
  });
}

/**
 * Folds each final `Identity(v) -> output` into the node producing `v` when `v` is a generated
 * name used nowhere else, so the graph's outputs are the outputs of real operators.
 */
function renameOutputs(
  nodes: readonly NodeProto[],
  inputs: ReadonlySet<string>,
  weights: ReadonlySet<string>,
): NodeProto[] {
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const dropped = new Set<NodeProto>();
  for (const n of nodes) {
    if (n.opType !== "Identity" || n.input!.length !== 1) continue;
    const src = n.input![0];
    const p = producer.get(src);
    if (
      p === undefined || uses.get(src) !== 1 || inputs.has(src) ||
      weights.has(src)
    ) continue;
    p.output = [n.output![0]];
    dropped.add(n);
  }
  return nodes.filter((n) => !dropped.has(n));
}

/**
 * Exports like {@link exportOnnx} and writes the model to `path` (needs `--allow-write`).
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { saveOnnx } from "@symgrad/symgrad/onnx";
 * await saveOnnx("/tmp/softmax.onnx", (x: Tensor) => x.softmax(-1), Tensor.ones([2, 3]));
 * ```
 */
export async function saveOnnx(
  path: string | URL,
  f: OnnxExportable,
  example: Tensor | readonly Tensor[],
  opts: OnnxExportOptions = {},
): Promise<void> {
  await Deno.writeFile(path, await exportOnnx(f, example, opts));
}
