/**
 * Lowering of a traced graph to ONNX operators. A node recorded as a composite (core/composite.ts)
 * becomes that composite's ONNX operator (Conv, Gemm, BatchNormalization, Softmax, …) over the
 * composite's own operands; every other node becomes the ONNX operator of its primitive.
 *
 * @module
 */

import { type CompositeInfo, compositeOf, compositeReshapesOf } from "../core/composite.ts";
import { isFloat } from "../core/dtype.ts";
import type { Node, OpAttrs } from "../core/ir.ts";
import { OPSET } from "./opset.ts";
import {
  type AttrValue,
  type ElemType,
  elemTypeCode,
  type NodeProto,
  nodeProto,
  type TensorProto,
  tensorProto,
} from "./proto.ts";

const UNARY: Record<string, string> = {
  neg: "Neg",
  exp: "Exp",
  log: "Log",
  sqrt: "Sqrt",
  recip: "Reciprocal",
  sin: "Sin",
  sigmoid: "Sigmoid",
  tanh: "Tanh",
  floor: "Floor",
  round: "Round",
  detach: "Identity",
};
const BINARY: Record<string, string> = {
  add: "Add",
  mul: "Mul",
  max: "Max",
  cmplt: "Less",
  cmpeq: "Equal",
  pow: "Pow",
};

/** An elementwise operand: a node, or a scalar constant that ONNX broadcasting spreads. */
type Operand = Node | { readonly scalar: number; readonly dtype: ElemType };

/** Whether ONNX's multidirectional broadcast of `shapes` gives exactly `out`. */
function broadcastsTo(shapes: readonly (readonly number[])[], out: readonly number[]): boolean {
  if (Math.max(0, ...shapes.map((s) => s.length)) !== out.length) return false;
  return out.every((d, i) =>
    shapes.every((s) => {
      const e = s[i - (out.length - s.length)];
      return e === undefined || e === d || e === 1;
    }) && (d === 1 || shapes.some((s) => s[i - (out.length - s.length)] === d))
  );
}

/** `n` before the explicit broadcast that our IR needs and ONNX does implicitly. */
function unbroadcast(n: Node): Operand {
  if (n.op === "const") return { scalar: (n.attrs as OpAttrs["const"]).value, dtype: n.dtype };
  if (n.op !== "expand") return n;
  const y = n.inputs[0];
  // A reshape that only prepends extent-1 axes is what ONNX's right-aligned broadcast does too.
  if (y.op === "reshape") {
    const z = y.inputs[0];
    const lead = y.shape.length - z.shape.length;
    const prepends = lead >= 0 && y.shape.slice(0, lead).every((d) => d === 1) &&
      y.shape.slice(lead).every((d, i) => d === z.shape[i]);
    if (prepends) return z;
  }
  return y;
}

/** Leaves of the traced graph: graph inputs and initializers, by node. */
export interface LeafNames {
  /** The value name of a leaf (graph input, named weight or anonymous constant), or undefined. */
  leaf(n: Node): string | undefined;
}

/** Emits ONNX nodes for a traced graph; `value` returns the name of a node's ONNX value. */
export class Lowering {
  /** The ONNX nodes emitted so far, in topological order. */
  readonly nodes: NodeProto[] = [];
  /** Constants created while lowering (shapes, axes, scalars, default scales). */
  readonly constants: TensorProto[] = [];
  readonly #leaves: LeafNames;
  readonly #values = new Map<Node, string>();
  readonly #constCache = new Map<string, string>();
  readonly #used = new Set<string>();
  #count = 0;

  /** A lowering whose leaves are named by `leaves`. */
  constructor(leaves: LeafNames) {
    this.#leaves = leaves;
  }

  /** Reserves `name` (graph inputs, outputs and weights) so generated names avoid it. */
  reserve(name: string): void {
    this.#used.add(name);
  }

  /** A name not used yet, `base` if possible; reserved from now on. */
  freshName(base: string): string {
    return this.#fresh(base);
  }

  #fresh(base: string): string {
    let name = base;
    while (this.#used.has(name)) name = `${base}_${this.#count++}`;
    this.#used.add(name);
    return name;
  }

  /** Emits `opType` over `inputs` and returns its output's name. */
  emit(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}): string {
    const out = this.#fresh(`${opType.toLowerCase()}_${this.nodes.length}`);
    this.nodes.push(nodeProto(opType, inputs, [out], `${opType}_${this.nodes.length}`, attrs));
    return out;
  }

  /** Emits `opType` writing to the given output name. */
  emitTo(opType: string, inputs: readonly string[], output: string): void {
    this.nodes.push(nodeProto(opType, inputs, [output], `${opType}_${this.nodes.length}`));
  }

  /** A constant initializer, shared between equal constants. */
  constant(dtype: ElemType, dims: readonly number[], values: ArrayLike<number>): string {
    const key = `${dtype}|${dims.join(",")}|${
      Array.from(values, (v) => Object.is(v, -0) ? "-0" : v)
    }`;
    const hit = this.#constCache.get(key);
    if (hit !== undefined) return hit;
    const name = this.#fresh(`const_${this.#constCache.size}`);
    this.constants.push(tensorProto(name, dtype, dims, values));
    this.#constCache.set(key, name);
    return name;
  }

  #ints(values: readonly number[]): string {
    return this.constant("int64", [values.length], values);
  }

  #filled(dtype: ElemType, dims: readonly number[], v: number): string {
    return this.constant(dtype, dims, new Array(dims.reduce((a, b) => a * b, 1)).fill(v));
  }

  /** The ONNX value name of `n`, emitting it and what it needs first. */
  value(n: Node): string {
    const have = this.#values.get(n);
    if (have !== undefined) return have;
    const leaf = this.#leaves.leaf(n);
    const name = leaf ?? this.#lowerComposite(n) ?? this.#lowerPrimitive(n);
    this.#values.set(n, name);
    return name;
  }

  #operand(o: Operand): string {
    return "scalar" in o ? this.constant(o.dtype, [], [o.scalar]) : this.value(o);
  }

  /** An elementwise op with the IR's explicit broadcasts dropped where ONNX's give the same. */
  #elementwise(opType: string, operands: readonly Node[], out: Node): string {
    const reduced = operands.map(unbroadcast);
    const constsOnly = operands.map((o, i) => ("scalar" in reduced[i] ? reduced[i] : o));
    const shapeOf = (o: Operand) => ("scalar" in o ? [] : o.shape);
    for (const attempt of [reduced, constsOnly]) {
      if (broadcastsTo(attempt.map(shapeOf), out.shape)) {
        return this.emit(opType, attempt.map((o) => this.#operand(o)));
      }
    }
    return this.emit(opType, operands.map((o) => this.value(o)));
  }

  #lowerPrimitive(n: Node): string {
    const x = n.inputs[0];
    if (n.op in UNARY) return this.emit(UNARY[n.op], [this.value(x)]);
    if (n.op in BINARY) return this.#elementwise(BINARY[n.op], n.inputs, n);
    switch (n.op) {
      case "const": {
        const scalar = this.constant(n.dtype, [], [(n.attrs as OpAttrs["const"]).value]);
        return n.shape.length === 0 ? scalar : this.emit("Expand", [scalar, this.#ints(n.shape)]);
      }
      case "where":
        return this.#elementwise("Where", n.inputs, n);
      case "fmod":
        return this.emit("Mod", n.inputs.map((i) => this.value(i)), { fmod: 1 });
      case "cast":
        return this.emit("Cast", [this.value(x)], {
          to: elemTypeCode(n.dtype, "the result of cast"),
        });
      case "reduce_sum":
      case "reduce_max": {
        const axes = (n.attrs as OpAttrs["reduce_sum"]).axes;
        const op = n.op === "reduce_sum" ? "ReduceSum" : "ReduceMax";
        return this.emit(op, [this.value(x), this.#ints(axes)], { keepdims: 1 });
      }
      case "reshape": {
        // A flatten of a pooled (or otherwise reshaped) composite result folds into one reshape
        // of the composite's insides: reshape that result instead of decomposing the composite.
        const via = compositeReshapesOf(x).find((t) =>
          t !== n && compositeFits(compositeOf(t)!, t)
        );
        return this.emit("Reshape", [this.value(via ?? x), this.#ints(n.shape)]);
      }
      case "permute":
        return this.emit("Transpose", [this.value(x)], {
          perm: (n.attrs as OpAttrs["permute"]).perm,
        });
      case "expand": {
        // ONNX's Expand aligns axes from the right, so the IR's lifting reshape can go.
        const src = unbroadcast(n);
        return this.emit("Expand", [this.#operand(src), this.#ints(n.shape)]);
      }
      case "pad": {
        const pads = (n.attrs as OpAttrs["pad"]).pads;
        return this.emit("Pad", [
          this.value(x),
          this.#ints([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]),
        ]);
      }
      case "slice": {
        const { starts, stops, steps } = n.attrs as OpAttrs["slice"];
        return this.emit("Slice", [
          this.value(x),
          this.#ints(starts),
          this.#ints(stops),
          this.#ints(starts.map((_, i) => i)),
          this.#ints(steps),
        ]);
      }
      case "buffer":
        throw new Error(
          `exportOnnx: buffer #${(n.attrs as OpAttrs["buffer"]).ref.id} has no value name`,
        );
      default:
        throw new Error(
          `exportOnnx: op ${JSON.stringify(n.op)} has no ONNX lowering at opset ${OPSET}`,
        );
    }
  }

  /** The composite's ONNX operator, or undefined to lower `n` as its primitive. */
  #lowerComposite(n: Node): string | undefined {
    const info = compositeOf(n);
    if (info === undefined || !compositeFits(info, n)) return undefined;
    const [x, a, b, c, d] = info.inputs;
    const v = (m: Node | null) => this.value(m!);
    const pads = (p: readonly [number, number]) => [p[0], p[1], p[0], p[1]];
    switch (info.op) {
      case "sub":
        return this.#elementwise("Sub", [x!, a!], n);
      case "div":
        return this.#elementwise("Div", [x!, a!], n);
      case "relu":
        return this.emit("Relu", [v(x)]);
      case "matmul":
        return this.emit("MatMul", [v(x), v(a)]);
      case "linear":
        return this.emit("Gemm", [v(x), v(a), ...(b ? [v(b)] : [])], { transB: 1 });
      case "conv2d": {
        const at = info.attrs as CompositeInfo<"conv2d">["attrs"];
        const w = a!;
        return this.emit("Conv", [v(x), v(w), ...(b ? [v(b)] : [])], {
          kernel_shape: w.shape.slice(2),
          strides: at.stride,
          pads: pads(at.padding),
          dilations: at.dilation,
          group: at.groups,
        });
      }
      case "max_pool2d":
      case "avg_pool2d": {
        const at = info.attrs as CompositeInfo<"max_pool2d">["attrs"];
        const common = {
          kernel_shape: at.kernel,
          strides: at.stride,
          pads: pads(at.padding),
          dilations: at.dilation,
        };
        return info.op === "max_pool2d"
          ? this.emit("MaxPool", [v(x)], common)
          : this.emit("AveragePool", [v(x)], { ...common, count_include_pad: 1 });
      }
      case "mean": {
        const at = info.attrs as CompositeInfo<"mean">["attrs"];
        return this.emit("ReduceMean", [v(x), this.#ints(at.axes)], {
          keepdims: at.keepdims ? 1 : 0,
        });
      }
      case "softmax":
      case "log_softmax": {
        const axis = (info.attrs as CompositeInfo<"softmax">["attrs"]).axis;
        return this.emit(info.op === "softmax" ? "Softmax" : "LogSoftmax", [v(x)], { axis });
      }
      case "batch_norm": {
        const eps = (info.attrs as CompositeInfo<"batch_norm">["attrs"]).eps;
        const ch = [x!.shape[1]];
        const scale = a ? v(a) : this.#filled(x!.dtype, ch, 1);
        const shift = b ? v(b) : this.#filled(x!.dtype, ch, 0);
        return this.emit("BatchNormalization", [v(x), scale, shift, v(c), v(d)], {
          epsilon: { float: eps },
        });
      }
      case "layer_norm": {
        const at = info.attrs as CompositeInfo<"layer_norm">["attrs"];
        const normalized = x!.shape.slice(x!.shape.length - at.axes);
        const scale = a ? v(a) : this.#filled(x!.dtype, normalized, 1);
        return this.emit("LayerNormalization", [v(x), scale, ...(b ? [v(b)] : [])], {
          axis: -at.axes,
          epsilon: { float: at.eps },
        });
      }
      case "group_norm": {
        const at = info.attrs as CompositeInfo<"group_norm">["attrs"];
        const ch = [x!.shape[1]];
        const scale = a ? v(a) : this.#filled(x!.dtype, ch, 1);
        const shift = b ? v(b) : this.#filled(x!.dtype, ch, 0);
        return this.emit("GroupNormalization", [v(x), scale, shift], {
          num_groups: at.groups,
          epsilon: { float: at.eps },
        });
      }
      case "concat":
        return this.emit("Concat", info.inputs.map(v), {
          axis: (info.attrs as CompositeInfo<"concat">["attrs"]).axis,
        });
      case "pad": {
        const at = info.attrs as CompositeInfo<"pad">["attrs"];
        const p = [...at.pads.map((q) => q[0]), ...at.pads.map((q) => q[1])];
        return this.emit("Pad", [v(x), this.#ints(p), this.constant(x!.dtype, [], [at.value])]);
      }
    }
  }
}

/**
 * Whether the ONNX operator of a recorded composite computes exactly `n`: operands of the
 * output's float dtype (a composite over mixed dtypes casts inside, and ONNX's operators do not).
 * Otherwise `n` is lowered as its primitive.
 */
function compositeFits(info: CompositeInfo, n: Node): boolean {
  if (!isFloat(n.dtype)) return false;
  // Operands older than the node: lowering through composites then always reaches leaves.
  return info.inputs.every((m) => m === null || (m.dtype === n.dtype && m.id < n.id));
}
