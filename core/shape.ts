/**
 * Shape arithmetic: sizes, broadcasting, axis normalization and contiguous strides.
 *
 * @module
 */

/** A tensor shape: one non-negative integer extent per axis. */
export type Shape = readonly number[];

/** Number of elements in a tensor of `shape`. */
export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major (C-order) strides of a contiguous tensor of `shape`. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/** Formats a shape the way errors and listings print it: `[2, 3]`. */
export function fmtShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** Whether two shapes are equal. */
export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks that `shape` is a list of non-negative integers; `op` names the caller in the error. */
export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(
        `${op}: invalid shape ${fmtShape(shape)}; expected non-negative integer extents`,
      );
    }
  }
}

/**
 * The NumPy broadcast of two shapes: axes are aligned from the right and each pair of extents
 * must be equal or contain a 1.
 */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together ` +
          `(axis ${i - n} has extents ${da} and ${db}; expected equal extents or a 1)`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Normalizes possibly negative axes against `rank`, sorted and without duplicates;
 * `undefined` means all axes.
 */
export function normalizeAxes(
  op: string,
  axes: number | readonly number[] | undefined,
  rank: number,
): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === "number" ? [axes] : axes;
  const out = new Set<number>();
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= rank) {
      throw new Error(
        `${op}: axis ${a} is out of range for a tensor of rank ${rank}; expected an integer in [${-rank}, ${
          rank - 1
        }]`,
      );
    }
    const n = a < 0 ? a + rank : a;
    if (out.has(n)) {
      throw new Error(
        `${op}: axis ${a} is repeated in ${JSON.stringify(list)}`,
      );
    }
    out.add(n);
  }
  return [...out].sort((x, y) => x - y);
}
