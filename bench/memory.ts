/**
 * Memory of a training loop: the small CNN of the memory tests (Conv2d → RBN → ReLU → Flatten
 * → Linear, Adam, batch [8, 1, 8, 8]) trained with `trainStep`, no collector forced. Prints,
 * per backend, live buffers and bytes over the steps, the bytes the backend was asked to
 * allocate per step (outputs, temporaries and uploads; the backends serve them from their
 * reuse pools), and resident memory.
 *
 * Run: `deno task bench:memory [steps] [backends…]` (default 2000 steps on cpu, webgpu if any).
 *
 * @module
 */

import { backendStats, getBackend, Tensor } from "../mod.ts";
import { Adam, crossEntropy, trainStep } from "../nn/mod.ts";
import { memoryModel } from "../tests/helpers/train_memory.ts";

const steps = Number(Deno.args[0] ?? 2000);
const names = Deno.args.length > 1 ? Deno.args.slice(1) : ["cpu", "webgpu"];

async function run(name: string): Promise<void> {
  const backend = await getBackend(name);
  let requested = 0;
  const alloc = backend.alloc.bind(backend);
  backend.alloc = (dtype, size) => {
    requested += size * (dtype === "float64" ? 8 : dtype === "bool" ? 1 : 4);
    return alloc(dtype, size);
  };
  const net = memoryModel(name);
  const opt = new Adam(net, { lr: 1e-3 });
  const x = Tensor.randn([8, 1, 8, 8], { seed: 3, backend: name });
  const y = Tensor.from([0, 1, 2, 3, 4, 5, 6, 7], { backend: name });
  const stateBytes = Object.values(net.stateDict()).reduce((n, t) => n + t.size * 4, 0);
  console.log(`\n${name}: ${steps} steps; model state ${stateBytes} bytes (+ Adam moments)`);
  console.log("step  liveBuffers  liveBytes  requested bytes/step  rss MB  ms/step");
  const marks = new Set([1, 2, 10, 100, 500, 1000, 2000, 5000, steps]);
  let t0 = performance.now(), last = 0, lastRequested = 0;
  for (let i = 1; i <= steps; i++) {
    using _loss = await trainStep(net, opt, () => crossEntropy(net.forward(x), y));
    if (!marks.has(i)) continue;
    const s = await backendStats(name);
    const perStep = (requested - lastRequested) / (i - last);
    const ms = (performance.now() - t0) / (i - last);
    console.log(
      `${String(i).padStart(4)}  ${String(s.liveBuffers).padStart(11)}  ${
        String(s.liveBytes).padStart(9)
      }  ${perStep.toFixed(0).padStart(20)}  ${
        (Deno.memoryUsage().rss / 2 ** 20).toFixed(0).padStart(6)
      }  ${ms.toFixed(2).padStart(7)}`,
    );
    t0 = performance.now(), last = i, lastRequested = requested;
  }
  backend.alloc = alloc;
}

for (const name of names) {
  try {
    await run(name);
  } catch (e) {
    console.log(`\n${name}: skipped (${(e as Error).message.split("\n")[0]})`);
  }
}
