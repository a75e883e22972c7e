/**
 * The ONNX protobuf messages this exporter writes, built and encoded with `onnx-proto` (the
 * onnx.proto schema compiled by protobufjs). Only message construction lives here: which
 * operators to emit is `lower.ts`'s job.
 *
 * @module
 */

import onnxProto from "onnx-proto";
import type { DType } from "../core/dtype.ts";
import { OPSET } from "./opset.ts";

const { onnx } = onnxProto;

/** An ONNX node as the encoder takes it. */
export type NodeProto = onnxProto.onnx.INodeProto;
/** An ONNX tensor (initializer or constant) as the encoder takes it. */
export type TensorProto = onnxProto.onnx.ITensorProto;
/** An attribute value: an integer, a float, or a list of integers. */
export type AttrValue = number | { readonly float: number } | readonly number[];

const DataType = onnx.TensorProto.DataType;
const AttrType = onnx.AttributeProto.AttributeType;

/** ONNX element types of our dtypes and of the int64 shape operands. */
export type ElemType = DType | "int64";

/** The `TensorProto.DataType` code of an element type; throws for one ONNX lacks here. */
export function elemTypeCode(dtype: ElemType, what: string): number {
  switch (dtype) {
    case "float32":
      return DataType.FLOAT;
    case "float64":
      return DataType.DOUBLE;
    case "bool":
      return DataType.BOOL;
    case "int32":
      return DataType.INT32;
    case "int64":
      return DataType.INT64;
    default:
      throw new Error(
        `exportOnnx: ${what} has dtype ${dtype}, which has no ONNX element type in this ` +
          `exporter (opset ${OPSET}); expected float32, float64, int32 or bool`,
      );
  }
}

/** Little-endian bytes of `values` as `dtype` (ONNX's `raw_data` layout). */
function rawBytes(dtype: ElemType, values: ArrayLike<number>): Uint8Array {
  const n = values.length;
  const out = dtype === "float32"
    ? Float32Array.from(values)
    : dtype === "float64"
    ? Float64Array.from(values)
    : dtype === "int32"
    ? Int32Array.from(values)
    : dtype === "int64"
    ? BigInt64Array.from(Array.from(values, (v) => BigInt(v)))
    : Uint8Array.from(values, (v) => (v ? 1 : 0));
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  // Typed arrays use the platform's byte order; ONNX's raw data is little-endian.
  if (n > 0 && new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    const width = out.BYTES_PER_ELEMENT;
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return bytes;
}

/** A tensor message of `dtype` and `dims` holding `values` in row-major order. */
export function tensorProto(
  name: string,
  dtype: ElemType,
  dims: readonly number[],
  values: ArrayLike<number>,
): TensorProto {
  return {
    name,
    dataType: elemTypeCode(dtype, `tensor ${name}`),
    dims: [...dims],
    rawData: rawBytes(dtype, values),
  };
}

/** A node message; attribute values map to INT, FLOAT or INTS. */
export function nodeProto(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  name: string,
  attrs: Readonly<Record<string, AttrValue>> = {},
): NodeProto {
  const attribute = Object.entries(attrs).map(([key, v]) =>
    typeof v === "number"
      ? { name: key, type: AttrType.INT, i: v }
      : "float" in v
      ? { name: key, type: AttrType.FLOAT, f: v.float }
      : { name: key, type: AttrType.INTS, ints: [...v] }
  );
  return { opType, input: [...inputs], output: [...outputs], name, attribute };
}

/** A graph input or output of a tensor type with static dims. */
export function valueInfo(
  name: string,
  dtype: DType,
  dims: readonly number[],
): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemTypeCode(dtype, `graph value ${name}`),
        shape: { dim: dims.map((d) => ({ dimValue: d })) },
      },
    },
  };
}

/** What a model consists of. */
export interface ModelParts {
  /** Graph name. */
  name: string;
  /** Operator set version of the default domain. */
  opset: number;
  /** ONNX IR version that the opset needs. */
  irVersion: number;
  /** Nodes in topological order. */
  nodes: NodeProto[];
  /** Weights and constants. */
  initializers: TensorProto[];
  /** Graph inputs. */
  inputs: onnxProto.onnx.IValueInfoProto[];
  /** Graph outputs. */
  outputs: onnxProto.onnx.IValueInfoProto[];
  /** The version written as `producer_version`. */
  producerVersion: string;
}

/** The encoded `ModelProto`. */
export function encodeModel(parts: ModelParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: parts.irVersion,
    producerName: "symgrad",
    producerVersion: parts.producerVersion,
    opsetImport: [{ domain: "", version: parts.opset }],
    graph: {
      name: parts.name,
      node: parts.nodes,
      initializer: parts.initializers,
      input: parts.inputs,
      output: parts.outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
