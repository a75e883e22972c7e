/**
 * A small CNN (Conv2d → RBN → ReLU → Flatten → Linear, Adam, batch [8, 1, 8, 8]) trained with
 * `trainStep`, recording live buffers and resident memory, for the memory tests and the
 * memory benchmark. No collector is forced anywhere.
 *
 * @module
 */

import { backendStats, Tensor } from "../../mod.ts";
import {
  Adam,
  Conv2d,
  crossEntropy,
  Flatten,
  Linear,
  ReLU,
  RepresentativeBatchNorm2d,
  Sequential,
  trainStep,
} from "../../nn/mod.ts";

/** Live buffers after each step, and resident set sizes at chosen steps. */
export interface TrainMemory {
  /** `liveBuffers` of the backend after step `i + 1`. */
  liveBuffers: number[];
  /** `liveBytes` of the backend after step `i + 1`. */
  liveBytes: number[];
  /** `freshBytes` of the backend (allocations not served from a reuse pool) after step `i + 1`. */
  freshBytes: number[];
  /** `Deno.memoryUsage().rss` after step `i + 1`, for the steps in `rssAt`. */
  rss: Map<number, number>;
  /** The loss of the last step. */
  lossAtEnd: number;
}

/** The model of the memory tests on `backend`. */
export function memoryModel(backend: string): Sequential {
  return new Sequential(
    new Conv2d(1, 4, 3, { padding: 1, seed: 1, backend }),
    new RepresentativeBatchNorm2d(4, { backend }),
    new ReLU(),
    new Flatten(),
    new Linear(4 * 8 * 8, 10, { seed: 2, backend }),
  );
}

/** Runs `steps` training steps on `backend`, disposing each returned loss. */
export async function trainMemory(
  backend: string,
  steps: number,
  rssAt: readonly number[] = [],
): Promise<TrainMemory> {
  const net = memoryModel(backend);
  const opt = new Adam(net, { lr: 1e-3 });
  const x = Tensor.randn([8, 1, 8, 8], { seed: 3, backend });
  const y = Tensor.from([0, 1, 2, 3, 4, 5, 6, 7], { backend });
  const out: TrainMemory = {
    liveBuffers: [],
    liveBytes: [],
    freshBytes: [],
    rss: new Map(),
    lossAtEnd: NaN,
  };
  for (let i = 1; i <= steps; i++) {
    using loss = await trainStep(net, opt, () => crossEntropy(net.forward(x), y));
    const s = await backendStats(backend);
    out.liveBuffers.push(s.liveBuffers);
    out.liveBytes.push(s.liveBytes);
    out.freshBytes.push(s.freshBytes);
    if (rssAt.includes(i)) out.rss.set(i, Deno.memoryUsage().rss);
    if (i === steps) out.lossAtEnd = await loss.item();
  }
  return out;
}
