/**
 * The reference interpreter: evaluates a program node by node on typed arrays.
 *
 * It is the oracle that compiled backends are tested against, so it favours being obviously
 * right over being fast: every op is a plain loop over output elements, and float32 results are
 * rounded after every op by storing them in a `Float32Array`.
 *
 * @module
 */

import { allocArray, castScalar, type DType, type TypedArray } from "../core/dtype.ts";
import type { OpAttrs } from "../core/ir.ts";
import { binaryScalar, unaryScalar } from "../core/scalar_ops.ts";
import type { Program, ProgramNode } from "../core/program.ts";
import { contiguousStrides, numel, type Shape } from "../core/shape.ts";
import type { Executable } from "../core/backend.ts";
import { checkProgramExtents, INTERPRETER_LIMITS } from "./extent_limits.ts";
import { HostBackend } from "./host_memory.ts";

/** Calls `fn(outIndex, multiIndex)` for every element of `shape` in row-major order. */
function forEachIndex(
  shape: Shape,
  fn: (flat: number, idx: number[]) => void,
): void {
  const n = numel(shape);
  if (n === 0) return;
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    fn(flat, idx);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Evaluates one node given its operands' values and shapes. */
function evaluate(
  node: ProgramNode,
  args: TypedArray[],
  argShapes: Shape[],
  argDtypes: DType[],
): TypedArray {
  const out = allocArray(node.dtype, numel(node.shape));
  const [a, b, c] = args;
  switch (node.op) {
    case "input":
      throw new Error("interpreter: input nodes are bound, not evaluated");
    case "const":
      out.fill((node.attrs as OpAttrs["const"]).value);
      return out;
    case "neg":
    case "exp":
    case "log":
    case "sqrt":
    case "recip":
    case "sin":
    case "sigmoid":
    case "tanh":
    case "floor":
    case "round": {
      const f = unaryScalar(node.op, node.dtype);
      for (let i = 0; i < out.length; i++) out[i] = f(a[i]);
      return out;
    }
    case "add":
    case "mul":
    case "max":
    case "cmplt":
    case "cmpeq":
    case "pow":
    case "floor_div":
    case "fmod": {
      const f = binaryScalar(node.op, argDtypes[0]);
      for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
      return out;
    }
    case "where":
      for (let i = 0; i < out.length; i++) out[i] = a[i] ? b[i] : c[i];
      return out;
    case "cast":
      for (let i = 0; i < out.length; i++) {
        out[i] = castScalar(a[i], node.dtype);
      }
      return out;
    case "reduce_sum":
    case "reduce_max": {
      const inShape = argShapes[0];
      const outStrides = contiguousStrides(node.shape).map((
        s,
        d,
      ) => (node.shape[d] === 1 ? 0 : s));
      const isMax = node.op === "reduce_max";
      // The int32 identity of max is -2^31 (an Int32Array stores -Infinity as 0).
      if (isMax) out.fill(node.dtype === "int32" ? -2147483648 : -Infinity);
      forEachIndex(inShape, (flat, idx) => {
        let o = 0;
        for (let d = 0; d < idx.length; d++) o += idx[d] * outStrides[d];
        const v = a[flat];
        out[o] = isMax ? (v !== v || out[o] !== out[o] ? NaN : Math.max(out[o], v)) : out[o] + v;
      });
      return out;
    }
    case "detach":
    case "reshape":
      out.set(a);
      return out;
    case "permute": {
      const perm = (node.attrs as OpAttrs["permute"]).perm;
      const inStrides = contiguousStrides(argShapes[0]);
      forEachIndex(node.shape, (flat, idx) => {
        let i = 0;
        for (let d = 0; d < idx.length; d++) i += idx[d] * inStrides[perm[d]];
        out[flat] = a[i];
      });
      return out;
    }
    case "expand": {
      const inShape = argShapes[0];
      const inStrides = contiguousStrides(inShape).map((
        s,
        d,
      ) => (inShape[d] === 1 ? 0 : s));
      forEachIndex(node.shape, (flat, idx) => {
        let i = 0;
        for (let d = 0; d < idx.length; d++) i += idx[d] * inStrides[d];
        out[flat] = a[i];
      });
      return out;
    }
    case "pad": {
      const pads = (node.attrs as OpAttrs["pad"]).pads;
      const inShape = argShapes[0];
      const inStrides = contiguousStrides(inShape);
      forEachIndex(node.shape, (flat, idx) => {
        let i = 0;
        for (let d = 0; d < idx.length; d++) {
          const j = idx[d] - pads[d][0];
          if (j < 0 || j >= inShape[d]) return;
          i += j * inStrides[d];
        }
        out[flat] = a[i];
      });
      return out;
    }
    case "slice": {
      const { starts, steps } = node.attrs as OpAttrs["slice"];
      const inStrides = contiguousStrides(argShapes[0]);
      forEachIndex(node.shape, (flat, idx) => {
        let i = 0;
        for (let d = 0; d < idx.length; d++) {
          i += (starts[d] + idx[d] * steps[d]) * inStrides[d];
        }
        out[flat] = a[i];
      });
      return out;
    }
  }
}

/**
 * The interpreter backend: host typed arrays, no compilation beyond binding the node list.
 * Its `stats.kernelsRun` counts evaluated nodes.
 */
export class InterpreterBackend extends HostBackend {
  /** Backend name. */
  readonly name = "interpreter";
  /** Binds the program's node list into a runnable closure. */
  compile(program: Program): Executable<TypedArray> {
    checkProgramExtents(program, INTERPRETER_LIMITS);
    this.stats.kernelsCompiled++;
    return {
      run: (inputs, outputs) => {
        const values: TypedArray[] = new Array(program.nodes.length);
        program.inputs.forEach((
          nodeIndex,
          slot,
        ) => (values[nodeIndex] = inputs[slot]));
        program.nodes.forEach((node, i) => {
          if (node.op === "input") return;
          values[i] = evaluate(
            node,
            node.inputs.map((j) => values[j]),
            node.inputs.map((j) => program.nodes[j].shape),
            node.inputs.map((j) => program.nodes[j].dtype),
          );
          this.stats.kernelsRun++;
        });
        program.outputs.forEach((nodeIndex, k) => outputs[k].set(values[nodeIndex]));
      },
    };
  }
}
