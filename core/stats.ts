/**
 * Backend statistics for tests and users: kernels compiled and run, queue submissions, live
 * buffers and bytes.
 *
 * @example Check that a chain of elementwise ops runs as one kernel
 * ```ts
 * import { backendStats, Tensor } from "@symgrad/symgrad";
 * const before = backendStats();
 * await Tensor.rand([8]).exp().mul(2).add(1).data();
 * console.log(backendStats().kernelsRun - before.kernelsRun); // 1
 * ```
 *
 * @module
 */

import { type BackendStats, emptyStats } from "./backend.ts";
import { defaultBackend, startedBackend } from "./devices.ts";

/**
 * A snapshot (a copy, not live) of the counters of the backend named `name` (default: the
 * default backend). Synchronous: a backend that has not started yet (WebGPU starts on first use)
 * has compiled and run nothing and holds no buffers, so it reports zeros; asking never starts
 * it. Throws for a name no backend is registered under. (`await backendStats()` also works.)
 */
export function backendStats(name: string = defaultBackend()): BackendStats {
  const backend = startedBackend(name);
  if (backend === undefined) {
    return emptyStats();
  }
  return { ...backend.stats };
}
