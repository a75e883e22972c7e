/**
 * symgrad: lazy tensors, symbolic reverse-mode autodiff and fused kernels for Deno.
 *
 * @example A gradient and a gradient of a gradient
 * ```ts
 * import { grad, Tensor } from "@symgrad/symgrad";
 * const f = (x: Tensor) => x.sin().sum();
 * const df = grad(f);
 * const x = Tensor.from([0, 1], { dtype: "float64" });
 * console.log(await df(x).data()); // cos(x)
 * console.log(await grad((x: Tensor) => df(x).sum())(x).data()); // -sin(x)
 * ```
 *
 * @module
 */

import { CpuBackend } from "./backends/cpu/backend.ts";
import { InterpreterBackend } from "./backends/interpreter.ts";
import { registerBackend, setBackend } from "./core/devices.ts";
import { setTensorDisplay } from "./core/tensor.ts";

registerBackend("interpreter", () => new InterpreterBackend());
registerBackend("cpu", () => new CpuBackend());
setBackend("cpu");
// Loaded on first use: importing the package never touches navigator.gpu.
registerBackend(
  "webgpu",
  async () => (await import("./backends/webgpu/backend.ts")).createWebGpuBackend(),
);
// The notebook display (and its PNG encoder) is loaded when a tensor is first shown.
setTensorDisplay(async (t) => (await import("./display/tensor_display.ts")).tensorMimeBundle(t));

export type { Backend, BackendStats, Executable } from "./core/backend.ts";
export { HostBackend } from "./backends/host_memory.ts";
export { InterpreterBackend } from "./backends/interpreter.ts";
export {
  CpuBackend,
  cpuThreads,
  setCpuFma,
  setCpuGemm,
  setCpuSimd,
  setCpuThreads,
} from "./backends/cpu/backend.ts";
export type { CpuBackendOptions } from "./backends/cpu/backend.ts";
export { jit } from "./core/jit.ts";
export { backendStats } from "./core/stats.ts";
export type {
  AluOp,
  Cond,
  Kernel,
  KernelLoop,
  KernelOutput,
  KernelValue,
  Schedule,
  ScheduleBuffer,
} from "./core/schedule.ts";
export { formatSchedule, schedule } from "./core/schedule.ts";
export type { Atom, Index, Term } from "./core/symbolic.ts";
export type { WebGpuBackend, WebGpuBuffer } from "./backends/webgpu/backend.ts";
export type { DeviceLimits } from "./backends/webgpu/device.ts";
export type { Binding, RenderedKernel, ScratchBuffer } from "./backends/webgpu/kernel.ts";
export { defineCustomVjp, VJP_RULES, vjpNodes } from "./core/autodiff.ts";
export type { CustomVjpOptions, VjpRule } from "./core/autodiff.ts";
export {
  backendNames,
  defaultBackend,
  getBackend,
  registerBackend,
  setBackend,
  withBackend,
} from "./core/devices.ts";
export type { BackendFactory } from "./core/devices.ts";
export type { DType, TypedArray } from "./core/dtype.ts";
export { BINARY_OPS, MOVEMENT_OPS, Node, REDUCE_OPS, UNARY_OPS } from "./core/ir.ts";
export type {
  BinaryOp,
  BufferRef,
  MovementOp,
  NoAttrs,
  Op,
  OpAttrs,
  ReduceOp,
  UnaryOp,
} from "./core/ir.ts";
export { formatGraph } from "./core/print.ts";
export type { ClampBound } from "./core/tensor.ts";
export type { ConvArgs } from "./core/contraction.ts";
export { einsum } from "./core/einsum.ts";
export type { Program, ProgramAttrs, ProgramNode, ProgramOp } from "./core/program.ts";
export type { Shape } from "./core/shape.ts";
export { manualSeed, realize, Tensor } from "./core/tensor.ts";
export type {
  AvgPool2dOptions,
  Conv2dOptions,
  CreateOptions,
  FromOptions,
  NestedArray,
  Pool2dOptions,
  RandomOptions,
  ReduceOptions,
  SliceSpec,
  VarOptions,
} from "./core/tensor.ts";
export {
  customVjp,
  grad,
  gradients,
  jvp,
  linearize,
  treeLeaves,
  treeUnflatten,
  valueAndGrad,
  vjp,
} from "./core/transforms.ts";
export type { GradOptions, TangentTree, Tree } from "./core/transforms.ts";
export { JVP_RULES, jvpNodes } from "./core/jvp.ts";
export type { JvpRule } from "./core/jvp.ts";
export { BATCH_RULES, vmap } from "./core/vmap.ts";
export type { AxisSpec, BatchRule, VmapOptions } from "./core/vmap.ts";
export { hessian, jacfwd, jacrev } from "./core/jacobian.ts";
export type { JacobianTree } from "./core/jacobian.ts";
