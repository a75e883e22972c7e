/**
 * One training step as one lazy graph, realized once.
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
  return loss;
}
