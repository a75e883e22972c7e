/**
 * The CPU backend: fused kernels compiled to JavaScript functions over typed arrays.
 *
 * `compile` schedules a program into kernels (core/schedule.ts), renders each to JavaScript and
 * compiles it once with `new Function`; identical kernel sources share one function across
 * programs. Running a program allocates its temporaries, frees each after its last reader and
 * counts kernels and live buffers in {@link BackendStats}.
 *
 * @example Fusion in numbers
 * ```ts
 * import { backendStats, CpuBackend, registerBackend, Tensor } from "@symgrad/symgrad";
 * registerBackend("cpu-example", () => new CpuBackend());
 * const x = Tensor.rand([1000], { backend: "cpu-example" });
 * await x.exp().mul(2).add(1).sin().data();
 * console.log((await backendStats("cpu-example")).kernelsRun); // 1
 * ```
 *
 * @module
 */

import type { TypedArray } from "../../core/dtype.ts";
import type { Program } from "../../core/program.ts";
import { type Schedule, schedule } from "../../core/schedule.ts";
import type { Executable } from "../backend.ts";
import { HostBackend } from "../host_memory.ts";
import { renderKernel } from "./render.ts";

type KernelFn = (bufs: TypedArray[]) => void;

/** The CPU backend: host typed arrays and generated JavaScript kernels. */
export class CpuBackend extends HostBackend {
  /** Backend name. */
  readonly name: string = "cpu";
  #functions = new Map<string, KernelFn>();

  /** The schedule and the generated source of each kernel (for inspection and debugging). */
  inspect(program: Program): { schedule: Schedule; sources: string[] } {
    const s = schedule(program);
    return { schedule: s, sources: s.kernels.map((k) => renderKernel(k, s.buffers)) };
  }

  #function(source: string): KernelFn {
    let fn = this.#functions.get(source);
    if (fn === undefined) {
      fn = new Function("bufs", source) as KernelFn;
      this.#functions.set(source, fn);
      this.stats.kernelsCompiled++;
    }
    return fn;
  }

  /** Schedules `program`, renders and compiles its kernels. */
  compile(program: Program): Executable<TypedArray> {
    const { schedule: s, sources } = this.inspect(program);
    const fns = sources.map((src) => this.#function(src));
    const temps = s.buffers.flatMap((b, i) => (b.role.kind === "temp" ? [i] : []));
    // Temporaries die after their last reader; ones nobody reads die after their writer.
    const dies = new Map<number, number[]>();
    for (const b of temps) {
      const writer = s.kernels.findIndex((k) => k.out.buffer === b);
      const at = Math.max(s.buffers[b].lastUse, writer);
      dies.set(at, [...(dies.get(at) ?? []), b]);
    }
    const firstWrite = new Map<number, number[]>();
    s.kernels.forEach((k, i) => {
      if (s.buffers[k.out.buffer].role.kind === "temp") {
        firstWrite.set(i, [...(firstWrite.get(i) ?? []), k.out.buffer]);
      }
    });
    return {
      run: (inputs, outputs) => {
        const bufs = new Array<TypedArray>(s.buffers.length);
        s.buffers.forEach((b, i) => {
          if (b.role.kind === "input") bufs[i] = inputs[b.role.slot];
          else if (b.role.kind === "output") bufs[i] = outputs[b.role.position];
        });
        try {
          for (let i = 0; i < fns.length; i++) {
            for (const b of firstWrite.get(i) ?? []) {
              bufs[b] = this.alloc(s.buffers[b].dtype, s.buffers[b].size);
            }
            fns[i](bufs);
            this.stats.kernelsRun++;
            for (const b of dies.get(i) ?? []) this.#release(bufs, b);
          }
        } finally {
          for (const b of temps) this.#release(bufs, b);
        }
      },
    };
  }

  #release(bufs: TypedArray[], b: number): void {
    if (bufs[b] === undefined) return;
    this.free(bufs[b]);
    bufs[b] = undefined as unknown as TypedArray;
  }
}
