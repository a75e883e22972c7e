/**
 * Movement ops as `Tensor`'s methods build them: argument resolution and checks (a `-1`
 * extent, slice specs, broadcast targets), and `pad` with a value and `concat` from padding.
 * Movement never copies: each result is a movement node over its input.
 *
 * @module
 */

import { markComposite } from "./composite.ts";
import { isFloat } from "./dtype.ts";
import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";
import {
  broadcastShapes,
  fmtShape,
  normalizeAxes,
  numel,
  type Shape,
  shapesEqual,
} from "./shape.ts";
import type { SliceSpec, TensorKit, TensorLike } from "./tensor_like.ts";

/** Broadcasts `node` to `shape` (prepending axes, then expanding extent-1 axes). */
export function broadcastNode(node: Node, shape: Shape): Node {
  if (shapesEqual(node.shape, shape)) return node;
  const lifted = ir.reshape(node, [
    ...new Array(shape.length - node.shape.length).fill(1),
    ...node.shape,
  ]);
  return ir.expand(lifted, shape);
}

/** `x` under `shape`, where one extent may be `-1` (the rest of the element count). */
export function reshapeNode(x: Node, shape: readonly number[]): Node {
  const known = shape.filter((d) => d !== -1);
  const holes = shape.length - known.length;
  if (holes > 1) {
    throw new Error(
      `reshape: at most one -1 is allowed, got ${fmtShape(shape)}`,
    );
  }
  let resolved = [...shape];
  if (holes === 1) {
    const rest = numel(known);
    if (rest === 0 || x.size % rest !== 0) {
      throw new Error(
        `reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${
          fmtShape(shape)
        }; expected the known extents to divide the element count`,
      );
    }
    resolved = shape.map((d) => (d === -1 ? x.size / rest : d));
  }
  return ir.reshape(x, resolved);
}

/** The shape of `shape` with axes `start..end` (inclusive) merged into one. */
export function flattenedShape(shape: Shape, start: number, end: number): number[] {
  if (shape.length === 0) return [1];
  const [s] = normalizeAxes("flatten", start, shape.length);
  const [e] = normalizeAxes("flatten", end, shape.length);
  if (e < s) {
    throw new Error(
      `flatten: end axis ${end} comes before start axis ${start}`,
    );
  }
  return [...shape.slice(0, s), numel(shape.slice(s, e + 1)), ...shape.slice(e + 1)];
}

/** The shape of `shape` without its extent-1 axes `axes` (default: all of them). */
export function squeezedShape(shape: Shape, axes?: number | readonly number[]): number[] {
  const ax = axes === undefined
    ? shape.flatMap((d, i) => (d === 1 ? [i] : []))
    : normalizeAxes("squeeze", axes, shape.length);
  for (const a of ax) {
    if (shape[a] !== 1) {
      throw new Error(
        `squeeze: axis ${a} of ${fmtShape(shape)} has extent ${shape[a]}; expected 1`,
      );
    }
  }
  return shape.filter((_, i) => !ax.includes(i));
}

/** `x` broadcast to `shape` (NumPy rules; `-1` keeps an extent). */
export function expandNode(x: Node, shape: readonly number[]): Node {
  const offset = shape.length - x.shape.length;
  const resolved = shape.map((d, i) => (d === -1 ? x.shape[i - offset] : d));
  const target = broadcastShapes("expand", x.shape, resolved);
  if (!shapesEqual(target, resolved)) {
    throw new Error(
      `expand: cannot expand ${fmtShape(x.shape)} to ${fmtShape(resolved)}; expected a ` +
        `target of at least the same rank that the shape broadcasts to`,
    );
  }
  return broadcastNode(x, resolved);
}

/** `x` sliced by `specs` (see {@link SliceSpec}); an index spec drops its axis. */
export function sliceNode(x: Node, specs: readonly SliceSpec[]): Node {
  if (specs.length > x.shape.length) {
    throw new Error(
      `slice: ${specs.length} specs for a tensor of shape ${fmtShape(x.shape)}; expected ` +
        `at most ${x.shape.length}`,
    );
  }
  const starts: number[] = [], stops: number[] = [], steps: number[] = [];
  const drop: number[] = [];
  x.shape.forEach((d, i) => {
    const spec = specs[i] ?? null;
    const norm = (v: number) => (v < 0 ? v + d : v);
    if (spec === null) {
      starts.push(0), stops.push(d), steps.push(1);
    } else if (typeof spec === "number") {
      const k = norm(spec);
      if (!Number.isInteger(k) || k < 0 || k >= d) {
        throw new Error(
          `slice: index ${spec} is out of range for axis ${i} of ${fmtShape(x.shape)}; ` +
            `expected an integer in [${-d}, ${d - 1}]`,
        );
      }
      starts.push(k), stops.push(k + 1), steps.push(1), drop.push(i);
    } else {
      const [s = 0, e = d, st = 1] = spec;
      starts.push(Math.min(Math.max(norm(s), 0), d));
      stops.push(
        Math.max(Math.min(norm(e), d), Math.min(Math.max(norm(s), 0), d)),
      );
      steps.push(st);
    }
  });
  const out = ir.slice(x, starts, stops, steps);
  return drop.length ? ir.reshape(out, out.shape.filter((_, i) => !drop.includes(i))) : out;
}

/** `t` padded by `pads[i] = [before, after]` elements of `value` along each axis `i`. */
export function pad<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  pads: readonly (readonly [number, number])[],
  value: number,
): T {
  if (pads.length !== t.ndim) {
    throw new Error(
      `pad: got ${pads.length} [before, after] pairs for a tensor of rank ${t.ndim}; expected one per axis`,
    );
  }
  const padded = kit.wrap(ir.pad(t.node, pads), t.backend);
  if (value === 0) return padded;
  const inside = kit.wrap(ir.pad(ir.constNode(1, t.shape, "bool"), pads), t.backend);
  const out = kit.where(inside, padded, value);
  if (isFloat(t.dtype)) {
    const copied = pads.map(([a, b]) => [a, b] as const);
    markComposite(out.node, "pad", [t.node], { pads: copied, value });
  }
  return out;
}

/** `tensors` joined along `axis`: each padded to the whole extent, then added (or or-ed). */
export function concat<T extends TensorLike<T>>(
  tensors: readonly T[],
  kit: TensorKit<T>,
  axis: number,
): T {
  if (tensors.length === 0) {
    throw new Error("concat: expected at least one tensor");
  }
  const first = tensors[0];
  const [a] = normalizeAxes("concat", axis, first.ndim);
  for (const t of tensors) {
    const ok = t.ndim === first.ndim &&
      t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) {
      throw new Error(
        `concat: shapes ${
          tensors.map((x) => fmtShape(x.shape)).join(", ")
        } differ off axis ${a}; ` +
          `expected equal extents except along the concatenation axis`,
      );
    }
  }
  const total = tensors.reduce((n, t) => n + t.shape[a], 0);
  let offset = 0;
  let out: T | undefined;
  for (const t of tensors) {
    const pads = t.shape.map((_, i) =>
      (i === a ? [offset, total - offset - t.shape[a]] : [0, 0]) as [number, number]
    );
    offset += t.shape[a];
    const p = t.pad(pads);
    // The padded pieces are zero (false) outside their own range, so adding them (or, for
    // bool, which has no add, taking their logical or) joins them.
    out = out === undefined ? p : p.dtype === "bool" ? kit.where(p, p, out) : out.add(p);
  }
  if (tensors.every((t) => t.dtype === first.dtype)) {
    markComposite(out!.node, "concat", tensors.map((t) => t.node), { axis: a });
  }
  return out!;
}
