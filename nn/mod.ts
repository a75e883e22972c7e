/**
 * symgrad/nn: modules, normalization layers (with `RepresentativeBatchNorm2d`), layers,
 * losses, optimizers and safetensors weight files, all on lazy tensors.
 *
 * A module holds tensors in fields; a training step (forward, loss, gradients, optimizer update,
 * running statistics) is one lazy graph, realized once by {@link trainStep}.
 *
 * @example Train a small network for one step
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import {
 *   AdamW, Conv2d, crossEntropy, Flatten, Linear, RepresentativeBatchNorm2d, ReLU, Sequential,
 *   trainStep,
 * } from "@symgrad/symgrad/nn";
 * const net = new Sequential(
 *   new Conv2d(1, 2, 3, { padding: 1, seed: 0 }),
 *   new RepresentativeBatchNorm2d(2),
 *   new ReLU(),
 *   new Flatten(),
 *   new Linear(2 * 4 * 4, 3, { seed: 2 }),
 * );
 * const opt = new AdamW(net, { lr: 1e-3 });
 * const x = Tensor.randn([4, 1, 4, 4], { seed: 5 });
 * const labels = Tensor.from([0, 1, 2, 1]);
 * const loss = await trainStep(net, opt, () => crossEntropy(net.forward(x), labels));
 * console.log(await loss.item());
 * ```
 *
 * @module
 */

export { Module } from "./module.ts";
export type { LoadStateDictOptions, LoadStateDictResult } from "./module.ts";
export { BatchNorm1d, BatchNorm2d, BatchNormBase, BatchNormNd } from "./batchnorm.ts";
export type { BatchNormOptions } from "./batchnorm.ts";
export { RepresentativeBatchNorm2d } from "./rbn.ts";
export { InstanceEnhancementBatchNorm2d } from "./iebn.ts";
export { GroupNorm } from "./groupnorm.ts";
export type { GroupNormOptions } from "./groupnorm.ts";
export { LayerNorm } from "./layernorm.ts";
export type { LayerNormOptions } from "./layernorm.ts";
export { InstanceNorm2d } from "./instancenorm.ts";
export { Linear } from "./linear.ts";
export type { LinearOptions } from "./linear.ts";
export { Conv2d } from "./conv.ts";
export type { Conv2dOptions, Pair } from "./conv.ts";
export { ReLU } from "./activation.ts";
export { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "./pooling.ts";
export type { AvgPoolOptions, PoolOptions } from "./pooling.ts";
export { Dropout } from "./dropout.ts";
export { Flatten } from "./flatten.ts";
export { Sequential } from "./sequential.ts";
export { kaimingUniform, uniform } from "./init.ts";
export type { InitOptions, Placement } from "./init.ts";
export { crossEntropy, mseLoss } from "./losses.ts";
export type { CrossEntropyOptions, MseLossOptions, Reduction } from "./losses.ts";
export * from "./functional/mod.ts";
export { namedGradients, Optimizer } from "./optim/optimizer.ts";
export type { NamedGradients, ParamGroup, ParamState } from "./optim/optimizer.ts";
export { SGD } from "./optim/sgd.ts";
export type { SGDOptions } from "./optim/sgd.ts";
export { Adam, AdamW } from "./optim/adam.ts";
export type { AdamOptions } from "./optim/adam.ts";
export { trainStep } from "./train.ts";
export { DataLoader } from "./data_loader.ts";
export type { DataLoaderOptions } from "./data_loader.ts";
export {
  CosineAnnealingLR,
  ExponentialLR,
  LinearLR,
  LRScheduler,
  MultiStepLR,
  OneCycleLR,
  SequentialLR,
  StepLR,
} from "./optim/lr_scheduler.ts";
export type {
  CosineAnnealingLROptions,
  ExponentialLROptions,
  LinearLROptions,
  MultiStepLROptions,
  OneCycleLROptions,
  SchedulableOptimizer,
  SequentialLROptions,
  StepLROptions,
} from "./optim/lr_scheduler.ts";
export { load, loadWeights, metadataOf, save } from "./io/safetensors.ts";
export type { LoadOptions, SaveOptions } from "./io/safetensors.ts";
