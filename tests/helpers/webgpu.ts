/**
 * Adapter detection for the WebGPU tests: they run where an adapter exists, are skipped with a
 * visible message where none does, and fail the run when `SYMGRAD_REQUIRE_WEBGPU=1` (CI).
 *
 * @module
 */

import { registerBackend, Tensor } from "../../mod.ts";
import { createWebGpuBackend } from "../../backends/webgpu/backend.ts";

/**
 * Mesa's Vulkan loader prints "XDG_RUNTIME_DIR is invalid or not set" for every device created
 * without one: give the test process a private one (mode 0700, as the XDG spec asks) before the
 * first adapter is requested. Without --allow-env or write access to /tmp, nothing changes.
 */
function ensureRuntimeDir(): void {
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR") === undefined) {
      const dir = Deno.makeTempDirSync({ prefix: "symgrad-xdg-" });
      Deno.env.set("XDG_RUNTIME_DIR", dir);
      globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    }
  } catch {
    // Not permitted: the warning stays, the tests still run.
  }
}
ensureRuntimeDir();

let variants: readonly string[] | undefined;

/**
 * The default WebGPU backend plus both kernel styles forced, so that a test covers the
 * cooperative (workgroup memory) and the serial renderings whatever the adapter. The forced
 * variants are registered on the first call only (tests that list every registered backend do
 * not see them unless they ask).
 */
export function webgpuBackends(): readonly string[] {
  if (variants !== undefined) return variants;
  for (const cooperative of [true, false]) {
    const name = cooperative ? "webgpu-cooperative" : "webgpu-serial";
    registerBackend(name, () => createWebGpuBackend({ name, cooperative }));
  }
  return variants = ["webgpu", "webgpu-cooperative", "webgpu-serial"];
}

let probe: Promise<boolean> | undefined;

function required(): boolean {
  try {
    return Deno.env.get("SYMGRAD_REQUIRE_WEBGPU") === "1";
  } catch {
    return false; // no --allow-env: nothing is required
  }
}

/**
 * Whether `gpu` yields an adapter. Without one it logs a visible skip message, or throws when
 * `required` (CI sets SYMGRAD_REQUIRE_WEBGPU=1 so that a broken adapter cannot pass silently).
 */
export async function detectWebGpu(gpu: GPU | undefined, required: boolean): Promise<boolean> {
  const adapter = gpu === undefined ? null : await gpu.requestAdapter();
  if (adapter !== null) return true;
  const why = gpu === undefined ? "navigator.gpu does not exist" : "requestAdapter() found none";
  if (required) {
    throw new Error(
      `WebGPU tests required (SYMGRAD_REQUIRE_WEBGPU=1) but no adapter is available: ${why}`,
    );
  }
  console.warn(`%cWebGPU tests skipped: no adapter (${why})`, "color: yellow");
  return false;
}

/** Whether a WebGPU adapter exists; logs the skip message or throws as described above. */
export function hasWebGpu(): Promise<boolean> {
  return probe ??= detectWebGpu(
    (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu,
    required(),
  );
}

/** A float32 tensor on `backend` holding a copy of `values` (a fresh leaf: no shared graph). */
export function leaf(values: ArrayLike<number>, shape: readonly number[], backend: string): Tensor {
  return Tensor.from(Float32Array.from(values), { shape: [...shape], backend });
}

/**
 * Builds `f` twice over fresh copies of the same input data, on `backend` and on the
 * interpreter, so that each computes the whole graph itself (hash-consing would otherwise share
 * realized nodes).
 */
export function onBoth<T>(
  inputs: readonly Tensor[],
  f: (...xs: Tensor[]) => T,
  backend = "webgpu",
): Promise<{ gpu: T; ref: T }> {
  return (async () => {
    const data = await Promise.all(inputs.map((t) => t.data()));
    const build = (backend: string) => f(...inputs.map((t, i) => leaf(data[i], t.shape, backend)));
    return { gpu: build(backend), ref: build("interpreter") };
  })();
}
