/**
 * The RBN benchmark's clock on a backend that queues work on a device: a timed step must include
 * the device finishing the work, not just its submission.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { CpuBackend, type Executable, registerBackend } from "../../mod.ts";
import type { TypedArray } from "../../core/dtype.ts";
import type { Program } from "../../core/program.ts";
import { timeRbn } from "../../bench/rbn.ts";

const DEVICE_MS = 20;

/**
 * The CPU backend behind a simulated device queue: `run` only submits, the work runs in order
 * at least `DEVICE_MS` later, and reads wait for everything submitted before them.
 */
class QueuedCpuBackend extends CpuBackend {
  override readonly name: string = "queued-cpu";
  #queue: Promise<void> = Promise.resolve();

  override compile(program: Program): Executable<TypedArray> {
    const exe = super.compile(program);
    return {
      run: (inputs, outputs) => {
        this.stats.submissions++;
        this.#queue = this.#queue
          .then(() => new Promise((done) => setTimeout(done, DEVICE_MS)))
          .then(() => exe.run(inputs, outputs));
      },
    };
  }

  override async read(buf: TypedArray): Promise<TypedArray> {
    await this.#queue;
    return super.read(buf);
  }
}

registerBackend("queued-cpu", () => new QueuedCpuBackend());

Deno.test("timeRbn on a queued device times each step until the device has finished", async () => {
  const r = await timeRbn("queued-cpu", [2, 2, 2, 2], "fwd", 0);
  // Each step's work starts no earlier than DEVICE_MS after its submission (timers never fire
  // early by more than a millisecond), so a step that waits for it takes at least that long.
  assert.ok(r.median_ms >= DEVICE_MS - 1, `median ${r.median_ms} ms < ${DEVICE_MS - 1} ms`);
});
