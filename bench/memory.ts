/**
 * Memory of a training loop: the small CNN of the memory tests (Conv2d → RBN → ReLU → Flatten
 * → Linear, Adam, batch [8, 1, 8, 8]) trained with `trainStep`, no collector forced. Prints,
 * per backend and over the steps: live buffers and bytes, the bytes allocated per step (state
 * outputs, temporaries and uploads, mostly served from the reuse pools), the bytes per step that
 * took new memory (target 0: the state a step replaces is released when the step ends and its
 * buffers hold the next step's state), and resident memory. One JSON line per backend at the end.
 *
 * Run: `deno task bench:memory [steps] [backends…]` (default 2000 steps on cpu, webgpu if any).
 *
 * @module
 */

import { backendStats, Tensor } from "../mod.ts";
import { Adam, crossEntropy, trainStep } from "../nn/mod.ts";
import { memoryModel } from "../tests/helpers/train_memory.ts";

const steps = Number(Deno.args[0] ?? 2000);
const names = Deno.args.length > 1 ? Deno.args.slice(1) : ["cpu", "webgpu"];

async function run(name: string): Promise<void> {
  const net = memoryModel(name);
  const opt = new Adam(net, { lr: 1e-3 });
  const x = Tensor.randn([8, 1, 8, 8], { seed: 3, backend: name });
  const y = Tensor.from([0, 1, 2, 3, 4, 5, 6, 7], { backend: name });
  const params = Object.values(net.stateDict()).reduce((n, t) => n + t.size * 4, 0);
  console.log(`\n${name}: ${steps} steps; module state ${params} bytes (+ Adam moments)`);
  console.log("step  liveBuffers  liveBytes  allocated B/step  fresh B/step  rss MB  ms/step");
  const marks = new Set([1, 2, 10, 100, 500, 1000, 2000, 5000, steps]);
  let last = await backendStats(name), lastStep = 0, t0 = performance.now();
  let steady = { allocated: 0, fresh: 0 };
  for (let i = 1; i <= steps; i++) {
    using _loss = await trainStep(net, opt, () => crossEntropy(net.forward(x), y));
    if (!marks.has(i)) continue;
    const s = await backendStats(name);
    const n = i - lastStep;
    const allocated = (s.allocatedBytes - last.allocatedBytes) / n;
    const fresh = (s.freshBytes - last.freshBytes) / n;
    if (lastStep > 0) steady = { allocated, fresh };
    console.log(
      [
        String(i).padStart(4),
        String(s.liveBuffers).padStart(11),
        String(s.liveBytes).padStart(9),
        allocated.toFixed(0).padStart(16),
        fresh.toFixed(0).padStart(12),
        (Deno.memoryUsage().rss / 2 ** 20).toFixed(0).padStart(6),
        ((performance.now() - t0) / n).toFixed(2).padStart(7),
      ].join("  "),
    );
    last = s, lastStep = i, t0 = performance.now();
  }
  console.log(JSON.stringify({
    case: "trainStep memory",
    backend: name,
    steps,
    liveBuffers: last.liveBuffers,
    allocatedBytesPerStep: steady.allocated,
    freshBytesPerStep: steady.fresh,
  }));
}

for (const name of names) {
  try {
    await run(name);
  } catch (e) {
    console.log(`\n${name}: skipped (${(e as Error).message.split("\n")[0]})`);
  }
}
