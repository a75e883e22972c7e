/**
 * NumPy-style text of the elements of a tensor, with long axes summarized as `first … last`.
 *
 * @module
 */

import { formatNumber } from "./mime.ts";

/** Options of {@link formatValues}. */
export interface FormatValuesOptions {
  /** Summarize when the tensor has more elements than this (default 1000, as NumPy). */
  threshold?: number;
  /** Elements kept at each end of a summarized axis (default 3). */
  edgeItems?: number;
  /** Formats one element (default {@link formatNumber}; bools print as true/false). */
  format?: (v: number) => string;
}

/**
 * The elements of a row-major array of `shape` as nested brackets, one innermost row per line.
 *
 * @example
 * ```ts
 * import { formatValues } from "@symgrad/symgrad/display";
 * console.log(formatValues([1, 2, 3, 4], [2, 2])); // [[1, 2],\n [3, 4]]
 * ```
 */
export function formatValues(
  data: ArrayLike<number>,
  shape: readonly number[],
  opts: FormatValuesOptions = {},
): string {
  const { threshold = 1000, edgeItems = 3, format = formatNumber } = opts;
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new Error(
      `formatValues: ${data.length} values for shape [${shape.join(", ")}]; expected ${size}`,
    );
  }
  const summarize = size > threshold;
  const indices = (extent: number): (number | null)[] =>
    summarize && extent > 2 * edgeItems
      ? [
        ...Array.from({ length: edgeItems }, (_, i) => i),
        null,
        ...Array.from({ length: edgeItems }, (_, i) => extent - edgeItems + i),
      ]
      : Array.from({ length: extent }, (_, i) => i);
  const strides = shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1));
  // Every element of the output gets the same width, so columns line up.
  const cells = new Map<number, string>();
  const collect = (depth: number, offset: number): void => {
    if (depth === shape.length) {
      cells.set(offset, format(data[offset]));
      return;
    }
    for (const i of indices(shape[depth])) {
      if (i !== null) collect(depth + 1, offset + i * strides[depth]);
    }
  };
  collect(0, 0);
  const width = Math.max(0, ...[...cells.values()].map((s) => s.length));
  const render = (depth: number, offset: number): string => {
    if (depth === shape.length) return cells.get(offset)!.padStart(width);
    const parts = indices(shape[depth]).map((i) =>
      i === null ? "..." : render(depth + 1, offset + i * strides[depth])
    );
    const innermost = depth === shape.length - 1;
    const sep = innermost ? ", " : ",\n" + "\n".repeat(shape.length - depth - 2) +
      " ".repeat(depth + 1);
    return `[${parts.join(sep)}]`;
  };
  return render(0, 0);
}
