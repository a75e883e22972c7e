/// <reference types="@webgpu/types" />
/**
 * The WebGPU backend: buffers on a GPU device, programs compiled to WGSL compute kernels.
 *
 * A run encodes every kernel of the program into one compute pass and one queue submission;
 * intermediates come from a buffer pool and go back to it as soon as their last reader is
 * encoded. Reading data back is asynchronous (`await t.data()`). After the device is lost,
 * every operation throws an error that says so, rather than returning stale data.
 *
 * @example Running on WebGPU where an adapter exists
 * ```ts
 * import { getBackend, Tensor } from "@symgrad/symgrad";
 * const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
 * if (gpu !== undefined && (await gpu.requestAdapter()) !== null) {
 *   const x = Tensor.from([1, 2, 3], { backend: "webgpu" });
 *   console.log(await x.mul(2).sum().data()); // Float32Array [12]
 *   console.log((await getBackend("webgpu")).stats.submissions > 0); // true
 * }
 * ```
 *
 * @module
 */

import { allocArray, type DType, type TypedArray } from "../../core/dtype.ts";
import type { Program } from "../../core/program.ts";
import { type Schedule, schedule } from "../../core/schedule.ts";
import {
  type Backend,
  type BackendStats,
  emptyStats,
  type Executable,
} from "../../core/backend.ts";
import { BufferPool, sizeClass, USAGE } from "./buffer_pool.ts";
import { type AcquiredDevice, acquireDevice, type DeviceLimits } from "./device.ts";
import type { Binding, RenderedKernel, ScratchBuffer } from "./kernel.ts";
import { checkBufferBytes, checkScheduleExtents, webgpuLimits } from "../extent_limits.ts";
import { type CachedPipeline, PipelineCache } from "./pipeline_cache.ts";
import { renderKernel, type RenderOptions } from "./render_kernel.ts";
import { storageType } from "./wgsl.ts";

/** Idle pooled buffers kept at most (bytes). */
const MAX_POOLED_BYTES = 512 * 1024 * 1024;

/** A tensor's buffer on the device. */
export class WebGpuBuffer {
  /** The device buffer (its size is a size class, at least `4 · size` bytes). */
  readonly gpu: GPUBuffer;
  /** Element dtype (`bool` is stored as one `u32` per element). */
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Size of `gpu` in bytes. */
  readonly bytes: number;
  /** Whether the contents are stale pool data that logically reads as zeros. */
  dirty: boolean;
  /** Whether the buffer went back to the pool. */
  freed = false;

  /** Wraps a device buffer; use {@link WebGpuBackend.alloc}. */
  constructor(gpu: GPUBuffer, dtype: DType, size: number, bytes: number, dirty: boolean) {
    this.gpu = gpu;
    this.dtype = dtype;
    this.size = size;
    this.bytes = bytes;
    this.dirty = dirty;
  }
}

/** A kernel ready to encode: pipeline, layout and dispatch grid. */
interface PreparedKernel {
  readonly kernel: RenderedKernel;
  readonly cached: CachedPipeline;
  readonly layout: GPUBindGroupLayout;
  readonly grid: readonly [number, number];
  /** Intermediate values and scratch buffers whose last reader this kernel is. */
  readonly release: readonly string[];
  /** Copies that fill packed inputs right before this kernel. */
  readonly copies: readonly { from: string; to: string; offset: number; bytes: number }[];
}

function bindingKey(b: Binding): string {
  return b.kind === "buffer" ? `b${b.buffer}` : `s${b.id}`;
}

function keyBinding(key: string): Binding {
  const n = Number(key.slice(1));
  return key[0] === "b" ? { kind: "buffer", buffer: n } : { kind: "scratch", id: n };
}

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuOptions {
  /** Registry name (default `"webgpu"`). */
  readonly name?: string;
  /**
   * Let the lanes of a workgroup cooperate on rows and reductions through workgroup memory
   * (default: on for hardware adapters, off for CPU adapters such as llvmpipe, where serial
   * loops per invocation are faster and workgroup barriers are expensive).
   */
  readonly cooperative?: boolean;
  /**
   * Bind at most this many storage buffers per kernel (default: the device's
   * `maxStorageBuffersPerShaderStage`); kernels reading more pack small inputs into one buffer.
   */
  readonly maxStorageBuffers?: number;
}

/** Creates the backend on the first adapter found; throws a clear error if there is none. */
export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<WebGpuBackend> {
  return new WebGpuBackend(await acquireDevice(), opts);
}

/** The WebGPU backend. Create it with {@link createWebGpuBackend}. */
export class WebGpuBackend implements Backend<WebGpuBuffer> {
  /** Backend name. */
  readonly name: string;
  /** Live counters (`submissions` counts every queue submission, readbacks included). */
  readonly stats: BackendStats = emptyStats();
  /** The device (tests destroy it to check device-loss handling). */
  readonly device: GPUDevice;
  /** The limits work is checked against. */
  readonly limits: DeviceLimits;
  /** The adapter's description. */
  readonly adapterName: string;
  readonly #pool: BufferPool;
  readonly #pipelines: PipelineCache;
  #lost: string | undefined;

  readonly #render: RenderOptions;

  /** Wraps an acquired device; most code calls {@link createWebGpuBackend}. */
  constructor(acquired: AcquiredDevice, opts: WebGpuOptions = {}) {
    this.name = opts.name ?? "webgpu";
    this.#render = {
      cooperative: opts.cooperative ?? !acquired.software,
      maxSharedBytes: acquired.limits.maxComputeWorkgroupStorageSize,
      maxBindings: Math.min(
        opts.maxStorageBuffers ?? Infinity,
        acquired.limits.maxStorageBuffersPerShaderStage,
      ),
    };
    this.device = acquired.device;
    this.limits = acquired.limits;
    this.adapterName = acquired.adapterName;
    this.#pool = new BufferPool(this.device, MAX_POOLED_BYTES);
    this.#pipelines = new PipelineCache(this.device);
    this.device.lost.then((info) => {
      this.#lost = info.message === "" ? info.reason ?? "unknown" : info.message;
    });
  }

  #checkLost(op: string): void {
    if (this.#lost !== undefined) {
      throw new Error(
        `webgpu: ${op}: the GPU device of backend "${this.name}" was lost (${this.#lost}); its ` +
          `buffers are gone. Expected a live device: register the backend again ` +
          `(registerBackend) and recreate the tensors`,
      );
    }
  }

  #checkBuffer(op: string, buf: WebGpuBuffer): void {
    this.#checkLost(op);
    if (buf.freed) {
      throw new Error(`webgpu: ${op}: the buffer was freed (its tensor was disposed)`);
    }
  }

  /** Bytes of the device buffer for `size` elements, checked against the binding limit. */
  #bytesFor(what: string, size: number): number {
    checkBufferBytes(what, size, this.limits);
    const raw = size * 4;
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    const cls = sizeClass(raw);
    return cls <= max ? cls : Math.ceil(raw / 16) * 16;
  }

  /** Allocates a zero-valued buffer for `size` elements of `dtype` (float32, int32 or bool). */
  alloc(dtype: DType, size: number): WebGpuBuffer {
    this.#checkLost("alloc");
    storageType(dtype, `a ${size}-element buffer`);
    const bytes = this.#bytesFor(`a ${dtype} buffer`, size);
    const { buffer, fresh } = this.#pool.acquire(bytes, `${dtype}[${size}]`);
    this.stats.liveBuffers++;
    this.stats.liveBytes += bytes;
    this.stats.allocatedBytes += bytes;
    if (fresh) this.stats.freshBytes += bytes;
    return new WebGpuBuffer(buffer, dtype, size, bytes, !fresh);
  }

  /** Uploads host data (queued before any later submission). */
  write(buf: WebGpuBuffer, data: TypedArray): void {
    this.#checkBuffer("write", buf);
    if (data.length !== buf.size) {
      throw new Error(
        `webgpu: write: ${data.length} values for a buffer of ${buf.size} elements; expected equal`,
      );
    }
    if (buf.size > 0) {
      const words = buf.dtype === "bool" ? Uint32Array.from(data) : data;
      this.device.queue.writeBuffer(
        buf.gpu,
        0,
        words as Float32Array<ArrayBuffer> | Int32Array<ArrayBuffer> | Uint32Array<ArrayBuffer>,
      );
    }
    buf.dirty = false;
  }

  /** Copies the buffer to the host through a mapped staging buffer. */
  async read(buf: WebGpuBuffer): Promise<TypedArray> {
    this.#checkBuffer("read", buf);
    const out = allocArray(buf.dtype, buf.size);
    if (buf.size === 0 || buf.dirty) return out;
    const bytes = buf.size * 4;
    const staging = this.device.createBuffer({
      label: "readback",
      size: Math.ceil(bytes / 4) * 4,
      usage: USAGE.MAP_READ | USAGE.COPY_DST,
    });
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(buf.gpu, 0, staging, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      this.stats.submissions++;
      try {
        await staging.mapAsync(USAGE.MAP_READ);
      } catch (e) {
        this.#checkLost("read");
        throw e;
      }
      this.#checkLost("read");
      const mapped = staging.getMappedRange(0, bytes);
      if (buf.dtype === "bool") out.set(new Uint32Array(mapped));
      else if (buf.dtype === "int32") out.set(new Int32Array(mapped));
      else out.set(new Float32Array(mapped));
      staging.unmap();
    } finally {
      staging.destroy();
    }
    return out;
  }

  /** Returns the buffer to the pool. */
  free(buf: WebGpuBuffer): void {
    if (buf.freed) return;
    buf.freed = true;
    this.stats.liveBuffers--;
    this.stats.liveBytes -= buf.bytes;
    if (this.#lost === undefined) this.#pool.release(buf.gpu, buf.bytes);
  }

  /** Releases pooled idle buffers now (the pool refills as programs run). */
  trimPool(): void {
    this.#pool.clear();
  }

  /** Schedules `program` into fused kernels and renders each to WGSL (for inspection). */
  inspect(
    program: Program,
  ): { schedule: Schedule; kernels: RenderedKernel[]; scratch: ScratchBuffer[] } {
    const s = schedule(program);
    checkScheduleExtents(program, s, webgpuLimits(this.limits));
    const scratch: ScratchBuffer[] = [];
    const kernels = s.kernels.flatMap((k) => renderKernel(k, s.buffers, scratch, this.#render));
    return { schedule: s, kernels, scratch };
  }

  /** Compiles `program`: fused kernels, WGSL pipelines shared across programs by source. */
  compile(program: Program): Executable<WebGpuBuffer> {
    this.#checkLost("compile");
    const { schedule: s, kernels, scratch } = this.inspect(program);
    return this.#prepare(s, kernels, scratch);
  }

  /** Dispatch grid for `n` workgroups, split over x and y where x alone cannot hold them. */
  #grid(kernel: RenderedKernel): [number, number] {
    const n = kernel.workgroups;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (n > max * max) {
      throw new Error(
        `webgpu: kernel ${kernel.label} needs ${n} workgroups, more than ${max}² ` +
          `(maxComputeWorkgroupsPerDimension squared); expected a smaller tensor`,
      );
    }
    const y = Math.ceil(n / max);
    return [Math.ceil(n / y), y];
  }

  #prepare(
    sched: Schedule,
    kernels: readonly RenderedKernel[],
    scratch: readonly ScratchBuffer[],
  ): Executable<WebGpuBuffer> {
    const bytes = new Map<string, number>();
    for (const s of scratch) bytes.set(`s${s.id}`, this.#bytesFor("a scratch buffer", s.bytes / 4));
    sched.buffers.forEach((b, i) => {
      const what = `buffer ${i} (${b.dtype}[${b.size}], ${b.role.kind})`;
      storageType(b.dtype, what);
      bytes.set(`b${i}`, this.#bytesFor(what, b.size));
    });
    const isTemp = (b: Binding) =>
      b.kind === "scratch" || sched.buffers[b.buffer].role.kind === "temp";
    const packs = new Map(scratch.map((s) => [s.id, s.copies ?? []]));
    const copiesOf = (k: RenderedKernel) =>
      k.bindings.flatMap((b) =>
        b.kind === "scratch"
          ? packs.get(b.id)!.map((c) => ({
            from: `b${c.buffer}`,
            to: `s${b.id}`,
            offset: c.offset,
            bytes: c.bytes,
          }))
          : []
      );
    const lastUse = new Map<string, number>();
    kernels.forEach((k, i) => {
      const max = this.limits.maxStorageBuffersPerShaderStage;
      if (k.bindings.length > max) {
        throw new Error(
          `webgpu: ${k.label} binds ${k.bindings.length} buffers, more than this device's ` +
            `maxStorageBuffersPerShaderStage of ${max}; expected a kernel reading fewer tensors`,
        );
      }
      for (const b of k.bindings) if (isTemp(b)) lastUse.set(bindingKey(b), i);
      for (const c of copiesOf(k)) {
        const b = Number(c.from.slice(1));
        if (sched.buffers[b].role.kind === "temp") lastUse.set(c.from, i);
      }
    });
    const prepared: PreparedKernel[] = kernels.map((kernel, i) => {
      const cached = this.#pipelines.get(kernel.source, kernel.label, () => {
        this.stats.kernelsCompiled++;
      });
      return {
        kernel,
        cached,
        layout: cached.pipeline.getBindGroupLayout(0),
        grid: this.#grid(kernel),
        release: [...lastUse].filter(([, last]) => last === i).map(([key]) => key),
        copies: copiesOf(kernel),
      };
    });
    let validated = false;
    return {
      run: async (inputs, outputs) => {
        if (!validated) {
          for (const p of prepared) {
            const err = await p.cached.validation;
            if (err !== undefined) throw new Error(err);
          }
          validated = true;
        }
        await this.#run(sched, prepared, bytes, inputs, outputs);
      },
    };
  }

  async #run(
    sched: Schedule,
    kernels: readonly PreparedKernel[],
    bytesOf: ReadonlyMap<string, number>,
    inputs: readonly WebGpuBuffer[],
    outputs: readonly WebGpuBuffer[],
  ): Promise<void> {
    this.#checkLost("run");
    const bound = new Map<string, GPUBuffer>();
    const encoder = this.device.createCommandEncoder();
    sched.buffers.forEach((b, i) => {
      if (b.role.kind === "input") {
        const buf = inputs[b.role.slot];
        this.#checkBuffer("run", buf);
        if (buf.dirty) {
          encoder.clearBuffer(buf.gpu);
          buf.dirty = false;
        }
        bound.set(`b${i}`, buf.gpu);
      } else if (b.role.kind === "output") {
        this.#checkBuffer("run", outputs[b.role.position]);
        bound.set(`b${i}`, outputs[b.role.position].gpu);
      }
    });
    const pooled = new Map<string, [GPUBuffer, number]>();
    const bufferFor = (b: Binding): GPUBuffer => {
      const key = bindingKey(b);
      const have = bound.get(key);
      if (have !== undefined) return have;
      const bytes = bytesOf.get(key)!;
      const { buffer } = this.#pool.acquire(bytes, key);
      bound.set(key, buffer);
      pooled.set(key, [buffer, bytes]);
      return buffer;
    };
    this.device.pushErrorScope("validation");
    try {
      let pass = encoder.beginComputePass();
      for (const k of kernels) {
        if (k.copies.length > 0) {
          // Copies cannot run inside a compute pass: close it, pack, and open the next one.
          pass.end();
          for (const c of k.copies) {
            if (c.bytes === 0) continue;
            encoder.copyBufferToBuffer(
              bufferFor(keyBinding(c.from)),
              0,
              bufferFor(keyBinding(c.to)),
              c.offset,
              c.bytes,
            );
          }
          pass = encoder.beginComputePass();
        }
        const group = this.device.createBindGroup({
          layout: k.layout,
          entries: k.kernel.bindings.map((b, i) => ({
            binding: i,
            resource: { buffer: bufferFor(b) },
          })),
        });
        pass.setPipeline(k.cached.pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(k.grid[0], k.grid[1]);
        // Later kernels of this pass may reuse the buffer: dispatches are ordered.
        for (const key of k.release) {
          const entry = pooled.get(key);
          if (entry === undefined) continue;
          pooled.delete(key);
          bound.delete(key);
          this.#pool.release(entry[0], entry[1]);
        }
      }
      pass.end();
      this.device.queue.submit([encoder.finish()]);
    } catch (e) {
      // Nothing was submitted: hand the temporaries back and close the error scope.
      for (const [buffer, bytes] of pooled.values()) this.#pool.release(buffer, bytes);
      await this.device.popErrorScope();
      throw e;
    }
    for (const [buffer, bytes] of pooled.values()) this.#pool.release(buffer, bytes);
    this.stats.submissions++;
    this.stats.kernelsRun += kernels.length;
    for (const o of outputs) o.dirty = false;
    const err = await this.device.popErrorScope();
    this.#checkLost("run");
    if (err !== null) throw new Error(`webgpu: run failed validation: ${err.message}`);
  }
}
