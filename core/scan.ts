/**
 * `cumsum` as a blocked scan built from movement ops and sums, so it has gradients, JVPs and
 * batching rules through those primitives and costs `O(n·B)` work in `O(log_B n)` levels
 * (`B = 32`), never the `O(n²)` of a triangular-mask product.
 *
 * Within a block of `B` elements the inclusive prefix sums are one reduction over sliding
 * windows (`out[i] = Σ_k xp[i + k]`, `xp` = the block after `B - 1` leading zeros), in the order
 * of a sequential loop. Block totals are scanned the same way (recursively) and added back.
 * Each level is one reduction kernel, so nothing is inlined twice: `n ≤ 32` runs one kernel,
 * `n ≤ 1024` three, `n ≤ 32768` four (the last levels' additions fuse into their readers).
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";

/** Elements per block: the window sums cost `B` additions per element. */
const BLOCK = 32;

/** Inclusive prefix sums of the float node `x` along `axis` (negative counts from the end). */
export function cumsumNode(x: Node, axis: number): Node {
  const nd = x.shape.length;
  if (!Number.isInteger(axis) || axis < -Math.max(nd, 1) || axis >= Math.max(nd, 1)) {
    throw new Error(
      `cumsum: axis ${axis} is out of range for shape [${x.shape.join(", ")}]; expected an ` +
        `integer in [${-Math.max(nd, 1)}, ${Math.max(nd, 1) - 1}]`,
    );
  }
  if (nd === 0) return x;
  const a = axis < 0 ? axis + nd : axis;
  if (a === nd - 1) return scanLast(x);
  // Move the axis last, scan, move it back.
  const perm = [...Array(nd).keys()].filter((i) => i !== a).concat(a);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return ir.permute(scanLast(ir.permute(x, perm)), inverse);
}

/** `x[..., from:to]` along the last axis. */
function sliceLast(x: Node, from: number, to: number): Node {
  const r = x.shape.length;
  return ir.slice(x, x.shape.map((_, i) => (i === r - 1 ? from : 0)), [
    ...x.shape.slice(0, -1),
    to,
  ]);
}

/** `x` with `before` and `after` zeros along the last axis. */
function padLast(x: Node, before: number, after: number): Node {
  return ir.pad(x, x.shape.map((_, i) => (i === x.shape.length - 1 ? [before, after] : [0, 0])));
}

/** Inclusive prefix sums along the last axis. */
function scanLast(x: Node): Node {
  const n = x.shape[x.shape.length - 1];
  if (n <= 1) return x;
  if (n <= BLOCK) return windowScan(x);
  const lead = x.shape.slice(0, -1);
  const nb = Math.ceil(n / BLOCK);
  const inner = windowScan(ir.reshape(padLast(x, 0, nb * BLOCK - n), [...lead, nb, BLOCK]));
  const totals = ir.reshape(sliceLast(inner, BLOCK - 1, BLOCK), [...lead, nb]); // [..., nb]
  const offsets = padLast(sliceLast(scanLast(totals), 0, nb - 1), 1, 0); // totals before each
  const spread = ir.expand(ir.reshape(offsets, [...lead, nb, 1]), [...lead, nb, BLOCK]);
  return sliceLast(ir.reshape(ir.binary("add", inner, spread), [...lead, nb * BLOCK]), 0, n);
}

/**
 * Prefix sums of the last axis (length `n`) as one reduction: after `n - 1` leading zeros,
 * window `i` holds `0, …, 0, x[0], …, x[i]` and is summed in that order.
 */
function windowScan(x: Node): Node {
  const lead = x.shape.slice(0, -1);
  const n = x.shape[x.shape.length - 1];
  const len = 2 * n - 1;
  const xp = padLast(x, n - 1, 0); // [..., L]
  // n + 1 copies of xp, flattened and re-read with rows of L + 1: row r starts at xp[r].
  const copies = ir.expand(ir.reshape(xp, [...lead, 1, len]), [...lead, n + 1, len]);
  const flat = sliceLast(ir.reshape(copies, [...lead, (n + 1) * len]), 0, n * (len + 1));
  const rows = sliceLast(ir.reshape(flat, [...lead, n, len + 1]), 0, n); // [..., k, i] = xp[k + i]
  return ir.reshape(ir.reduce("reduce_sum", rows, [lead.length]), [...lead, n]);
}
