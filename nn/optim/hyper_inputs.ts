/**
 * Hyperparameters as program inputs.
 *
 * A number written into a graph (`t.mul(0.1)`) is a constant of the compiled program, so a new
 * value compiles a new program. The optimizers instead read every hyperparameter (learning
 * rate, momentum, betas, eps, weight decay, bias corrections) from a scalar leaf: a leaf's data
 * is a program input, so changing a value between steps (by hand or by a learning-rate
 * schedule) reuses the compiled kernels. Whether a value is zero can still change the graph's
 * structure (SGD without momentum has no momentum buffer), and so does a switch such as
 * `nesterov` or `amsgrad`.
 *
 * @module
 */

import { Tensor } from "../_deps.ts";
import { releaseWithStep } from "./optimizer.ts";

/**
 * Scalar leaves for the hyperparameters of one optimizer, by group, name, dtype and backend.
 * A leaf is reused while its value is unchanged, so constant hyperparameters allocate nothing
 * per step; a changed value gets a fresh leaf (the previous one may still feed a lazy graph).
 */
export class HyperInputs {
  #leaves = new WeakMap<object, Map<string, { value: number; tensor: Tensor }>>();

  /** The scalar leaf holding `value` for hyperparameter `name` of `group`, typed as `like`. */
  get(group: object, name: string, value: number, like: Tensor): Tensor {
    let leaves = this.#leaves.get(group);
    if (leaves === undefined) this.#leaves.set(group, leaves = new Map());
    const key = `${name}|${like.dtype}|${like.backend}`;
    const held = leaves.get(key);
    if (held !== undefined && Object.is(held.value, value)) return held.tensor;
    // The replaced leaf may still feed this step's graph: it is freed once the step is realized.
    if (held !== undefined) releaseWithStep(held.tensor);
    const tensor = Tensor.full([], value, { dtype: like.dtype, backend: like.backend });
    leaves.set(key, { value, tensor });
    return tensor;
  }
}
