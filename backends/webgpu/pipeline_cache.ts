/**
 * Compute pipelines cached by WGSL source: equal kernels of different programs compile once.
 *
 * @module
 */

/** A cached pipeline and the outcome of its validation (resolved once the device checked it). */
export interface CachedPipeline {
  /** The pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** Resolves to an error message if the shader or pipeline was invalid, else `undefined`. */
  readonly validation: Promise<string | undefined>;
}

/** Pipelines of one device keyed by their WGSL source. */
export class PipelineCache {
  readonly #device: GPUDevice;
  readonly #cache = new Map<string, CachedPipeline>();

  /** A cache for `device`. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of distinct pipelines compiled. */
  get size(): number {
    return this.#cache.size;
  }

  /** The pipeline for `source`, compiling it on a miss (`onCompile` is called then). */
  get(source: string, label: string, onCompile: () => void): CachedPipeline {
    const hit = this.#cache.get(source);
    if (hit !== undefined) return hit;
    onCompile();
    const device = this.#device;
    device.pushErrorScope("validation");
    const module = device.createShaderModule({ label, code: source });
    const pipeline = device.createComputePipeline({
      label,
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const validation = device.popErrorScope().then((e) =>
      e === null ? undefined : `webgpu: kernel ${label} failed to compile: ${e.message}\n${source}`
    );
    const entry = { pipeline, validation };
    this.#cache.set(source, entry);
    return entry;
  }
}
