/**
 * How many threads the CPU backend uses by default: `setCpuThreads(n)` if called, else the
 * `SYMGRAD_CPU_THREADS` environment variable (read only where env access is already granted),
 * else the machine's core count capped at {@link MAX_DEFAULT_THREADS}.
 *
 * @module
 */

/** The most threads chosen without being asked: kernels are short, more threads pay less. */
export const MAX_DEFAULT_THREADS = 4;

/** The environment variable that sets the default thread count. */
export const THREADS_ENV = "SYMGRAD_CPU_THREADS";

let chosen: number | undefined;

/** Throws unless `n` is a thread count (an integer from 1 to 64). */
export function checkThreads(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new RangeError(`${where}: threads must be an integer from 1 to 64, got ${n}`);
  }
  return n;
}

/**
 * Sets how many threads CPU backends created without a `threads` option use (1: everything on
 * the calling thread). `undefined` restores the default.
 *
 * @example One thread
 * ```ts
 * import { cpuThreads, setCpuThreads } from "@symgrad/symgrad";
 * setCpuThreads(1);
 * console.log(cpuThreads()); // 1
 * setCpuThreads(undefined);
 * ```
 */
export function setCpuThreads(n: number | undefined): void {
  chosen = n === undefined ? undefined : checkThreads(n, "setCpuThreads");
}

// The environment is read once: runs ask for the thread count every time.
let envRead = false;
let envThreads: number | undefined;

function fromEnv(): number | undefined {
  if (!envRead) {
    envThreads = readEnv();
    envRead = true;
  }
  return envThreads;
}

function readEnv(): number | undefined {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  if (deno === undefined) return undefined;
  if (deno.permissions.querySync({ name: "env", variable: THREADS_ENV }).state !== "granted") {
    return undefined;
  }
  const text = deno.env.get(THREADS_ENV);
  return text === undefined ? undefined : checkThreads(Number(text), `${THREADS_ENV}="${text}"`);
}

/** The thread count CPU backends without a `threads` option use now. */
export function cpuThreads(): number {
  if (chosen !== undefined) return chosen;
  const env = fromEnv();
  if (env !== undefined) return env;
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
    ?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(cores, MAX_DEFAULT_THREADS));
}
