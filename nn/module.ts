/**
 * The `Module` base class: parameters, buffers and child modules discovered from fields.
 *
 * A module holds immutable tensors in ordinary fields. A field holding a `Tensor` is a
 * parameter unless the constructor declared it a buffer with {@link Module.registerBuffer}; a
 * field holding a `Module` (or an array of modules) is a child. Fields set to `null` are absent
 * slots (PyTorch's `register_parameter(name, None)`). Private `#fields` are never discovered.
 *
 * Nothing is mutated in place: an optimizer update or a running-statistics update replaces the
 * field with a new lazy tensor. {@link Module.commitState} realizes nothing by itself; it swaps
 * every realized state tensor for a detached leaf over the same storage, so graphs do not chain
 * across training steps.
 *
 * Memory: a module owns its state tensors. When an update replaces one (a training step, or
 * {@link Module.releaseReplacedState} after {@link Module.commitState}; and
 * {@link Module.loadStateDict}), the module disposes the tensor it replaced, so its buffer
 * returns to the backend at once rather than when a collector runs. A tensor read from a field
 * before the step (`const w = model.weight`) is that same tensor and throws a clear error when
 * used afterwards; another owner of the data (`w.to(w.backend)`, or the source of a
 * `loadStateDict`) keeps it alive and valid.
 *
 * @example A module with one parameter and one buffer
 * ```ts
 * import { Module } from "./module.ts";
 * import { Tensor } from "../mod.ts";
 * class Scale extends Module {
 *   weight = Tensor.ones([3]);
 *   calls = Tensor.zeros([]);
 *   constructor() {
 *     super();
 *     this.registerBuffer("calls");
 *   }
 *   forward(x: Tensor): Tensor {
 *     if (this.training) this.calls = this.calls.add(1);
 *     return x.mul(this.weight);
 *   }
 * }
 * const m = new Scale();
 * console.log(m.namedParameters().map(([n]) => n)); // ["weight"]
 * console.log(Object.keys(m.stateDict())); // ["weight", "calls"]
 * ```
 *
 * @module
 */

import { fmtShape, realize, Tensor } from "./_deps.ts";
import { DETACHED, REPLACED } from "./state_release.ts";

// Replaced state kept for releaseReplacedState at most (a loop that never calls it must not grow).
const MAX_KEPT = 4096;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the record's keys to match the module's state exactly (default `true`). */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} found besides the loaded keys (with `strict: false`). */
export interface LoadStateDictResult {
  /** State names of the module that the record lacks. */
  missingKeys: string[];
  /** Record keys that name no state of the module. */
  unexpectedKeys: string[];
}

/** A neural-network layer or model: tensors and child modules held in fields. */
export abstract class Module {
  /** Training mode (the default) or evaluation mode; see {@link Module.train}. */
  training = true;
  #buffers = new Set<string>();
  // The realized state leaf each field held when last committed (or first seen): the tensor a
  // committed update of the field replaces, and so releases.
  #committed = new Map<string, Tensor>();
  #replaced: Tensor[] = [];

  /** The computation. Train-mode updates of buffers replace the buffer fields lazily. */
  abstract forward(x: Tensor): Tensor;

  /** Declares the tensor field `name` a buffer (saved in the state, never trained). */
  protected registerBuffer(...names: string[]): void {
    for (const name of names) this.#buffers.add(name);
  }

  /** Whether the field `name` was declared a buffer. */
  isBuffer(name: string): boolean {
    return this.#buffers.has(name);
  }

  /** Own fields in declaration order, classified. */
  #fields(): { name: string; kind: "param" | "buffer" | "child"; value: Tensor | Module }[] {
    const out: { name: string; kind: "param" | "buffer" | "child"; value: Tensor | Module }[] = [];
    for (const [name, value] of Object.entries(this)) {
      if (value instanceof Tensor) {
        if (value.node.op === "buffer") this.#committed.set(name, value);
        out.push({ name, kind: this.#buffers.has(name) ? "buffer" : "param", value });
      } else if (value instanceof Module) {
        out.push({ name, kind: "child", value });
      } else if (
        Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Module)
      ) {
        value.forEach((v, i) => out.push({ name: `${name}.${i}`, kind: "child", value: v }));
      }
    }
    return out;
  }

  /** Direct children as `[name, module]` pairs (array fields give `name.i`). */
  namedChildren(): [string, Module][] {
    return this.#fields().filter((f) => f.kind === "child").map((f) => [f.name, f.value as Module]);
  }

  /** This module and every descendant as `[dottedName, module]`; this module's name is `""`. */
  namedModules(prefix = ""): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) {
      out.push(...child.namedModules(prefix === "" ? name : `${prefix}.${name}`));
    }
    return out;
  }

  #namedTensors(kind: "param" | "buffer"): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const f of m.#fields()) {
        if (f.kind === kind) {
          out.push([prefix === "" ? f.name : `${prefix}.${f.name}`, f.value as Tensor]);
        }
      }
    }
    return out;
  }

  /** Parameters as `[dottedName, tensor]`, PyTorch order: own fields first, then children. */
  namedParameters(): [string, Tensor][] {
    return this.#namedTensors("param");
  }

  /** The parameter tensors, in the order of {@link Module.namedParameters}. */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * The number of parameter elements (each tensor counted once, even when shared by two layers),
   * like `sum(p.numel() for p in m.parameters())`.
   *
   * @example
   * ```ts
   * import { Linear } from "@symgrad/symgrad/nn";
   * console.log(new Linear(4, 3).parameterCount()); // 15
   * ```
   */
  parameterCount(): number {
    return [...new Set(this.parameters())].reduce((n, t) => n + t.size, 0);
  }

  /**
   * A text table of the layers (like torchinfo's or Keras' `summary`): dotted name (indented by
   * depth), type, output shape and the layer's own parameter count (children have rows of their
   * own, so the column sums to the total), then the totals. With an `input` (a tensor, or a shape
   * for a float32 zero tensor on the parameters' backend), output shapes come from one lazy forward
   * call in evaluation mode: nothing is computed, and the module's mode and state are restored.
   * Shapes of layers the forward call does not reach, or without `input`, show as `-`.
   *
   * @example
   * ```ts
   * import { Linear, ReLU, Sequential } from "@symgrad/symgrad/nn";
   * const net = new Sequential(new Linear(4, 8), new ReLU(), new Linear(8, 2));
   * console.log(net.summary([5, 4]));
   * // Layer (type)          Output shape   Params
   * // ...
   * // Total params: 58
   * ```
   */
  summary(input?: Tensor | readonly number[]): string {
    const modules = this.namedModules();
    const shapes = input === undefined ? new Map<Module, readonly number[]>() : this.#traceShapes(
      input,
    );
    const rows = modules.map(([name, m]) => {
      const depth = name === "" ? 0 : name.split(".").length;
      const own = m.#fields().filter((f) => f.kind === "param")
        .reduce((n, f) => n + (f.value as Tensor).size, 0);
      const shape = shapes.get(m);
      return [
        `${"  ".repeat(depth)}${name === "" ? "(root)" : name} (${m.constructor.name})`,
        shape === undefined ? "-" : fmtShape(shape),
        own.toLocaleString("en-US"),
      ];
    });
    const header = ["Layer (type)", "Output shape", "Params"];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (r: string[]) =>
      r.map((v, c) => c === 2 ? v.padStart(widths[c]) : v.padEnd(widths[c])).join("   ").trimEnd();
    const rule = "=".repeat(widths.reduce((a, b) => a + b, 0) + 6);
    const bufferElems = [...new Set(this.buffers())].reduce((n, t) => n + t.size, 0);
    return [
      line(header),
      rule,
      ...rows.map(line),
      rule,
      `Total params: ${this.parameterCount().toLocaleString("en-US")}`,
      `Buffers (not trained): ${bufferElems.toLocaleString("en-US")} elements`,
    ].join("\n");
  }

  /** Output shape of every module that a lazy eval-mode forward call on `input` reaches. */
  #traceShapes(input: Tensor | readonly number[]): Map<Module, readonly number[]> {
    const x = input instanceof Tensor
      ? input
      : Tensor.zeros(input, { backend: this.parameters()[0]?.backend });
    const shapes = new Map<Module, readonly number[]>();
    const modules = this.namedModules().map(([, m]) => m);
    const modes = modules.map((m) => m.training);
    const state = this.stateDict();
    const wrapped: Module[] = [];
    try {
      this.eval();
      for (const m of modules) {
        const forward = m.forward;
        Object.defineProperty(m, "forward", {
          configurable: true,
          value: (t: Tensor) => {
            const y = forward.call(m, t);
            shapes.set(m, y.shape);
            return y;
          },
        });
        wrapped.push(m);
      }
      this.forward(x);
    } finally {
      for (const m of wrapped) delete (m as { forward?: unknown }).forward;
      modules.forEach((m, i) => (m.training = modes[i]));
      for (const [k, t] of Object.entries(state)) this.setTensor(k, t);
    }
    return shapes;
  }

  /** Buffers (running statistics and counters) as `[dottedName, tensor]`. */
  namedBuffers(): [string, Tensor][] {
    return this.#namedTensors("buffer");
  }

  /** The buffer tensors, in the order of {@link Module.namedBuffers}. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /**
   * All state by dotted name, PyTorch's `state_dict()` order: per module its parameters, then its
   * buffers, then its children.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const own = m.#fields().filter((f) => f.kind !== "child");
      const ordered = [
        ...own.filter((f) => f.kind === "param"),
        ...own.filter((f) => f.kind === "buffer"),
      ];
      for (const f of ordered) {
        out[prefix === "" ? f.name : `${prefix}.${f.name}`] = f.value as Tensor;
      }
    }
    return out;
  }

  /** Switches this module and its descendants to training (`true`) or evaluation mode. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Switches to evaluation mode: running statistics are used, dropout is off. */
  eval(): this {
    return this.train(false);
  }

  /** The module at a dotted path (`""` is this module). */
  getSubmodule(path: string): Module {
    if (path === "") return this;
    const found = this.namedModules().find(([name]) => name === path);
    if (found === undefined) {
      throw new Error(
        `getSubmodule: ${this.constructor.name} has no submodule ${JSON.stringify(path)}`,
      );
    }
    return found[1];
  }

  /** Replaces the state tensor at dotted `name` (a parameter or buffer that exists). */
  setTensor(name: string, value: Tensor): void {
    const dot = name.lastIndexOf(".");
    const owner = this.getSubmodule(dot < 0 ? "" : name.slice(0, dot));
    const field = name.slice(dot + 1);
    if (
      !(Object.hasOwn(owner, field) &&
        (owner as unknown as Record<string, unknown>)[field] instanceof Tensor)
    ) {
      throw new Error(
        `setTensor: ${this.constructor.name} has no tensor state ${JSON.stringify(name)}`,
      );
    }
    (owner as unknown as Record<string, unknown>)[field] = value;
  }

  /**
   * Loads tensors by dotted name. Everything is validated before anything changes: with `strict`
   * (the default) missing and unexpected keys throw; a shape mismatch always throws. Values are
   * cast to the dtype of the tensor they replace and placed on its backend.
   */
  loadStateDict(
    record: Readonly<Record<string, Tensor>>,
    opts: LoadStateDictOptions = {},
  ): LoadStateDictResult {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !Object.hasOwn(record, k));
    const unexpectedKeys = Object.keys(record).filter((k) => !Object.hasOwn(own, k));
    const problems: string[] = [];
    if (strict && missingKeys.length > 0) {
      problems.push(`missing key(s): ${missingKeys.map((k) => JSON.stringify(k)).join(", ")}`);
    }
    if (strict && unexpectedKeys.length > 0) {
      problems.push(
        `unexpected key(s): ${unexpectedKeys.map((k) => JSON.stringify(k)).join(", ")}`,
      );
    }
    for (const [k, t] of Object.entries(record)) {
      if (!Object.hasOwn(own, k)) continue;
      if (!(t instanceof Tensor)) {
        problems.push(`${JSON.stringify(k)} is not a Tensor`);
      } else if (t.shape.join(",") !== own[k].shape.join(",")) {
        problems.push(
          `size mismatch for ${JSON.stringify(k)}: got ${fmtShape(t.shape)}, the module has ${
            fmtShape(own[k].shape)
          }`,
        );
      }
    }
    if (problems.length > 0) {
      throw new Error(
        `loadStateDict: cannot load into ${this.constructor.name} (nothing was changed): ${
          problems.join("; ")
        }`,
      );
    }
    for (const [k, t] of Object.entries(record)) {
      if (!Object.hasOwn(own, k)) continue;
      const target = own[k];
      // `to` makes a tensor of the module's own, holding its own reference on the data.
      this.setTensor(k, t.cast(target.dtype).to(target.backend));
    }
    this.#releaseUnheld(Object.values(own), REPLACED);
    return { missingKeys, unexpectedKeys };
  }

  /** Every state tensor that is not a realized leaf yet (pending lazy updates). */
  pendingState(): Tensor[] {
    return Object.values(this.stateDict()).filter((t) => t.node.op !== "buffer");
  }

  /**
   * Computes all pending state updates in one program, then swaps each state tensor for a
   * detached leaf over its storage. {@link trainStep} does this together with the loss and the
   * optimizer state.
   */
  async commitState(): Promise<void> {
    await realize(...this.pendingState());
    this.detachState();
  }

  /**
   * Replaces every realized state tensor by a detached leaf over the same storage. The lazy
   * tensors themselves are disposed: their data lives on in the leaves. The state leaves those
   * updates replaced are kept for {@link Module.releaseReplacedState}, since pending updates
   * elsewhere (an optimizer's) may still read them.
   */
  detachState(): void {
    const handles: Tensor[] = [];
    const replaced: Tensor[] = [];
    for (const [, m] of this.namedModules()) {
      const fields = m as unknown as Record<string, Tensor>;
      for (const f of m.#fields()) {
        const t = f.value;
        if (!(t instanceof Tensor) || t.node.op === "buffer" || !t.isRealized) continue;
        const leaf = t.detach();
        fields[f.name] = leaf;
        const prev = m.#committed.get(f.name);
        if (prev !== undefined && prev !== leaf) replaced.push(prev);
        m.#committed.set(f.name, leaf);
        handles.push(t);
      }
    }
    this.#releaseUnheld(handles, DETACHED);
    this.#replaced.push(...replaced);
    // Without a release (commitState loops), forget the oldest: the collector frees those.
    if (this.#replaced.length > MAX_KEPT) {
      this.#replaced.splice(0, this.#replaced.length - MAX_KEPT);
    }
  }

  /**
   * Disposes the state leaves that committed updates replaced (unless the module still holds
   * them), so their buffers return to the backend now. Call it once nothing pending reads the
   * old state any more: {@link trainStep} does after realizing the whole step.
   */
  releaseReplacedState(): void {
    const replaced = this.#replaced;
    this.#replaced = [];
    this.#releaseUnheld(replaced, REPLACED);
  }

  /** Disposes each of `tensors` that is no longer a state tensor of this module. */
  #releaseUnheld(tensors: readonly Tensor[], reason: string): void {
    if (tensors.length === 0) return;
    const held = new Set(Object.values(this.stateDict()));
    for (const t of tensors) if (!held.has(t)) t.dispose(reason);
  }
}
