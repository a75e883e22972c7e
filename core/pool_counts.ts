/**
 * Geometry of PyTorch's `avg_pool2d` along one axis: the output extent (floor or ceil mode), the
 * trailing zeros that make room for a ceil-mode window, and how many taps of each window count
 * toward its divisor.
 *
 * @module
 */

/** One axis of a pooling: output extent, extra trailing padding and divisor counts. */
export interface PoolAxis {
  /** Output extent. */
  readonly out: number;
  /** Zeros added after the right padding so the last (ceil-mode) window fits. */
  readonly extra: number;
  /** Taps of output `o` that count toward its divisor. */
  readonly counts: readonly number[];
}

/**
 * As torch 1.13: `out = ⌈(n + 2p - d(k-1) - 1) / s⌉ + 1` in ceil mode, less one when the last
 * window would start at or past `n + p` (inside the right padding only); otherwise the floor.
 * Counted taps lie in `[0, n)` without `countIncludePad`, else in `[-p, n + p)` (the padding
 * counts, a ceil-mode overhang does not).
 */
export function poolAxis(
  n: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceilMode: boolean,
  countIncludePad: boolean,
): PoolAxis {
  const span = n + 2 * p - d * (k - 1) - 1;
  let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceilMode && (out - 1) * s >= n + p) out--;
  const extra = Math.max(0, (out - 1) * s + d * (k - 1) + 1 - (n + 2 * p));
  const [lo, hi] = countIncludePad ? [-p, n + p] : [0, n];
  const counts = Array.from({ length: Math.max(out, 0) }, (_, o) => {
    let c = 0;
    for (let t = 0; t < k; t++) {
      const at = o * s + t * d - p;
      if (at >= lo && at < hi) c++;
    }
    return c;
  });
  return { out, extra, counts };
}
