/**
 * The backend registry and the default backend that new tensors are placed on.
 *
 * Core code never imports a backend: backends register a factory here by name, and the factory
 * runs on first use (a WebGPU backend needs an adapter, so factories may be async).
 *
 * @module
 */

import type { Backend } from "./backend.ts";

/** Creates a backend; may be async (a WebGPU backend waits for an adapter). */
export type BackendFactory = () => Backend | Promise<Backend>;

const factories = new Map<string, BackendFactory>();
const instances = new Map<string, Promise<Backend>>();
// Started backends, for synchronous readers (statistics): filled when a start resolves.
const started = new Map<string, Backend>();
let defaultName = "interpreter";

/** Registers a backend factory under `name`; the factory runs once, on first use. */
export function registerBackend(name: string, factory: BackendFactory): void {
  factories.set(name, factory);
  instances.delete(name);
  started.delete(name);
}

/** Names of the registered backends. */
export function backendNames(): string[] {
  return [...factories.keys()];
}

function requireRegistered(op: string, name: string): void {
  if (!factories.has(name)) {
    throw new Error(
      `${op}: unknown backend ${JSON.stringify(name)}; expected one of ${
        backendNames().map((n) => JSON.stringify(n)).join(", ")
      }`,
    );
  }
}

/** The backend registered as `name`, created on first use. */
export function getBackend(name: string): Promise<Backend> {
  requireRegistered("getBackend", name);
  let inst = instances.get(name);
  if (inst === undefined) {
    inst = Promise.resolve().then(factories.get(name)!);
    // A failed start (no adapter, say) is reported now and retried on the next use.
    inst.catch(() => instances.delete(name));
    const pending = inst;
    pending.then((b) => instances.get(name) === pending && started.set(name, b), () => {});
    instances.set(name, inst);
  }
  return inst;
}

/**
 * The backend registered as `name` if it has started (its factory resolved), else `undefined`;
 * throws for an unknown name. Never starts one.
 */
export function startedBackend(name: string): Backend | undefined {
  requireRegistered("backendStats", name);
  return started.get(name);
}

/** The name of the backend that new tensors are placed on. */
export function defaultBackend(): string {
  return defaultName;
}

/** Makes `name` the backend that new tensors are placed on. */
export function setBackend(name: string): void {
  requireRegistered("setBackend", name);
  defaultName = name;
}

/**
 * Runs `fn` with `name` as the default backend and restores the previous default afterwards
 * (also when `fn` throws or its promise rejects).
 */
export function withBackend<T>(name: string, fn: () => T): T {
  requireRegistered("withBackend", name);
  const previous = defaultName;
  defaultName = name;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    defaultName = previous;
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      defaultName = previous;
    }) as T;
  }
  defaultName = previous;
  return result;
}
