/**
 * The `Tensor` methods that families of composite ops (core/contraction.ts, core/pooling.ts) are
 * written against, structurally, so those modules never import the class that calls them.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import type { Node } from "./ir.ts";
import type { Shape } from "./shape.ts";

/** A slice of one axis: `null` (all), an index (drops the axis) or `[start, stop?, step?]`. */
export type SliceSpec = null | number | readonly [number, number?, number?];

/** The lazy tensor methods composite ops are built from (all differentiable). */
export interface TensorLike<T extends TensorLike<T>> {
  /** The graph node. */
  readonly node: Node;
  /** The backend. */
  readonly backend: string;
  /** Result shape. */
  readonly shape: Shape;
  /** Result dtype. */
  readonly dtype: DType;
  /** Rank. */
  readonly ndim: number;
  /** `this + other` with broadcasting. */
  add(other: T | number): T;
  /** `this - other` with broadcasting. */
  sub(other: T | number): T;
  /** `this · other` with broadcasting. */
  mul(other: T | number): T;
  /** `this / other` with broadcasting. */
  div(other: T | number): T;
  /** `e^this`. */
  exp(): T;
  /** Natural logarithm. */
  log(): T;
  /** Square root. */
  sqrt(): T;
  /** `this²`. */
  square(): T;
  /** `this == other` (bool). */
  eq(other: T | number): T;
  /** `this != other` (bool). */
  ne(other: T | number): T;
  /** Elementwise minimum with broadcasting. */
  minimum(other: T | number): T;
  /** The same values with zero gradient. */
  detach(): T;
  /** Maximum over `axes`. */
  max(axes?: number | readonly number[], opts?: { keepdims?: boolean }): T;
  /** Minimum over `axes`. */
  min(axes?: number | readonly number[], opts?: { keepdims?: boolean }): T;
  /** Sum over `axes`. */
  sum(axes?: number | readonly number[], opts?: { keepdims?: boolean }): T;
  /** Mean over `axes`. */
  mean(axes?: number | readonly number[], opts?: { keepdims?: boolean }): T;
  /** The same elements under `shape`. */
  reshape(shape: readonly number[]): T;
  /** Output axis `i` is input axis `axes[i]`. */
  permute(...axes: number[]): T;
  /** Swaps two axes. */
  transpose(a?: number, b?: number): T;
  /** Inserts an extent-1 axis. */
  unsqueeze(axis: number): T;
  /** Drops extent-1 axes. */
  squeeze(axes?: number | readonly number[]): T;
  /** Repeats extent-1 axes. */
  expand(shape: readonly number[]): T;
  /** Takes a slice per axis. */
  slice(specs: readonly SliceSpec[]): T;
  /** Pads every axis with `value`. */
  pad(pads: readonly (readonly [number, number])[], value?: number): T;
  /** 2-D convolution (the input gradient of a convolution is one). */
  conv2d(
    weight: T,
    opts: { dilation?: number | readonly [number, number]; groups?: number },
  ): T;
}

/** What a composite needs beyond methods: wrapping nodes and making leaves. */
export interface TensorKit<T extends TensorLike<T>> {
  /** A tensor of `node` on `backend`. */
  wrap(node: Node, backend: string): T;
  /** A leaf holding `data` (row-major) of `shape` and `dtype` on `backend`. */
  leaf(data: Float64Array, shape: Shape, dtype: DType, backend: string): T;
  /** `where(cond, a, b)` with broadcasting. */
  where(cond: T, a: T | number, b: T | number): T;
  /** The shared `[0, n)` leaf of `dtype` on `backend` (never disposed). */
  indexRange(n: number, dtype: DType, backend: string): T;
}
