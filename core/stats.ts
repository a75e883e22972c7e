/**
 * Backend statistics for tests and users: kernels compiled and run, live buffers and bytes.
 *
 * @example Check that a chain of elementwise ops runs as one kernel
 * ```ts
 * import { backendStats, Tensor } from "@symgrad/symgrad";
 * const before = await backendStats();
 * await Tensor.rand([8]).exp().mul(2).add(1).data();
 * const after = await backendStats();
 * console.log(after.kernelsRun - before.kernelsRun);
 * ```
 *
 * @module
 */

import type { BackendStats } from "./backend.ts";
import { defaultBackend, getBackend } from "./devices.ts";

/** A snapshot of the counters of the backend named `name` (default: the default backend). */
export async function backendStats(name: string = defaultBackend()): Promise<BackendStats> {
  return { ...(await getBackend(name)).stats };
}
