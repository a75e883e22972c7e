/// <reference types="@webgpu/types" />
/**
 * Adapter and device acquisition, with the limits the backend relies on.
 *
 * Nothing here runs at import time: `navigator.gpu` is first touched by {@link acquireDevice},
 * so importing the package works where WebGPU does not exist (Node, older browsers).
 *
 * @module
 */

/** Limits the backend requests from the adapter (their adapter maxima) and checks against. */
const WANTED_LIMITS: readonly (keyof DeviceLimits)[] = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxStorageBuffersPerShaderStage",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupsPerDimension",
];

/** The device limits the backend checks work against (see the WebGPU `GPUSupportedLimits`). */
export interface DeviceLimits {
  /** Largest storage buffer binding, in bytes. */
  readonly maxStorageBufferBindingSize: number;
  /** Largest buffer, in bytes. */
  readonly maxBufferSize: number;
  /** Storage buffers one kernel may bind. */
  readonly maxStorageBuffersPerShaderStage: number;
  /** Workgroup memory per workgroup, in bytes. */
  readonly maxComputeWorkgroupStorageSize: number;
  /** Invocations per workgroup. */
  readonly maxComputeInvocationsPerWorkgroup: number;
  /** Workgroup extent along x. */
  readonly maxComputeWorkgroupSizeX: number;
  /** Workgroups per dispatch dimension. */
  readonly maxComputeWorkgroupsPerDimension: number;
}

/** A device with the limits it was created with. */
export interface AcquiredDevice {
  /** The device. */
  readonly device: GPUDevice;
  /** Its limits. */
  readonly limits: DeviceLimits;
  /** A description of the adapter for messages. */
  readonly adapterName: string;
  /** Whether the adapter runs on the CPU (llvmpipe, SwiftShader, WARP: a fallback adapter). */
  readonly software: boolean;
}

/** The WebGPU entry point of this runtime, or `undefined` where WebGPU does not exist. */
export function gpuEntry(): GPU | undefined {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  return nav?.gpu;
}

/**
 * Requests an adapter and a device with the adapter's full limits from the WebGPU entry point
 * that `entry` returns (default: `navigator.gpu`); throws a clear error if there is none.
 */
export async function acquireDevice(
  entry: () => GPU | undefined = gpuEntry,
): Promise<AcquiredDevice> {
  const gpu = entry();
  if (gpu === undefined) {
    throw new Error(
      "webgpu: navigator.gpu does not exist in this runtime; expected a WebGPU-capable runtime " +
        '(Deno, or a browser with WebGPU enabled). Use the "cpu" or "interpreter" backend instead',
    );
  }
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error(
      "webgpu: navigator.gpu.requestAdapter() found no adapter; expected a GPU or a software " +
        'adapter such as Mesa llvmpipe. Use the "cpu" or "interpreter" backend instead',
    );
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredLimits });
  const limits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) limits[k] = device.limits[k];
  const info = adapter.info;
  const adapterName = [info?.vendor, info?.architecture, info?.device, info?.description]
    .filter((s) => s !== undefined && s !== "").join(" ") || "unknown adapter";
  const software =
    (info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|warp|software/i.test(adapterName);
  return { device, limits: limits as unknown as DeviceLimits, adapterName, software };
}
