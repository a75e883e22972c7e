/**
 * Runs exported models in ONNX Runtime and compares them with our CPU backend.
 *
 * ONNX Runtime comes from npm as `onnxruntime-web` with its WebAssembly backend. Under Deno 2.9
 * `onnxruntime-node`'s native addon also loads, but only with `--allow-ffi` (Node-API addons are
 * foreign code to Deno); the WebAssembly build needs nothing beyond the `--allow-read` the test
 * task already grants (it reads its .wasm from the npm cache) and runs offline. One thread: the
 * threaded build would start workers of its own.
 *
 * @module
 */

import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-web";
import type { Tensor } from "../../mod.ts";
import { assertClose } from "../../testing/mod.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const ORT_TYPES = { float32: "float32", float64: "float64", int32: "int32", bool: "bool" } as const;

/** Runs `bytes` in ONNX Runtime on `inputs` (fed as `input`, `input_0`, … unless named). */
export async function runOnnx(
  bytes: Uint8Array,
  inputs: readonly Tensor[],
  names?: readonly string[],
): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    const inputNames = names ?? session.inputNames;
    for (const [i, t] of inputs.entries()) {
      const data = await t.data();
      const type = ORT_TYPES[t.dtype as keyof typeof ORT_TYPES];
      const values = t.dtype === "bool" ? Uint8Array.from(data) : data;
      feeds[inputNames[i]] = new ort.Tensor(type, values as Float32Array, [...t.shape]);
    }
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

/** Element values of an ONNX Runtime tensor as numbers (bools as 0/1). */
export function ortValues(t: ort.Tensor): number[] {
  return Array.from(t.data as ArrayLike<number | boolean>, (v) => Number(v));
}

/**
 * Asserts that ONNX Runtime's outputs equal ours within `tol` (absolute and relative): shapes
 * exactly, values elementwise.
 */
export async function assertRuntimeMatches(
  bytes: Uint8Array,
  inputs: readonly Tensor[],
  expected: readonly Tensor[],
  tol = 1e-5,
  msg = "",
): Promise<void> {
  const out = await runOnnx(bytes, inputs);
  const names = Object.keys(out);
  if (names.length !== expected.length) {
    throw new Error(
      `${msg}: ONNX Runtime gave ${names.length} outputs, expected ${expected.length}`,
    );
  }
  for (const [i, e] of expected.entries()) {
    const got = out[names.length === 1 ? names[0] : `output_${i}`];
    if (got.dims.join(",") !== e.shape.join(",")) {
      throw new Error(`${msg}: output ${i} has shape [${got.dims}], expected [${e.shape}]`);
    }
    await assertClose(ortValues(got), Array.from(await e.data()), { rtol: tol, atol: tol, msg });
  }
}

/** The operator types of an encoded model's nodes, in order. */
export function opTypes(bytes: Uint8Array): string[] {
  return decodeModel(bytes).graph!.node!.map((n) => n.opType!);
}

/** The decoded model (to inspect initializers, inputs and outputs). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnxProto.onnx.ModelProto.decode(bytes);
}
