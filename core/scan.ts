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

import type { Tensor } from "./tensor.ts";

/** Elements per block: the window sums cost `B` additions per element. */
const BLOCK = 32;

/** Inclusive prefix sums along `axis` (negative counts from the end). */
export function cumsumTensor(x: Tensor, axis: number): Tensor {
  const nd = x.ndim;
  if (!Number.isInteger(axis) || axis < -Math.max(nd, 1) || axis >= Math.max(nd, 1)) {
    throw new Error(
      `cumsum: axis ${axis} is out of range for shape [${x.shape.join(", ")}]; expected an ` +
        `integer in [${-Math.max(nd, 1)}, ${Math.max(nd, 1) - 1}]`,
    );
  }
  if (nd === 0) return x.add(0);
  const a = axis < 0 ? axis + nd : axis;
  if (a === nd - 1) return scanLast(x);
  // Move the axis last, scan, move it back.
  const perm = [...Array(nd).keys()].filter((i) => i !== a).concat(a);
  const inverse = perm.map((_, i) => perm.indexOf(i));
  return scanLast(x.permute(...perm)).permute(...inverse);
}

/** Inclusive prefix sums along the last axis. */
function scanLast(x: Tensor): Tensor {
  const n = x.shape[x.ndim - 1];
  if (n <= 1) return x.add(0);
  if (n <= BLOCK) return windowScan(x);
  const lead = x.shape.slice(0, -1);
  const nb = Math.ceil(n / BLOCK);
  const padded = x.pad([...lead.map(() => [0, 0] as [number, number]), [0, nb * BLOCK - n]]);
  const inner = windowScan(padded.reshape([...lead, nb, BLOCK])); // [..., nb, B]
  const totals = inner.slice([...lead.map(() => null), null, BLOCK - 1]); // [..., nb]
  const before = scanLast(totals).slice([...lead.map(() => null), [0, nb - 1]]);
  const offsets = before.pad([...lead.map(() => [0, 0] as [number, number]), [1, 0]]);
  return inner.add(offsets.unsqueeze(-1)).reshape([...lead, nb * BLOCK])
    .slice([...lead.map(() => null), [0, n]]);
}

/**
 * Prefix sums of the last axis (length `n`) as one reduction: after `n - 1` leading zeros,
 * window `i` holds `0, …, 0, x[0], …, x[i]` and is summed in that order.
 */
function windowScan(x: Tensor): Tensor {
  const lead = x.shape.slice(0, -1);
  const n = x.shape[x.ndim - 1];
  const len = 2 * n - 1;
  const all = lead.map(() => null);
  const xp = x.pad([...lead.map(() => [0, 0] as [number, number]), [n - 1, 0]]); // [..., L]
  // n + 1 copies of xp, flattened and re-read with rows of L + 1: row r starts at xp[r].
  const rows = xp.unsqueeze(-2).expand([...lead, n + 1, len]).reshape([...lead, (n + 1) * len])
    .slice([...all, [0, n * (len + 1)]]).reshape([...lead, n, len + 1])
    .slice([...all, null, [0, n]]); // [..., k, i] = xp[k + i]
  return rows.sum(-2);
}
