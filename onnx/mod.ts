/**
 * Export to ONNX: a traced function of tensors or an evaluation-mode module becomes an ONNX model
 * (opset 21) that ONNX Runtime and other consumers run. Composites map to ONNX's own operators
 * (Conv, Gemm, MatMul, BatchNormalization, LayerNormalization, GroupNormalization, MaxPool,
 * AveragePool, Softmax, LogSoftmax, Relu, ReduceMean, Concat, Pad), the remaining primitives to
 * its elementwise, reduction and movement operators. This module does not depend on any ONNX
 * runtime.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { exportOnnx, OPSET } from "@symgrad/symgrad/onnx";
 * const bytes = await exportOnnx((x: Tensor) => x.relu().sum(1), Tensor.ones([2, 3]));
 * console.log(OPSET, bytes.length > 0); // 21 true
 * ```
 *
 * @module
 */

export { exportOnnx, saveOnnx } from "./export.ts";
export type { OnnxExportable, OnnxExportOptions } from "./export.ts";
export { IR_VERSION, OPSET } from "./opset.ts";
