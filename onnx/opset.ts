/**
 * The ONNX versions the exporter writes.
 *
 * @module
 */

/**
 * The operator set version of the default domain: 21, the first whose GroupNormalization takes a
 * per-channel scale and shift as PyTorch's does (opset 18's took one per group), and one that
 * ONNX Runtime 1.20 and later implement.
 */
export const OPSET = 21;
/** The ONNX IR version that opset 21 requires. */
export const IR_VERSION = 10;
