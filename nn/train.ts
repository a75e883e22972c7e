/**
 * One training step as one lazy graph, realized once.
 *
 * `trainStep` is shorthand for the steps below, which can also be written out, for instance
 * with `valueAndGrad` over the parameters by name (the forward pass reads the same tensors
 * from the module's fields, so the gradients are those of the module's parameters):
 *
 * @example A step written out with valueAndGrad
 * ```ts
 * import { realize, Tensor, valueAndGrad } from "@symgrad/symgrad";
 * import { BatchNorm1d, mseLoss, SGD } from "@symgrad/symgrad/nn";
 * const bn = new BatchNorm1d(2);
 * const opt = new SGD(bn, { lr: 0.1, momentum: 0.9 });
 * const x = Tensor.from([[1, 2], [3, 5], [0, 1]]), y = Tensor.zeros([3, 2]);
 * const params = Object.fromEntries(bn.namedParameters());
 * const [loss, grads] = valueAndGrad((_: typeof params) => mseLoss(bn.forward(x), y))(params);
 * opt.step(grads); // lazy new parameters and momentum buffers
 * await realize(loss, ...bn.pendingState(), ...opt.pendingState()); // one program
 * bn.detachState();
 * opt.detachState();
 * bn.releaseReplacedState(); // frees the state the step replaced now
 * opt.releaseReplacedState();
 * console.log(await loss.item(), await bn.num_batches_tracked!.item()); // ... 1
 * ```
 *
 * @module
 */

import { realize, type Tensor } from "./_deps.ts";
import type { Module } from "./module.ts";
import { namedGradients, type Optimizer } from "./optim/optimizer.ts";

/**
 * Runs `lossFn` (the forward pass, in training mode), differentiates the loss with respect to
 * every parameter, lets `optimizer` build the updates, and realizes the loss, the new
 * parameters, the running statistics and the optimizer state in one program. Afterwards every
 * state tensor is a detached leaf, so the next step builds a graph of the same structure (and
 * hits the compile cache). Returns the realized loss.
 *
 * Memory: the step donates the state it replaces. Once the new state is realized, the old
 * parameters, running statistics and optimizer state, and the leaves the update rules made for
 * the step (zero moments, per-step scalars), are disposed at once, so their buffers go back to
 * the backend's reuse pool and hold the next step's state: after the first step a step takes no
 * new memory and live buffers stay constant, without a collector. A tensor taken from the
 * module or the optimizer before the step is one of those and throws an error saying it was
 * released by a training step; to keep an old value, take another owner first
 * (`const keep = model.weight.to(model.weight.backend)`), which the step leaves alone.
 *
 * @example A few steps of linear regression
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { Linear, mseLoss, SGD, trainStep } from "@symgrad/symgrad/nn";
 * const model = new Linear(1, 1, { seed: 0 });
 * const opt = new SGD(model, { lr: 0.1 });
 * const x = Tensor.from([[0], [1], [2]]), y = Tensor.from([[1], [3], [5]]);
 * for (let i = 0; i < 3; i++) {
 *   const loss = await trainStep(model, opt, () => mseLoss(model.forward(x), y));
 *   console.log(await loss.item());
 * }
 * ```
 */
export async function trainStep<O extends object>(
  model: Module,
  optimizer: Optimizer<O>,
  lossFn: () => Tensor,
): Promise<Tensor> {
  const loss = lossFn();
  if (loss.size !== 1) {
    throw new Error(
      `trainStep: the loss has shape [${loss.shape.join(", ")}]; expected one element`,
    );
  }
  optimizer.step(namedGradients(loss, model));
  await realize(loss, ...model.pendingState(), ...optimizer.pendingState());
  model.detachState();
  optimizer.detachState();
  // Nothing reads the replaced state any more: its buffers go back to the backend now.
  model.releaseReplacedState();
  optimizer.releaseReplacedState();
  return loss;
}
