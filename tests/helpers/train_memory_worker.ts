/**
 * Runs {@link trainMemory} in a worker: `postMessage({ backend, steps, rssAt })` answers with the
 * result (the `rss` map as entries) or `{ error }`.
 *
 * A worker has a heap of its own, as an application's main thread does; the test runner's main
 * isolate holds about 80 MB before any test, which raises V8's collection limits so much that a
 * loop in it reaches its steady heap only after thousands of steps.
 *
 * @module
 */

import { trainMemory } from "./train_memory.ts";

interface Request {
  backend: string;
  steps: number;
  rssAt: number[];
}

// The worker's global scope (this module is only ever loaded as a worker).
const scope = self as unknown as {
  onmessage: (e: MessageEvent<Request>) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = async (e: MessageEvent<Request>) => {
  try {
    const m = await trainMemory(e.data.backend, e.data.steps, e.data.rssAt);
    scope.postMessage({ ...m, rss: [...m.rss] });
  } catch (err) {
    scope.postMessage({ error: String((err as Error)?.stack ?? err) });
  }
};
