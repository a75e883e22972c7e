/**
 * Realization: runs the graphs of requested nodes on a backend and remembers their storage.
 *
 * All requested nodes of one backend are lowered into one program, so shared subgraphs run
 * once. Compiled programs are cached by structure (per backend), so rebuilding the same graph
 * over new data compiles nothing.
 *
 * @module
 */

import type { Backend, Executable } from "./backend.ts";
import { getBackend } from "./devices.ts";
import type { Node, OpAttrs } from "./ir.ts";
import { lower } from "./program.ts";
import { Storage } from "./storage.ts";

const realized = new WeakMap<Node, Storage>();
const compiled = new WeakMap<Backend, Map<string, Executable<unknown>>>();

/** Whether `n` has data: a buffer leaf or a node realized earlier. */
export function isRealized(n: Node): boolean {
  return n.op === "buffer" || realized.has(n);
}

/** The storage of a realized node, or `undefined`. */
export function storageOf(n: Node): Storage | undefined {
  return n.op === "buffer" ? (n.attrs as OpAttrs["buffer"]).ref as Storage : realized.get(n);
}

/**
 * Makes `owner` an owner of the data of `n` (one reference) and returns that storage, or
 * `undefined` when `n` has no live data yet.
 */
export function ownStorage(n: Node, owner: object): Storage | undefined {
  const s = storageOf(n);
  if (s === undefined || s.disposed) return undefined;
  s.retain(owner);
  return s;
}

/**
 * Drops the reference `owner` holds on the data of `n`; the last reference frees it now, and a
 * computed (non-leaf) node then forgets its data, so another tensor of the same graph computes
 * it again instead of reading freed memory.
 */
export function releaseStorage(n: Node, owner: object, reason?: string): void {
  const s = storageOf(n);
  if (s === undefined || !s.release(owner, reason)) return;
  if (n.op !== "buffer" && realized.get(n) === s) realized.delete(n);
}

/** Returns the cached executable for `program` on `backend`, compiling it on a miss. */
function compileCached(
  backend: Backend,
  key: string,
  compile: () => Executable<unknown>,
) {
  let cache = compiled.get(backend);
  if (cache === undefined) compiled.set(backend, cache = new Map());
  let exe = cache.get(key);
  if (exe === undefined) cache.set(key, exe = compile());
  return exe;
}

// V8 keeps every object a WeakRef was made or dereferenced for alive until the running job
// ends, and runs collector callbacks only as tasks. Graph nodes hold no such references (see
// core/ir.ts), but constants and storage finalizers do, and a loop that only awaits
// realizations never ends its job: realization yields to the task queue once per this many new
// graph nodes (a step of a small model builds about that many).
const YIELD_EVERY_NODES = 1 << 10;
let lastYieldNode = 0;

async function yieldNowAndThen(nodes: readonly Node[]): Promise<void> {
  let newest = 0;
  for (const n of nodes) newest = Math.max(newest, n.id);
  if (newest - lastYieldNode < YIELD_EVERY_NODES) return;
  lastYieldNode = newest;
  // A message is a task without the clamping of nested timers (about 0.1 ms, not 2-4 ms).
  await new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(0);
  });
}

/** Computes every node of `nodes` on the backend named `backendName`. */
export async function realizeNodes(
  backendName: string,
  nodes: readonly Node[],
): Promise<void> {
  const backend = await getBackend(backendName);
  const targets = [...new Set(nodes)].filter((n) => !isRealized(n));
  if (targets.length === 0) {
    // Already realized: make sure the data is (or can be made) present on this backend.
    await Promise.all(nodes.map((n) => storageOf(n)!.bufferOn(backend)));
    return;
  }
  const { program, leaves } = lower(targets, isRealized);
  const exe = compileCached(
    backend,
    program.key,
    () => backend.compile(program),
  );
  const inputs = await Promise.all(
    leaves.map((leaf) => storageOf(leaf)!.bufferOn(backend)),
  );
  const outputs = targets.map((n) => Storage.alloc(backend, n.dtype, n.size));
  try {
    await exe.run(inputs, outputs.map((s) => s.existingBuffer(backend)));
  } catch (e) {
    for (const s of outputs) s.dispose();
    throw e;
  }
  targets.forEach((n, i) => realized.set(n, outputs[i]));
  await yieldNowAndThen(targets);
}
