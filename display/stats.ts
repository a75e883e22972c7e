/**
 * Summary statistics of tensor data, as shown by the rich display.
 *
 * @module
 */

/** Summary statistics over the finite elements, and counts of the non-finite ones. */
export interface SummaryStats {
  /** Number of elements. */
  count: number;
  /** Smallest finite element (NaN if none). */
  min: number;
  /** Largest finite element (NaN if none). */
  max: number;
  /** Mean of the finite elements (NaN if none). */
  mean: number;
  /** Population standard deviation of the finite elements (NaN if none). */
  std: number;
  /** Number of NaN elements. */
  nanCount: number;
  /** Number of ±Infinity elements. */
  infCount: number;
}

/**
 * Min, max, mean and population standard deviation over the finite elements (in float64, two
 * passes so that a large mean does not swamp the deviation), plus NaN and infinity counts.
 *
 * @example
 * ```ts
 * import { summaryStats } from "@symgrad/symgrad/display";
 * console.log(summaryStats([1, 2, 3, NaN])); // mean 2, std ≈ 0.816, nanCount 1
 * ```
 */
export function summaryStats(data: ArrayLike<number>): SummaryStats {
  let n = 0, sum = 0, nanCount = 0, infCount = 0;
  let min = Infinity, max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) nanCount++;
    else if (!Number.isFinite(v)) infCount++;
    else {
      n++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (n === 0) {
    return { count: data.length, min: NaN, max: NaN, mean: NaN, std: NaN, nanCount, infCount };
  }
  const mean = sum / n;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isFinite(v)) sq += (v - mean) * (v - mean);
  }
  return { count: data.length, min, max, mean, std: Math.sqrt(sq / n), nanCount, infCount };
}
