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

/** Forgets the realized data of `n` and frees it now (leaves are freed too). */
export function disposeNode(n: Node): void {
  storageOf(n)?.dispose();
  realized.delete(n);
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
}
