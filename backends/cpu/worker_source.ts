/**
 * The source of a CPU-backend worker, as plain JavaScript text so that it can start from a string
 * (no file to read, no permission, works when the package is loaded from a registry).
 *
 * A worker holds compiled kernels (by id) and shared buffers (by id), both sent as messages. To
 * run jobs it enters a loop that blocks on a shared control block (`Atomics.wait`): per job the
 * main thread writes the kernel id, the (schedule slot, buffer id) pairs and how the outer loop
 * is cut into slices, bumps the sequence number, takes slices itself and waits for every
 * worker's acknowledgement. Slices are taken from a shared counter, so a thread that the
 * operating system delays takes fewer of them instead of holding everyone up. An
 * exit command sends the worker back to its event loop, where it takes new messages.
 *
 * @module
 */

/** Control-block layout shared by the pool and the worker (indices into an `Int32Array`). */
export const CONTROL = {
  /** Job sequence number, bumped for every job or exit command. */
  seq: 0,
  /** 1: run a kernel, 2: leave the job loop. */
  cmd: 1,
  /** Id of the kernel to run. */
  kernel: 2,
  /** Number of (slot, buffer id) pairs. */
  nPairs: 3,
  /** Extent of the outer loop being shared out. */
  extent: 4,
  /** Number of slices the outer loop is cut into. */
  slices: 5,
  /** The next slice to take (every thread takes slices with `Atomics.add` until none is left). */
  next: 6,
  /** First (slot, buffer id) pair. */
  pairs: 16,
  /** Most pairs one job can carry. */
  maxPairs: 240,
  /** First per-worker record: unused, unused, acknowledged sequence number, error flag. */
  workers: 512,
  /** Ints per worker record. */
  stride: 4,
} as const;

/** Most workers one control block can serve. */
export const MAX_WORKERS = 64;

/** Length of the control block in ints. */
export const CONTROL_LENGTH = CONTROL.workers + CONTROL.stride * MAX_WORKERS;

/** Command: run a kernel over this worker's range. */
export const CMD_RUN = 1;
/** Command: leave the job loop and take messages. */
export const CMD_EXIT = 2;

/** JavaScript source of the worker (runs as a Node-style `eval` worker or a web worker). */
export const WORKER_SOURCE = `"use strict";
const C = ${JSON.stringify(CONTROL)};
const kernels = new Map();
const buffers = new Map();
let ctl, slot, post, seen = 0;
function loop() {
  for (;;) {
    const s = Atomics.load(ctl, C.seq);
    if (s === seen) { Atomics.wait(ctl, C.seq, s); continue; }
    seen = s;
    if (Atomics.load(ctl, C.cmd) === ${CMD_EXIT}) {
      Atomics.store(ctl, slot + 2, s);
      Atomics.notify(ctl, slot + 2);
      return;
    }
    try {
      const bufs = [];
      const n = ctl[C.nPairs];
      for (let j = 0; j < n; j++) bufs[ctl[C.pairs + 2 * j]] = buffers.get(ctl[C.pairs + 2 * j + 1]);
      const fn = kernels.get(ctl[C.kernel]);
      const extent = ctl[C.extent], slices = ctl[C.slices];
      for (let i = Atomics.add(ctl, C.next, 1); i < slices; i = Atomics.add(ctl, C.next, 1)) {
        fn(bufs, Math.floor((i * extent) / slices), Math.floor(((i + 1) * extent) / slices));
      }
    } catch (e) {
      ctl[slot + 3] = 1;
      post({ kind: "error", message: String(e && e.stack || e) });
    }
    Atomics.store(ctl, slot + 2, s);
    Atomics.notify(ctl, slot + 2);
  }
}
function onMessage(m) {
  switch (m.kind) {
    case "init":
      ctl = new Int32Array(m.control);
      slot = C.workers + C.stride * m.index;
      post({ kind: "ready" });
      break;
    case "kernel":
      kernels.set(m.id, new Function("bufs", "start", "end", m.source));
      break;
    case "buffers":
      for (const [id, sab, kind, offset, length] of m.entries) {
        const View = kind === "f32"
          ? Float32Array
          : kind === "f64"
          ? Float64Array
          : kind === "i32"
          ? Int32Array
          : Uint8Array;
        buffers.set(id, new View(sab, offset, length));
      }
      break;
    case "forget":
      for (const id of m.ids) buffers.delete(id);
      break;
    case "enter":
      loop();
      break;
  }
}
if (typeof require === "function") {
  const { parentPort } = require("node:worker_threads");
  post = (m) => parentPort.postMessage(m);
  parentPort.on("message", onMessage);
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => onMessage(e.data);
}
`;
