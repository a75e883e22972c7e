/**
 * The optimizer base: parameter groups by name, per-parameter state, lazy updates.
 *
 * An optimizer is bound to a module. `step(grads)` builds the updated parameters and state as
 * lazy tensors and stores them (the module's parameter fields are replaced); nothing is computed
 * until the state is realized, normally together with the loss by `trainStep`.
 *
 * Memory: once the new state is realized, {@link Optimizer.detachState} releases the state the
 * step replaced and the per-step scalars it made, so a training loop holds one generation of
 * optimizer state whenever the collector runs.
 *
 * @module
 */

import { gradients, realize, Tensor } from "../_deps.ts";
import type { Module } from "../module.ts";
import { DETACHED, REPLACED } from "../state_release.ts";

/** A group of parameters with its own hyperparameters (PyTorch's `param_groups`). */
export type ParamGroup<O> = Partial<O> & {
  /** Dotted parameter names, or a predicate on them. */
  params: readonly string[] | ((name: string) => boolean);
};

/** Gradients by dotted parameter name, as from {@link namedGradients}. */
export type NamedGradients = Readonly<Record<string, Tensor>> | ReadonlyMap<string, Tensor>;

/** Gradients of `loss` with respect to every parameter of `module`, by dotted name. */
export function namedGradients(loss: Tensor, module: Module): Record<string, Tensor> {
  const named = module.namedParameters();
  const grads = gradients(loss, named.map(([, t]) => t));
  return Object.fromEntries(named.map(([name], i) => [name, grads[i]]));
}

/** Per-parameter optimizer state: tensors by PyTorch's state names. */
export type ParamState = Record<string, Tensor>;

/** Shared machinery of the optimizers; subclasses give the update rule. */
export abstract class Optimizer<O extends object> {
  /** The module whose parameters are optimized. */
  readonly module: Module;
  /** Resolved groups: parameter names and full hyperparameters (defaults filled in). */
  readonly paramGroups: { names: string[]; options: O }[];
  /** Completed steps. */
  stepCount = 0;
  #state = new Map<string, ParamState>();
  // State replaced by `step` and the leaves its update rules made (zero moments, per-step
  // scalars), released once the new state is realized.
  #replaced: Tensor[] = [];

  /**
   * Binds to `module`. Each group claims parameters by name and overrides hyperparameters; the
   * remaining parameters form a last group with the defaults.
   */
  constructor(op: string, module: Module, defaults: O, groups: readonly ParamGroup<O>[] = []) {
    this.module = module;
    const all = module.namedParameters().map(([n]) => n);
    const claimed = new Set<string>();
    this.paramGroups = [];
    groups.forEach((g, i) => {
      const { params, ...overrides } = g;
      const names = typeof params === "function" ? all.filter(params) : [...params];
      for (const n of names) {
        if (!all.includes(n)) {
          throw new Error(`${op}: group ${i} names ${JSON.stringify(n)}, which is not a parameter`);
        }
        if (claimed.has(n)) {
          throw new Error(`${op}: parameter ${JSON.stringify(n)} is in more than one group`);
        }
        claimed.add(n);
      }
      this.paramGroups.push({ names, options: { ...defaults, ...definedOnly(overrides) } as O });
    });
    const rest = all.filter((n) => !claimed.has(n));
    if (rest.length > 0) this.paramGroups.push({ names: rest, options: { ...defaults } });
  }

  /** The state of parameter `name` (empty before its first step). */
  state(name: string): ParamState {
    return this.#state.get(name) ?? {};
  }

  /** One update rule application; returns the new parameter and state (lazy). */
  protected abstract update(
    param: Tensor,
    grad: Tensor,
    state: ParamState,
    options: O,
    step: number,
  ): { param: Tensor; state: ParamState };

  /**
   * Applies one update to every parameter with a gradient in `grads`; parameters and state are
   * replaced by lazy tensors.
   */
  step(grads: NamedGradients): void {
    const get = (n: string) =>
      grads instanceof Map ? grads.get(n) : (grads as Record<string, Tensor>)[n];
    const params = Object.fromEntries(this.module.namedParameters());
    this.stepCount++;
    for (const group of this.paramGroups) {
      for (const name of group.names) {
        const grad = get(name);
        if (grad === undefined) continue;
        const param = params[name];
        if (param === undefined) {
          throw new Error(`step: the module no longer has parameter ${JSON.stringify(name)}`);
        }
        const out = collectingStepLeaves(this.#replaced, () =>
          this.update(
            param,
            grad.cast(param.dtype),
            this.state(name),
            group.options,
            this.stepCount,
          ));
        this.module.setTensor(name, out.param);
        this.#replaced.push(...Object.values(this.state(name)));
        // Without a release, forget the oldest (the collector frees those).
        if (this.#replaced.length > 4096) this.#replaced.splice(0, this.#replaced.length - 4096);
        this.#state.set(name, out.state);
      }
    }
  }

  /** Every state tensor not yet realized. */
  pendingState(): Tensor[] {
    return [...this.#state.values()].flatMap((s) => Object.values(s)).filter((t) =>
      t.node.op !== "buffer"
    );
  }

  /**
   * Replaces realized state tensors by detached leaves, so graphs do not chain across steps.
   */
  detachState(): void {
    const handles: Tensor[] = [];
    for (const [name, s] of this.#state) {
      const next: ParamState = {};
      for (const [k, t] of Object.entries(s)) {
        if (t.node.op !== "buffer" && t.isRealized) {
          next[k] = t.detach();
          handles.push(t);
        } else next[k] = t;
      }
      this.#state.set(name, next);
    }
    // The lazy handles' references now live in the leaves.
    for (const t of handles) t.dispose(DETACHED);
  }

  /**
   * Disposes the state that steps replaced and their per-step scalars, once no state is
   * pending; using a tensor taken from {@link Optimizer.state} before a step then throws an
   * error saying so. {@link trainStep} calls it after realizing the whole step.
   */
  releaseReplacedState(): void {
    if (this.pendingState().length > 0) return;
    const current = new Set([...this.#state.values()].flatMap((s) => Object.values(s)));
    for (const t of this.#replaced) if (!current.has(t)) t.dispose(REPLACED);
    this.#replaced = [];
  }

  /** Realizes the pending state, then detaches it. */
  async commitState(): Promise<void> {
    await realize(...this.pendingState());
    this.detachState();
  }
}

/** `opts` without its `undefined` entries, so that spreading it keeps the defaults. */
export function definedOnly<T extends object>(opts: T): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Leaves made by scalarLike/zerosLike while an update rule runs: they belong to that step and
// are released with the state it replaced (unless they became state themselves).
let stepLeaves: Tensor[] | undefined;

function collectingStepLeaves<T>(into: Tensor[], update: () => T): T {
  const outer = stepLeaves;
  stepLeaves = into;
  try {
    return update();
  } finally {
    stepLeaves = outer;
  }
}

/**
 * Disposes `t` once the state of the step being built is realized by `trainStep` (unless it
 * became state): for leaves an update rule makes or replaces for one step, such as a cached
 * hyperparameter leaf whose value changed. Outside an update rule it does nothing.
 */
export function releaseWithStep(t: Tensor): void {
  stepLeaves?.push(t);
}

/**
 * A scalar leaf of `like`'s dtype and backend: per-step values that keep the graph's shape.
 * Made inside an update rule, it is released once the step's state is realized.
 */
export function scalarLike(value: number, like: Tensor): Tensor {
  const t = Tensor.from([value], { shape: [], dtype: like.dtype, backend: like.backend });
  releaseWithStep(t);
  return t;
}

/**
 * A zero leaf of `like`'s shape, dtype and backend: initial optimizer state. Made inside an
 * update rule, it is released once the step's state is realized.
 */
export function zerosLike(like: Tensor): Tensor {
  const t = Tensor.zeros(like.shape, { dtype: like.dtype, backend: like.backend });
  releaseWithStep(t);
  return t;
}
