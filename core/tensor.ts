/**
 * The user-facing `Tensor`: lazy methods that only build graph nodes.
 *
 * Nothing runs until data is requested (`await t.data()`, `realize(...)`). Composite operations
 * (mean, var, softmax, matmul, conv2d, pooling) are built from the primitives of `ir.ts`, so their
 * gradients come from the primitives' rules.
 *
 * @example Build, print and read a small graph
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * const x = Tensor.from([[1, 2], [3, 4]]);
 * const y = x.mul(x).sum(1);
 * console.log(y.toString());
 * console.log(await y.data()); // Float32Array [5, 25]
 * ```
 *
 * @module
 */

import { defaultBackend } from "./devices.ts";
import {
  allocArray,
  castScalar,
  checkDtype,
  type DType,
  isFloat,
  promoteTypes,
  type TypedArray,
} from "./dtype.ts";
import { markComposite } from "./composite.ts";
import { defineCustomVjp } from "./autodiff.ts";
import { conv2dInputGrad, type ConvGeometry } from "./conv_grad.ts";
import { cumsumNode } from "./scan.ts";
import { poolAxis } from "./pool_counts.ts";
import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";
import { formatGraph } from "./print.ts";
import { isRealized, ownStorage, realizeNodes, releaseStorage, storageOf } from "./realize.ts";
import {
  broadcastShapes,
  checkShape,
  fmtShape,
  normalizeAxes,
  numel,
  type Shape,
  shapesEqual,
} from "./shape.ts";
import { Storage } from "./storage.ts";
import { uniformStream } from "./random.ts";
import { checkWindow, windowPair } from "./window_args.ts";
import { windowMax } from "./window_max.ts";
import { tiledWindows } from "./tiled_windows.ts";
import { gatherNode } from "./gather.ts";
import { knownValues } from "./known_values.ts";
import { ceilNode, remainderNode, truncNode } from "./rounding.ts";

/** Nested arrays of numbers or booleans, as accepted by {@link Tensor.from}. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** Where and as what a new tensor is created. */
export interface CreateOptions {
  /** Element type (default `float32`). */
  dtype?: DType;
  /** Backend name (default: the current default backend). */
  backend?: string;
}

/** Options of {@link Tensor.from}. */
export interface FromOptions extends CreateOptions {
  /** Shape of flat data (default: inferred from nesting, or `[length]` for flat data). */
  shape?: Shape;
}

/** Options of the seeded random constructors. */
export interface RandomOptions extends CreateOptions {
  /** Seed; the same seed gives the same values. Default: the next value of a global counter. */
  seed?: number;
}

/** Options of reductions. */
export interface ReduceOptions {
  /** Keep reduced axes with extent 1 (default `false`). */
  keepdims?: boolean;
}

/** Options of variance and standard deviation. */
export interface VarOptions extends ReduceOptions {
  /**
   * Subtracted from the element count in the denominator: 1 (the default, as in PyTorch) gives the
   * unbiased estimate, 0 the biased (population) variance.
   */
  correction?: number;
}

/** Options of `conv2d`. */
export interface Conv2dOptions {
  /** Bias of shape `[Cout]`. */
  bias?: Tensor;
  /** Stride, one number or `[sh, sw]` (default 1). */
  stride?: number | readonly [number, number];
  /** Zero padding, one number or `[ph, pw]` (default 0). */
  padding?: number | readonly [number, number];
  /** Dilation, one number or `[dh, dw]` (default 1). */
  dilation?: number | readonly [number, number];
  /** Number of groups (default 1). */
  groups?: number;
}

/** Options of 2-D pooling. */
export interface Pool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: number | readonly [number, number];
  /** Implicit padding on both sides (default 0): zeros for average pooling, -∞ for max pooling. */
  padding?: number | readonly [number, number];
  /** Dilation (default 1). */
  dilation?: number | readonly [number, number];
}

/** Options of {@link Tensor.avgPool2d}: {@link Pool2dOptions} and PyTorch's two flags. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Whether zero padding counts toward each window's divisor (default `true`, as PyTorch). */
  countIncludePad?: boolean;
  /** Ceil instead of floor for the output size: a last partial window is kept (default `false`). */
  ceilMode?: boolean;
}

/** A slice of one axis: `null` (all), an index (drops the axis) or `[start, stop?, step?]`. */
export type SliceSpec = null | number | readonly [number, number?, number?];

let globalSeed = 0x5eed;

/** Sets the seed used by random constructors called without an explicit `seed`. */
export function manualSeed(seed: number): void {
  globalSeed = seed >>> 0;
}

function pair(
  v: number | readonly [number, number],
  what: string,
  op: string,
): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x))) {
    throw new Error(
      `${op}: ${what} must be an integer or a pair of integers, got ${JSON.stringify(v)}`,
    );
  }
  return p;
}

/** A value that is no number, named for errors: `a string ("a")`, `undefined`, … */
function describeValue(v: unknown): string {
  if (typeof v === "string") return `a string (${JSON.stringify(v.slice(0, 20))})`;
  if (typeof v === "bigint") return `a bigint (${v}n; convert it with Number())`;
  if (v === null || v === undefined) return String(v);
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${v}`;
  return `${typeof v === "object" ? "an object" : `a ${typeof v}`} (${
    Object.prototype.toString.call(v)
  })`;
}

function flattenNested(
  data: NestedArray,
  op: string,
): { values: number[]; shape: number[] } {
  const shape: number[] = [];
  let probe: NestedArray = data;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0];
  }
  const values: number[] = [];
  // One mutable index path (copied only into messages): large arrays allocate nothing per element.
  const path: number[] = [];
  const at = (p: number[]) => `element [${p.join(", ")}]`;
  const walk = (x: NestedArray): void => {
    const depth = path.length;
    if (depth === shape.length) {
      if (typeof x === "number" || typeof x === "boolean") {
        values.push(typeof x === "boolean" ? (x ? 1 : 0) : x);
        return;
      }
      throw new Error(
        Array.isArray(x)
          ? `${op}: ragged nested array: ${at(path)} is an array; expected a number like ${
            at(path.map(() => 0))
          }`
          : `${op}: ${at(path)} is ${describeValue(x)}; expected a number or a boolean`,
      );
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new Error(
        `${op}: ragged nested array: ${at(path)} is ${
          Array.isArray(x) ? `an array of ${x.length}` : describeValue(x)
        }; expected an array of ${shape[depth]} like ${at(path.map(() => 0))}`,
      );
    }
    const xs = x as readonly NestedArray[];
    path.push(0);
    for (let i = 0; i < xs.length; i++) {
      path[depth] = i;
      walk(xs[i]); // holes read as undefined and are rejected
    }
    path.pop();
  };
  walk(data);
  return { values, shape };
}

// Module-private: lets `realize(...)` make the tensors it realized owners of their results.
const OWN_RESULT: unique symbol = Symbol("ownResult");

/** A lazy n-dimensional array: methods build graph nodes; data is computed on request. */
export class Tensor {
  /** The graph node this tensor denotes. */
  readonly node: Node;
  /** The backend this tensor is realized on. */
  readonly backend: string;
  #disposed: string | undefined;
  // The storage this tensor owns a reference on (see core/storage.ts). Owners: leaves made over
  // storage, tensors made by `to`, and computed tensors once realized through them. A view (a
  // tensor of the same node from an identity op) owns nothing, so it never frees its source.
  #owned: Storage | undefined;

  /** Wraps a graph node; most code uses the static constructors instead. */
  constructor(node: Node, backend: string = defaultBackend()) {
    this.node = node;
    this.backend = backend;
  }

  // ------------------------------------------------------------------------------------------
  // Creation.

  /** A tensor from nested arrays, a flat array or a typed array (with `shape`). */
  static from(
    data: NestedArray | TypedArray | readonly number[],
    opts: FromOptions = {},
  ): Tensor {
    const dtype = checkDtype(
      "Tensor.from",
      opts.dtype ??
        (data instanceof Float64Array
          ? "float64"
          : data instanceof Int32Array
          ? "int32"
          : "float32"),
    );
    let values: ArrayLike<number>;
    let inferred: number[];
    if (ArrayBuffer.isView(data)) {
      values = data as TypedArray;
      inferred = [values.length];
    } else {
      ({ values, shape: inferred } = flattenNested(
        data as NestedArray,
        "Tensor.from",
      ));
    }
    const shape = opts.shape ?? inferred;
    checkShape("Tensor.from", shape);
    if (numel(shape) !== values.length) {
      throw new Error(
        `Tensor.from: ${values.length} values cannot fill shape ${fmtShape(shape)} ` +
          `(${numel(shape)} elements); expected equal counts`,
      );
    }
    const arr = allocArray(dtype, values.length);
    if (dtype === "int32") {
      for (let i = 0; i < values.length; i++) arr[i] = castScalar(+values[i], dtype);
    } else {
      for (let i = 0; i < values.length; i++) arr[i] = values[i];
    }
    return Tensor.fromStorage(
      Storage.fromHost(dtype, arr),
      shape,
      opts.backend,
    );
  }

  /** A leaf tensor over existing storage. */
  static fromStorage(storage: Storage, shape: Shape, backend?: string): Tensor {
    const t = new Tensor(ir.bufferNode(storage, shape, storage.dtype), backend);
    t.#own();
    return t;
  }

  /** A tensor filled with `value` (a realized leaf, so it can be differentiated against). */
  static full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
    checkShape("Tensor.full", shape);
    const arr = allocArray(checkDtype("Tensor.full", opts.dtype ?? "float32"), numel(shape));
    arr.fill(castScalar(value, opts.dtype ?? "float32"));
    return Tensor.fromStorage(
      Storage.fromHost(opts.dtype ?? "float32", arr),
      shape,
      opts.backend,
    );
  }

  /** A tensor of zeros. */
  static zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
    return Tensor.full(shape, 0, opts);
  }

  /** A tensor of ones. */
  static ones(shape: Shape, opts: CreateOptions = {}): Tensor {
    return Tensor.full(shape, 1, opts);
  }

  /** `[start, start + step, …]` below `stop`; with one argument, `[0, 1, …, stop - 1]`. */
  static arange(
    start: number,
    stop?: number,
    step = 1,
    opts: CreateOptions = {},
  ): Tensor {
    if (stop === undefined) [start, stop] = [0, start];
    if (step === 0 || !Number.isFinite(step)) {
      throw new Error(
        `Tensor.arange: step must be a finite nonzero number, got ${step}`,
      );
    }
    const n = Math.max(0, Math.ceil((stop - start) / step));
    const arr = allocArray(checkDtype("Tensor.arange", opts.dtype ?? "float32"), n);
    for (let i = 0; i < n; i++) arr[i] = start + i * step;
    return Tensor.fromStorage(Storage.fromHost(opts.dtype ?? "float32", arr), [
      n,
    ], opts.backend);
  }

  /** Seeded uniform samples in `[low, high)`. */
  static rand(
    shape: Shape,
    opts: RandomOptions & { low?: number; high?: number } = {},
  ): Tensor {
    checkShape("Tensor.rand", shape);
    requireFloatDtype("Tensor.rand", opts.dtype);
    const { low = 0, high = 1 } = opts;
    const next = uniformStream(opts.seed ?? globalSeed++);
    const arr = allocArray(opts.dtype ?? "float32", numel(shape));
    for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * next();
    return Tensor.fromStorage(
      Storage.fromHost(opts.dtype ?? "float32", arr),
      shape,
      opts.backend,
    );
  }

  /** Seeded normal samples with mean `mean` and standard deviation `std` (Box–Muller). */
  static randn(
    shape: Shape,
    opts: RandomOptions & { mean?: number; std?: number } = {},
  ): Tensor {
    checkShape("Tensor.randn", shape);
    requireFloatDtype("Tensor.randn", opts.dtype);
    const { mean = 0, std = 1 } = opts;
    const next = uniformStream(opts.seed ?? globalSeed++);
    const arr = allocArray(opts.dtype ?? "float32", numel(shape));
    for (let i = 0; i < arr.length; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - next()));
      const t = 2 * Math.PI * next();
      arr[i] = mean + std * r * Math.cos(t);
      if (i + 1 < arr.length) arr[i + 1] = mean + std * r * Math.sin(t);
    }
    return Tensor.fromStorage(
      Storage.fromHost(opts.dtype ?? "float32", arr),
      shape,
      opts.backend,
    );
  }

  // ------------------------------------------------------------------------------------------
  // Properties.

  /** The shape. */
  get shape(): Shape {
    return this.node.shape;
  }

  /** The element type. */
  get dtype(): DType {
    return this.node.dtype;
  }

  /** Number of axes. */
  get ndim(): number {
    return this.node.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return this.node.size;
  }

  /** Whether the data has been computed. */
  get isRealized(): boolean {
    return isRealized(this.node);
  }

  #wrap(node: Node): Tensor {
    return new Tensor(node, this.backend);
  }

  #check(op: string): void {
    if (this.#disposed !== undefined) {
      throw new Error(`${op}: the tensor was ${this.#disposed} and cannot be used`);
    }
  }

  /** Takes this tensor's reference on its data once the data exists. */
  #own(): void {
    if (this.#owned === undefined) this.#owned = ownStorage(this.node, this);
  }

  /** After realization: a computed tensor owns its result (a view of a leaf stays a view). */
  [OWN_RESULT](): void {
    if (this.node.op !== "buffer") this.#own();
  }

  // ------------------------------------------------------------------------------------------
  // Elementwise arithmetic with NumPy broadcasting.

  /** Broadcasts `this` and `other` (a tensor or a number) to one shape and dtype. */
  #operands(op: string, other: Tensor | number): [Node, Node] {
    this.#check(op);
    if (typeof other === "number") {
      // As PyTorch: an int32 tensor with a non-integer number computes in float32.
      const dtype = this.dtype === "bool" || (this.dtype === "int32" && !Number.isInteger(other))
        ? "float32"
        : this.dtype;
      return [
        ir.cast(this.node, dtype),
        ir.constNode(other, this.shape, dtype),
      ];
    }
    other.#check(op);
    if (other.backend !== this.backend) {
      throw new Error(
        `${op}: operands live on different backends (${this.backend} and ${other.backend}); ` +
          `expected one backend (move one with .to())`,
      );
    }
    const dtype = promoteTypes(this.dtype, other.dtype);
    const shape = broadcastShapes(op, this.shape, other.shape);
    return [
      broadcastNode(ir.cast(this.node, dtype), shape),
      broadcastNode(ir.cast(other.node, dtype), shape),
    ];
  }

  #binary(op: ir.BinaryOp, other: Tensor | number, name: string = op): Tensor {
    const [a, b] = this.#operands(name, other);
    return this.#wrap(ir.binary(op, a, b));
  }

  #unary(op: ir.UnaryOp): Tensor {
    this.#check(op);
    return this.#wrap(ir.unary(op, this.#float(op)));
  }

  /** The node as a float (bool and int32 become float32, as PyTorch promotes them). */
  #float(op: string): Node {
    this.#check(op);
    return isFloat(this.dtype) ? this.node : ir.cast(this.node, "float32");
  }

  /** The node as a number type (bool becomes float32; int32 stays). */
  #numeric(op: string): Node {
    this.#check(op);
    return this.dtype === "bool" ? ir.cast(this.node, "float32") : this.node;
  }

  /** `this + other`. */
  add(other: Tensor | number): Tensor {
    return this.#binary("add", other);
  }

  /** `this - other`. */
  sub(other: Tensor | number): Tensor {
    const [a, b] = this.#operands("sub", other);
    return this.#wrap(markComposite(ir.binary("add", a, ir.unary("neg", b)), "sub", [a, b], {}));
  }

  /** `this · other`. */
  mul(other: Tensor | number): Tensor {
    return this.#binary("mul", other);
  }

  /** `this / other`; true division, so int32 operands give float32 (as PyTorch). */
  div(other: Tensor | number): Tensor {
    let [a, b] = this.#operands("div", other);
    if (!isFloat(a.dtype)) [a, b] = [ir.cast(a, "float32"), ir.cast(b, "float32")];
    return this.#wrap(markComposite(ir.binary("mul", a, ir.unary("recip", b)), "div", [a, b], {}));
  }

  /** Elementwise maximum (ties split the gradient evenly). */
  maximum(other: Tensor | number): Tensor {
    return this.#binary("max", other, "maximum");
  }

  /** Elementwise minimum. */
  minimum(other: Tensor | number): Tensor {
    const [a, b] = this.#operands("minimum", other);
    return this.#wrap(flip(ir.binary("max", flip(a), flip(b))));
  }

  /**
   * Limits each element to `[min, max]` (either bound may be `null`; bounds are numbers or
   * tensors that broadcast). Gradients as PyTorch's: `this` receives them where
   * `min <= x <= max` (inclusive), NaN gives NaN. If `min > max`, every element becomes `max`.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * console.log(await Tensor.from([-2, 0.5, 3]).clamp(-1, 1).data()); // [-1, 0.5, 1]
   * ```
   */
  clamp(min?: ClampBound, max?: ClampBound): Tensor {
    this.#check("clamp");
    return clampTensor(this, min, max);
  }

  /** NumPy's name for {@link Tensor.clamp}. */
  clip(min?: ClampBound, max?: ClampBound): Tensor {
    return this.clamp(min, max);
  }

  /**
   * `this` raised to `exponent` elementwise, as PyTorch's `pow` (C's): `x^0 = 1^y = 1` even for
   * NaN, `(-2)^-2 = 0.25`, `(-2)^3 = -8`, non-integer powers of negative numbers are NaN,
   * `0^-1 = Infinity`, `(-0)^-1 = -Infinity`. int32 stays int32 for the exponents 1 to 4 (as PyTorch) and computes in float32 otherwise. Gradients as PyTorch's: `b·a^(b-1)` (0 where
   * `b = 0`) and `a^b·log(a)` (0 where `a = 0` and `b >= 0`).
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([-2, -2, 0]).pow(Tensor.from([-2, 3, 0])).data();
   * if (y.join() !== "0.25,-8,1") throw new Error(`pow: ${y}`);
   * ```
   */
  pow(exponent: Tensor | number): Tensor {
    if (typeof exponent === "number") {
      // Exact shortcuts with PyTorch's values and gradients (x·x, sqrt and 1/x are exact).
      if (exponent === 1) return this;
      if (exponent === 0.5) return this.sqrt();
      if (exponent === -1) return this.reciprocal();
      if (exponent === 2 || exponent === 3 || exponent === 4) {
        let out = this.#wrap(this.node);
        for (let i = 1; i < exponent; i++) out = out.mul(this);
        return out;
      }
    }
    const [a, b] = this.#operands("pow", exponent);
    // Integer powers compute in float32 (PyTorch keeps int32, which can overflow silently).
    if (isFloat(a.dtype)) return this.#wrap(ir.binary("pow", a, b));
    return this.#wrap(ir.binary("pow", ir.cast(a, "float32"), ir.cast(b, "float32")));
  }

  /** `-this` (int32 wraps around: `-(-2^31)` is `-2^31`). */
  neg(): Tensor {
    return this.#wrap(ir.unary("neg", this.#numeric("neg")));
  }

  /** `e^this`. */
  exp(): Tensor {
    return this.#unary("exp");
  }

  /** Natural logarithm. */
  log(): Tensor {
    return this.#unary("log");
  }

  /** Square root. */
  sqrt(): Tensor {
    return this.#unary("sqrt");
  }

  /** `1 / sqrt(this)`. */
  rsqrt(): Tensor {
    return this.sqrt().reciprocal();
  }

  /** `1 / this`. */
  reciprocal(): Tensor {
    return this.#unary("recip");
  }

  /** Sine. */
  sin(): Tensor {
    return this.#unary("sin");
  }

  /** Cosine, as `sin(x + π/2)`. */
  cos(): Tensor {
    return this.add(Math.PI / 2).sin();
  }

  /** Logistic sigmoid `1 / (1 + e^-x)`. */
  sigmoid(): Tensor {
    return this.#unary("sigmoid");
  }

  /** Hyperbolic tangent. */
  tanh(): Tensor {
    return this.#unary("tanh");
  }

  /** `max(x, 0)`, with gradient 0 at 0 and NaN kept (gradient 1), as in PyTorch. */
  relu(): Tensor {
    // x where (x > 0) == (x == x), that is x > 0 or x is NaN: relu(NaN) is NaN as in PyTorch.
    const out = Tensor.where(this.gt(0).eq(this.eq(this)), this, 0);
    if (isFloat(this.dtype)) markComposite(out.node, "relu", [this.node], {});
    return out;
  }

  /** `x · x`. */
  square(): Tensor {
    return this.mul(this);
  }

  /** -1, 0 or 1 by the sign of each element (gradient 0; int32 for int32). */
  sign(): Tensor {
    const dtype = this.dtype === "int32" ? "int32" : this.#floatDtype();
    return this.gt(0).cast(dtype).sub(this.lt(0).cast(dtype));
  }

  /** Absolute value (gradient 0 at 0 as in PyTorch). */
  abs(): Tensor {
    return this.mul(this.sign());
  }

  /**
   * The largest integer `<= x`, elementwise (as `torch.floor`: -0, NaN and ±Infinity are kept;
   * int32 is returned as it is; gradient 0).
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([-1.5, -0.5, 0.5, 2]).floor().data();
   * if (y.join() !== "-2,-1,0,2") throw new Error(`floor: ${y}`);
   * ```
   */
  floor(): Tensor {
    return this.#rounded("floor", (x) => ir.unary("floor", x));
  }

  /** The smallest integer `>= x`, elementwise (as `torch.ceil`; int32 as it is; gradient 0). */
  ceil(): Tensor {
    return this.#rounded("ceil", ceilNode);
  }

  /**
   * The nearest integer, ties to even (as `torch.round`: `round(2.5) = 2`, `round(-0.5) = -0`;
   * int32 as it is; gradient 0).
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([0.5, 1.5, 2.5, -2.5]).round().data();
   * if (y.join() !== "0,2,2,-2") throw new Error(`round: ${y}`);
   * ```
   */
  round(): Tensor {
    return this.#rounded("round", (x) => ir.unary("round", x));
  }

  /** Rounds toward zero, elementwise (as `torch.trunc`; int32 as it is; gradient 0). */
  trunc(): Tensor {
    return this.#rounded("trunc", truncNode);
  }

  #rounded(op: string, f: (x: Node) => Node): Tensor {
    this.#check(op);
    if (this.dtype === "bool") {
      throw new Error(`${op}: expected a float32, float64 or int32 tensor, got bool`);
    }
    return this.#wrap(this.dtype === "int32" ? this.node : f(this.node));
  }

  /**
   * `floor(this / other)` with broadcasting, as `torch.floor_divide` and Python's `//`: dtypes
   * promote as for {@link Tensor.add} (int32 stays int32 and is exact; an int32 tensor with a
   * non-integer number computes in float32). Floats follow IEEE for a zero divisor
   * (`1 // 0 = Infinity`, `0 // 0 = NaN`); int32 division by zero gives 0 (PyTorch raises) and
   * `-2^31 // -1` wraps to `-2^31`. Gradient 0.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([7, -7], { dtype: "int32" }).floorDivide(2).data();
   * if (y.join() !== "3,-4") throw new Error(`floorDivide: ${y}`);
   * ```
   */
  floorDivide(other: Tensor | number): Tensor {
    const [a, b] = this.#integerOperands("floorDivide", other);
    return this.#wrap(ir.binary("floor_div", a, b));
  }

  /**
   * The remainder of floor division, with the sign of `other` (as `torch.remainder` and
   * Python's `%`): `remainder(-7, 2) = 1`. Broadcasting and dtypes as
   * {@link Tensor.floorDivide}; int32 remainders by zero are 0. Gradients as PyTorch's: 1 for
   * `this`, `-floorDivide(this, other)` for `other`.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([-7, 7]).remainder(Tensor.from([2, -2])).data();
   * if (y.join() !== "1,-1") throw new Error(`remainder: ${y}`);
   * ```
   */
  remainder(other: Tensor | number): Tensor {
    const [a, b] = this.#integerOperands("remainder", other);
    return this.#wrap(remainderNode(a, b));
  }

  /**
   * The remainder of truncated division, with the sign of `this` (as `torch.fmod` and C's
   * `fmod`): `fmod(-7, 2) = -1`; exact for floats. Broadcasting and dtypes as
   * {@link Tensor.floorDivide}; int32 remainders by zero are 0. Gradients as PyTorch's: 1 for
   * `this`, `-trunc(this / other)` for `other`.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const y = await Tensor.from([-7, 7]).fmod(Tensor.from([2, -2])).data();
   * if (y.join() !== "-1,1") throw new Error(`fmod: ${y}`);
   * ```
   */
  fmod(other: Tensor | number): Tensor {
    const [a, b] = this.#integerOperands("fmod", other);
    return this.#wrap(ir.binary("fmod", a, b));
  }

  /** Broadcast operands of a division op, which takes no bool (as PyTorch). */
  #integerOperands(op: string, other: Tensor | number): [Node, Node] {
    if (this.dtype === "bool" || (typeof other !== "number" && other.dtype === "bool")) {
      const got = typeof other === "number" ? "a number" : other.dtype;
      throw new Error(
        `${op}: expected float32, float64 or int32 operands, got ${this.dtype} and ${got}`,
      );
    }
    return this.#operands(op, other);
  }

  #floatDtype(): DType {
    return this.dtype === "float64" ? "float64" : "float32";
  }

  /** `this < other` as bool. */
  lt(other: Tensor | number): Tensor {
    return this.#binary("cmplt", other, "lt");
  }

  /** `this > other` as bool. */
  gt(other: Tensor | number): Tensor {
    const [a, b] = this.#operands("gt", other);
    return this.#wrap(ir.binary("cmplt", b, a));
  }

  /** `this <= other` as bool (false where either is NaN, as in PyTorch). */
  le(other: Tensor | number): Tensor {
    // lt and eq exclude each other: their sum as numbers is 0 or 1 (no `where` on bools, which
    // ONNX Runtime lacks).
    return this.lt(other).cast("float32").add(this.eq(other).cast("float32")).gt(0);
  }

  /** `this >= other` as bool (false where either is NaN, as in PyTorch). */
  ge(other: Tensor | number): Tensor {
    return this.gt(other).cast("float32").add(this.eq(other).cast("float32")).gt(0);
  }

  /** `this == other` as bool. */
  eq(other: Tensor | number): Tensor {
    return this.#binary("cmpeq", other, "eq");
  }

  /** `this != other` as bool. */
  ne(other: Tensor | number): Tensor {
    return this.eq(other).logicalNot();
  }

  /** Logical negation of a bool tensor. */
  logicalNot(): Tensor {
    this.#check("logicalNot");
    if (this.dtype !== "bool") {
      throw new Error(`logicalNot: expected a bool tensor, got ${this.dtype}`);
    }
    return this.#wrap(
      ir.binary("cmpeq", this.node, ir.constNode(0, this.shape, "bool")),
    );
  }

  /** Elements of `a` where `cond` is true, else of `b` (all three broadcast). */
  static where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
    if (cond.dtype !== "bool") {
      throw new Error(
        `where: expected a bool condition, got ${cond.dtype}${fmtShape(cond.shape)}`,
      );
    }
    const tensors = [a, b].filter((t) => t instanceof Tensor);
    let dtype: DType = tensors.length === 0
      ? "float32"
      : tensors.map((t) => t.dtype).reduce(promoteTypes);
    // As PyTorch: an int32 branch with a non-integer number computes in float32.
    if (dtype === "int32" && [a, b].some((v) => typeof v === "number" && !Number.isInteger(v))) {
      dtype = "float32";
    }
    const lift = (v: Tensor | number): Tensor =>
      v instanceof Tensor ? v.cast(dtype) : new Tensor(ir.constNode(v, [], dtype), cond.backend);
    const ta = lift(a), tb = lift(b);
    let shape = broadcastShapes("where", cond.shape, ta.shape);
    shape = broadcastShapes("where", shape, tb.shape);
    for (const t of [ta, tb]) {
      if (t.backend !== cond.backend) {
        throw new Error(
          `where: operands live on different backends (${cond.backend} and ${t.backend}); expected one backend`,
        );
      }
    }
    return new Tensor(
      ir.where(
        broadcastNode(cond.node, shape),
        broadcastNode(ta.node, shape),
        broadcastNode(tb.node, shape),
      ),
      cond.backend,
    );
  }

  /**
   * Converts to `dtype`. To int32, floats truncate toward zero and saturate: NaN gives 0 and
   * values beyond the int32 range (±Infinity included) give 2^31 - 1 or -2^31.
   */
  cast(dtype: DType): Tensor {
    this.#check("cast");
    return dtype === this.dtype ? this : this.#wrap(ir.cast(this.node, dtype));
  }

  /** The same values with a zero gradient (`stop_gradient`); a realized tensor becomes a leaf. */
  detach(): Tensor {
    this.#check("detach");
    const storage = storageOf(this.node);
    // A leaf is interned by its storage, so re-wrapping it would give back the same node and
    // gradients would still flow: leaves get a detach node instead.
    if (storage !== undefined && this.node.op !== "buffer") {
      return Tensor.fromStorage(storage, this.shape, this.backend);
    }
    return this.#wrap(ir.detach(this.node));
  }

  // ------------------------------------------------------------------------------------------
  // Reductions.

  #reduce(
    op: ir.ReduceOp,
    name: string,
    axes: number | readonly number[] | undefined,
    keepdims: boolean,
  ) {
    this.#check(name);
    const ax = normalizeAxes(name, axes, this.ndim);
    const r = ir.reduce(op, this.#numeric(name), ax);
    const out = this.#wrap(r);
    return keepdims ? out : out.reshape(this.shape.filter((_, i) => !ax.includes(i)));
  }

  /**
   * Inclusive prefix sums along `axis` (PyTorch's `cumsum`; a bool tensor counts as float32). A
   * blocked scan: `O(n·32)` work and one kernel per level of 32 (three up to 1,024 elements); the
   * gradient is the reverse cumulative sum. Sums are added in a different order than a
   * sequential loop, so float32 results differ from it by rounding only.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * console.log(await Tensor.from([[1, 2, 3], [4, 5, 6]]).cumsum(1).data()); // [1, 3, 6, 4, 9, 15]
   * ```
   */
  cumsum(axis: number): Tensor {
    this.#check("cumsum");
    return this.#wrap(cumsumNode(this.#float("cumsum"), axis));
  }

  /** Sum over `axes` (default: all); an int32 sum is int32 and wraps (PyTorch's is int64). */
  sum(axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
    return this.#reduce("reduce_sum", "sum", axes, opts.keepdims ?? false);
  }

  /** Mean over `axes` (default: all); int32 tensors must be cast to a float dtype first. */
  mean(axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
    if (this.dtype === "int32") {
      throw new Error(
        `mean: expected a float or bool tensor, got int32${fmtShape(this.shape)}; ` +
          `cast it first (.cast("float32")), as PyTorch asks`,
      );
    }
    const count = this.#count("mean", axes);
    const out = this.sum(axes, opts).div(count);
    if (isFloat(this.dtype)) {
      const ax = normalizeAxes("mean", axes, this.ndim);
      markComposite(out.node, "mean", [this.node], { axes: ax, keepdims: !!opts.keepdims });
    }
    return out;
  }

  #count(op: string, axes?: number | readonly number[]): number {
    return normalizeAxes(op, axes, this.ndim).reduce(
      (n, a) => n * this.shape[a],
      1,
    );
  }

  /** Maximum over `axes` (ties split the gradient evenly). */
  max(axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
    return this.#reduce("reduce_max", "max", axes, opts.keepdims ?? false);
  }

  /** Minimum over `axes`. */
  min(axes?: number | readonly number[], opts: ReduceOptions = {}): Tensor {
    const flipped = this.#wrap(flip(this.#numeric("min")));
    return this.#wrap(flip(flipped.max(axes, opts).node));
  }

  /** Variance over `axes`: unbiased by default (`correction: 1`), biased with `correction: 0`. */
  var(axes?: number | readonly number[], opts: VarOptions = {}): Tensor {
    const { correction = 1, keepdims = false } = opts;
    const n = this.#count("var", axes);
    const centered = this.sub(this.mean(axes, { keepdims: true }));
    return centered.square().sum(axes, { keepdims }).div(
      Math.max(0, n - correction),
    );
  }

  /** Standard deviation over `axes` (same `correction` rule as `var`). */
  std(axes?: number | readonly number[], opts: VarOptions = {}): Tensor {
    return this.var(axes, opts).sqrt();
  }

  /**
   * PyTorch's `gather`: `out[p] = this[p with axis ← index[p]]` for every position `p` of
   * `index` (int32, the same rank, extents at most this tensor's off `axis`). Gradients scatter
   * back into the gathered positions (repeated indices add up). Index values known on the host
   * are checked; a computed index outside `[0, n)` gives NaN (0 for an int32 input).
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const x = Tensor.from([[10, 11, 12], [20, 21, 22]]);
   * const i = Tensor.from([[2, 0], [1, 1]], { dtype: "int32" });
   * console.log(await x.gather(1, i).data()); // [12, 10, 21, 21]
   * ```
   */
  gather(axis: number, index: Tensor): Tensor {
    this.#check("gather");
    index.#check("gather");
    const [a] = normalizeAxes("gather", axis, this.ndim);
    if (index.backend !== this.backend) {
      throw new Error(
        `gather: index lives on ${index.backend} and the input on ${this.backend}; expected one ` +
          `backend`,
      );
    }
    const n = this.shape[a];
    const iota = indexRange(n, "int32", this.backend);
    const out = gatherNode(this.#numeric("gather"), a, index.node, iota.node); // checks shapes
    checkIndexValues("gather", index, n, a, this.shape);
    return this.#wrap(out);
  }

  /**
   * PyTorch's `index_select`: the slices of `axis` at the int32 positions of the 1-D `index`, in
   * its order (repeats allowed). Built on {@link Tensor.gather}.
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const x = Tensor.from([[1, 2], [3, 4], [5, 6]]);
   * console.log(await x.indexSelect(0, Tensor.from([2, 0, 2], { dtype: "int32" })).data());
   * // [5, 6, 1, 2, 5, 6]
   * ```
   */
  indexSelect(axis: number, index: Tensor): Tensor {
    this.#check("indexSelect");
    const [a] = normalizeAxes("indexSelect", axis, this.ndim);
    if (index.ndim !== 1) {
      throw new Error(
        `indexSelect: expected a 1-D index, got ${index.dtype}${fmtShape(index.shape)}`,
      );
    }
    checkIndexValues("indexSelect", index, this.shape[a], a, this.shape);
    const shape = this.shape.map((d, i) => (i === a ? index.shape[0] : d));
    const spread = index.reshape(this.shape.map((_, i) => (i === a ? index.shape[0] : 1)))
      .expand(shape);
    return this.gather(a, spread);
  }

  /**
   * Index of the maximum along `axis`, as int32 (PyTorch's semantics): the first NaN if there
   * is one, else the first of tied maxima.
   */
  argmax(axis: number, opts: ReduceOptions = {}): Tensor {
    return argExtreme(this, "argmax", axis, opts);
  }

  /**
   * Index of the minimum along `axis`, as int32 (PyTorch's semantics): the first NaN if there
   * is one, else the first of tied minima.
   */
  argmin(axis: number, opts: ReduceOptions = {}): Tensor {
    return argExtreme(this, "argmin", axis, opts);
  }

  /** `log(sum(exp(x)))` over `axes`, computed stably. */
  logsumexp(
    axes?: number | readonly number[],
    opts: ReduceOptions = {},
  ): Tensor {
    const m = this.max(axes, { keepdims: true }).detach();
    const out = this.sub(m).exp().sum(axes, { keepdims: true }).log().add(m);
    return opts.keepdims ? out : out.reshape(this.#keptShape(axes));
  }

  #keptShape(axes?: number | readonly number[]): number[] {
    const ax = normalizeAxes("reduce", axes, this.ndim);
    return this.shape.filter((_, i) => !ax.includes(i));
  }

  /** Softmax along `axis` (default last). */
  softmax(axis = -1): Tensor {
    const e = this.sub(this.max(axis, { keepdims: true }).detach()).exp();
    const out = e.div(e.sum(axis, { keepdims: true }));
    const [a] = normalizeAxes("softmax", axis, this.ndim);
    if (isFloat(this.dtype)) markComposite(out.node, "softmax", [this.node], { axis: a });
    return out;
  }

  /** Log-softmax along `axis` (default last). */
  logSoftmax(axis = -1): Tensor {
    // (x - m) - log Σ exp(x - m), not x - logsumexp(x): rounding m + log Σ to float32 loses
    // the low bits of log Σ when |m| is large (1e4: an ulp of 2^-10).
    const shifted = this.sub(this.max(axis, { keepdims: true }).detach());
    const out = shifted.sub(shifted.exp().sum(axis, { keepdims: true }).log());
    const [a] = normalizeAxes("logSoftmax", axis, this.ndim);
    if (isFloat(this.dtype)) markComposite(out.node, "log_softmax", [this.node], { axis: a });
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Movement.

  /** The same elements in row-major order under a new shape; one extent may be -1. */
  reshape(shape: readonly number[]): Tensor {
    this.#check("reshape");
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
      if (rest === 0 || this.size % rest !== 0) {
        throw new Error(
          `reshape: cannot reshape ${fmtShape(this.shape)} (${this.size} elements) to ${
            fmtShape(shape)
          }; expected the known extents to divide the element count`,
        );
      }
      resolved = shape.map((d) => (d === -1 ? this.size / rest : d));
    }
    return this.#wrap(ir.reshape(this.node, resolved));
  }

  /** Flattens axes `start..end` (inclusive) into one. */
  flatten(start = 0, end = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const [s] = normalizeAxes("flatten", start, this.ndim);
    const [e] = normalizeAxes("flatten", end, this.ndim);
    if (e < s) {
      throw new Error(
        `flatten: end axis ${end} comes before start axis ${start}`,
      );
    }
    const merged = numel(this.shape.slice(s, e + 1));
    return this.reshape([
      ...this.shape.slice(0, s),
      merged,
      ...this.shape.slice(e + 1),
    ]);
  }

  /** Removes extent-1 axes (the given ones, or all). */
  squeeze(axes?: number | readonly number[]): Tensor {
    const ax = axes === undefined
      ? this.shape.flatMap((d, i) => (d === 1 ? [i] : []))
      : normalizeAxes("squeeze", axes, this.ndim);
    for (const a of ax) {
      if (this.shape[a] !== 1) {
        throw new Error(
          `squeeze: axis ${a} of ${fmtShape(this.shape)} has extent ${this.shape[a]}; expected 1`,
        );
      }
    }
    return this.reshape(this.shape.filter((_, i) => !ax.includes(i)));
  }

  /** Inserts an extent-1 axis at `axis` (negative counts from the end of the result). */
  unsqueeze(axis: number): Tensor {
    const [a] = normalizeAxes("unsqueeze", axis, this.ndim + 1);
    return this.reshape([...this.shape.slice(0, a), 1, ...this.shape.slice(a)]);
  }

  /** Reorders axes: output axis `i` is input axis `axes[i]` (negative axes allowed). */
  permute(...axes: number[]): Tensor {
    this.#check("permute");
    const perm = axes.map((a) => (a < 0 ? a + this.ndim : a));
    return this.#wrap(ir.permute(this.node, perm));
  }

  /** Swaps two axes (default: the last two). */
  transpose(a = -2, b = -1): Tensor {
    const [x] = normalizeAxes("transpose", a, this.ndim);
    const [y] = normalizeAxes("transpose", b, this.ndim);
    const perm = this.shape.map((_, i) => (i === x ? y : i === y ? x : i));
    return this.permute(...perm);
  }

  /** Broadcasts to `shape` (NumPy rules; -1 keeps an extent). */
  expand(shape: readonly number[]): Tensor {
    this.#check("expand");
    const offset = shape.length - this.ndim;
    const resolved = shape.map((
      d,
      i,
    ) => (d === -1 ? this.shape[i - offset] : d));
    const target = broadcastShapes("expand", this.shape, resolved);
    if (!shapesEqual(target, resolved)) {
      throw new Error(
        `expand: cannot expand ${fmtShape(this.shape)} to ${fmtShape(resolved)}; expected a ` +
          `target of at least the same rank that the shape broadcasts to`,
      );
    }
    return this.#wrap(broadcastNode(this.node, resolved));
  }

  /** Selects along each axis; see {@link SliceSpec}. Negative indices count from the end. */
  slice(specs: readonly SliceSpec[]): Tensor {
    this.#check("slice");
    if (specs.length > this.ndim) {
      throw new Error(
        `slice: ${specs.length} specs for a tensor of shape ${fmtShape(this.shape)}; expected ` +
          `at most ${this.ndim}`,
      );
    }
    const starts: number[] = [], stops: number[] = [], steps: number[] = [];
    const drop: number[] = [];
    this.shape.forEach((d, i) => {
      const spec = specs[i] ?? null;
      const norm = (v: number) => (v < 0 ? v + d : v);
      if (spec === null) {
        starts.push(0), stops.push(d), steps.push(1);
      } else if (typeof spec === "number") {
        const k = norm(spec);
        if (!Number.isInteger(k) || k < 0 || k >= d) {
          throw new Error(
            `slice: index ${spec} is out of range for axis ${i} of ${fmtShape(this.shape)}; ` +
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
    const out = this.#wrap(ir.slice(this.node, starts, stops, steps));
    return drop.length ? out.reshape(out.shape.filter((_, i) => !drop.includes(i))) : out;
  }

  /** Pads each axis by `pads[i] = [before, after]` elements of `value` (default 0). */
  pad(pads: readonly (readonly [number, number])[], value = 0): Tensor {
    this.#check("pad");
    if (pads.length !== this.ndim) {
      throw new Error(
        `pad: got ${pads.length} [before, after] pairs for a tensor of rank ${this.ndim}; expected one per axis`,
      );
    }
    const padded = this.#wrap(ir.pad(this.node, pads));
    if (value === 0) return padded;
    const inside = new Tensor(
      ir.pad(ir.constNode(1, this.shape, "bool"), pads),
      this.backend,
    );
    const out = Tensor.where(inside, padded, value);
    if (isFloat(this.dtype)) {
      const copied = pads.map(([a, b]) => [a, b] as const);
      markComposite(out.node, "pad", [this.node], { pads: copied, value });
    }
    return out;
  }

  /** Joins tensors along `axis`. */
  static concat(tensors: readonly Tensor[], axis = 0): Tensor {
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
    let out: Tensor | undefined;
    for (const t of tensors) {
      const pads = t.shape.map((_, i) =>
        (i === a ? [offset, total - offset - t.shape[a]] : [0, 0]) as [
          number,
          number,
        ]
      );
      offset += t.shape[a];
      const p = t.pad(pads);
      // The padded pieces are zero (false) outside their own range, so adding them (or, for
      // bool, which has no add, taking their logical or) joins them.
      out = out === undefined ? p : p.dtype === "bool" ? Tensor.where(p, p, out) : out.add(p);
    }
    if (tensors.every((t) => t.dtype === first.dtype)) {
      markComposite(out!.node, "concat", tensors.map((t) => t.node), { axis: a });
    }
    return out!;
  }

  /** Stacks equally shaped tensors along a new axis. */
  static stack(tensors: readonly Tensor[], axis = 0): Tensor {
    if (tensors.length === 0) {
      throw new Error("stack: expected at least one tensor");
    }
    return Tensor.concat(tensors.map((t) => t.unsqueeze(axis)), axis);
  }

  // ------------------------------------------------------------------------------------------
  // Contractions, convolution and pooling.

  /** Matrix product with NumPy semantics (1-D operands, broadcast batch axes). */
  matmul(other: Tensor): Tensor {
    this.#check("matmul");
    if (this.ndim === 0 || other.ndim === 0) {
      throw new Error(
        `matmul: expected operands of rank >= 1, got ${fmtShape(this.shape)} and ${
          fmtShape(other.shape)
        }`,
      );
    }
    const a = this.ndim === 1 ? this.unsqueeze(0) : this;
    const b = other.ndim === 1 ? other.unsqueeze(1) : other;
    const k = a.shape[a.ndim - 1];
    if (b.shape[b.ndim - 2] !== k) {
      throw new Error(
        `matmul: inner extents differ: ${fmtShape(this.shape)} @ ${fmtShape(other.shape)} ` +
          `(${k} vs ${b.shape[b.ndim - 2]}); expected equal contraction extents`,
      );
    }
    // [..., M, 1, K] · [..., 1, N, K] summed over K: one fused reduction.
    const prod = a.unsqueeze(-2).mul(b.transpose(-1, -2).unsqueeze(-3));
    let out = prod.sum(-1);
    if (this.ndim === 1) out = out.squeeze(-2);
    if (other.ndim === 1) out = out.squeeze(-1);
    if (this.dtype === other.dtype && isFloat(this.dtype)) {
      markComposite(out.node, "matmul", [this.node, other.node], {});
    }
    return out;
  }

  /**
   * Sliding windows over the last two axes: `[..., H, W]` to `[..., OH, OW, KH, KW]`, built from
   * movement ops only (so its gradient is their transposes).
   */
  pool2d(
    kernel: readonly [number, number],
    stride: readonly [number, number],
    dilation: readonly [number, number],
  ): Tensor {
    windowPair("pool2d", "kernel size", kernel, 1);
    windowPair("pool2d", "stride", stride, 1);
    windowPair("pool2d", "dilation", dilation, 1);
    const lead = this.shape.slice(0, -2);
    const ins = this.shape.slice(-2);
    const outs = ins.map((i, d) =>
      Math.floor((i - dilation[d] * (kernel[d] - 1) - 1) / stride[d]) + 1
    );
    if (outs.some((o) => o <= 0)) {
      throw new Error(
        `pool2d: kernel ${fmtShape(kernel)} with dilation ${
          fmtShape(dilation)
        } does not fit input ` +
          `${fmtShape(ins)}; expected a positive output size`,
      );
    }
    // Repeat each spatial axis k times, then shift row j by j·dilation through a reshape.
    let x = this.#wrap(this.node);
    for (let d = 0; d < 2; d++) {
      const ax = lead.length + d * 2; // axis of the current spatial dim after earlier expansions
      const [i, k, s, dl, o] = [
        ins[d],
        kernel[d],
        stride[d],
        dilation[d],
        outs[d],
      ];
      // Trailing zeros (never read) make room for the last stride step when s > k·dl + 1.
      const extra = Math.max(0, o * s - dl - i);
      if (extra > 0) {
        x = x.pad(
          x.shape.map((_, j) => [0, j === ax ? extra : 0] as [number, number]),
        );
      }
      const iw = i + extra;
      const before = x.shape.slice(0, ax);
      const after = x.shape.slice(ax + 1);
      const reps = Math.ceil((k * (iw + dl)) / iw);
      x = x.reshape([...before, 1, iw, ...after]).expand([
        ...before,
        reps,
        iw,
        ...after,
      ])
        .reshape([...before, reps * iw, ...after]);
      x = x.slice([...before.map(() => null), [0, k * (iw + dl)]])
        .reshape([...before, k, iw + dl, ...after]);
      x = x.slice([...before.map(() => null), null, [0, o * s]])
        .reshape([...before, k, o, s, ...after]);
      x = x.slice([...before.map(() => null), null, null, [0, 1]])
        .reshape([...before, k, o, ...after]);
    }
    // Now [..., KH, OH, KW, OW]: move kernel axes last.
    const L = lead.length;
    return x.permute(...lead.map((_, i) => i), L + 1, L + 3, L, L + 2);
  }

  /**
   * 2-D convolution (cross-correlation, as in PyTorch): input `[N, Cin, H, W]`, weight
   * `[Cout, Cin / groups, KH, KW]`, optional bias `[Cout]`.
   */
  conv2d(weight: Tensor, opts: Conv2dOptions = {}): Tensor {
    this.#check("conv2d");
    const groups = opts.groups ?? 1;
    if (this.ndim !== 4 || weight.ndim !== 4) {
      throw new Error(
        `conv2d: expected input [N, Cin, H, W] and weight [Cout, Cin/groups, KH, KW], got ` +
          `${fmtShape(this.shape)} and ${fmtShape(weight.shape)}`,
      );
    }
    if (!Number.isInteger(groups) || groups < 1) {
      throw new Error(`conv2d: groups ${groups} is invalid; expected a positive integer`);
    }
    const [n, cin] = this.shape;
    const [cout, cinG, kh, kw] = weight.shape;
    const { stride, padding, dilation } = checkWindow("conv2d", this.shape.slice(2), {
      kernel: [kh, kw],
      stride: opts.stride ?? 1,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
    }, false);
    if (
      !Number.isInteger(groups) || groups < 1 || cin % groups !== 0 ||
      cout % groups !== 0 || cinG * groups !== cin
    ) {
      throw new Error(
        `conv2d: input has ${cin} channels, weight ${
          fmtShape(weight.shape)
        } expects ${cinG} per group ` +
          `with groups=${groups}; expected Cin = weight.shape[1]·groups and Cout divisible by groups`,
      );
    }
    if (opts.bias !== undefined && !shapesEqual(opts.bias.shape, [cout])) {
      throw new Error(
        `conv2d: bias has shape ${fmtShape(opts.bias.shape)}; expected [${cout}]`,
      );
    }
    const x = this.pad([[0, 0], [0, 0], [padding[0], padding[0]], [
      padding[1],
      padding[1],
    ]])
      .pool2d([kh, kw], stride, dilation); // [N, Cin, OH, OW, KH, KW]
    const [oh, ow] = [x.shape[2], x.shape[3]];
    const rc = cout / groups;
    const xs = x.reshape([n, groups, 1, cinG, oh, ow, kh, kw]).permute(
      0,
      1,
      2,
      4,
      5,
      3,
      6,
      7,
    );
    const ws = weight.reshape([1, groups, rc, 1, 1, cinG, kh, kw]);
    let out = xs.mul(ws).sum([5, 6, 7]).reshape([n, cout, oh, ow]);
    if (isFloat(this.dtype) && weight.dtype === this.dtype) {
      // The input gradient as a transposed convolution (one contraction) instead of the
      // window view's overlap-add; the weight gradient is the contraction autodiff would build.
      const geo = { stride, padding, dilation, groups };
      defineConvVjp(out.node, this.node, weight.node, xs.node, this.backend, geo);
    }
    if (opts.bias !== undefined) {
      out = out.add(opts.bias.reshape([1, cout, 1, 1]));
    }
    if ([weight, opts.bias ?? this].every((t) => t.dtype === this.dtype) && isFloat(this.dtype)) {
      const inputs = [this.node, weight.node, opts.bias?.node ?? null];
      markComposite(out.node, "conv2d", inputs, { stride, padding, dilation, groups });
    }
    return out;
  }

  #poolWindows(
    op: string,
    kernel: number | readonly [number, number],
    opts: Pool2dOptions,
    padValue: number,
  ) {
    this.#check(op);
    if (this.ndim < 2) {
      throw new Error(
        `${op}: expected a tensor of rank >= 2, got ${fmtShape(this.shape)}`,
      );
    }
    const { kernel: k, stride: s, padding: p, dilation: d } = checkWindow(
      op,
      this.shape.slice(-2),
      {
        kernel,
        stride: opts.stride ?? kernel,
        padding: opts.padding ?? 0,
        dilation: opts.dilation ?? 1,
      },
      true,
    );
    const pads = this.shape.map((_, i) =>
      (i === this.ndim - 2 ? [p[0], p[0]] : i === this.ndim - 1 ? [p[1], p[1]] : [0, 0]) as [
        number,
        number,
      ]
    );
    const padded = this.pad(pads, padValue);
    const tiled = tiledWindows(padded.node, k, s, d);
    return tiled === null ? padded.pool2d(k, s, d) : this.#wrap(tiled);
  }

  /**
   * Average pooling over the last two axes. By default padding counts as zeros (PyTorch's
   * default); with `countIncludePad: false` each window is divided by its count of real elements,
   * and `ceilMode` keeps a last partial window (as `torch.nn.functional.avg_pool2d`).
   *
   * @example
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const x = Tensor.from([[[[1, 2], [3, 4]]]]);
   * console.log(await x.avgPool2d(2, { stride: 1, padding: 1 }).data()); // [0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1]
   * console.log(await x.avgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }).data());
   * // [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]
   * ```
   */
  avgPool2d(
    kernel: number | readonly [number, number],
    opts: AvgPool2dOptions = {},
  ): Tensor {
    if (opts.countIncludePad === false || opts.ceilMode === true) {
      return this.#avgPoolCounted(kernel, opts);
    }
    const out = this.#poolWindows("avgPool2d", kernel, opts, 0).mean([-2, -1]);
    return this.#markPool(out, "avg_pool2d", kernel, opts);
  }

  /** Window sums divided by torch's per-window counts (not an ONNX `avg_pool2d` composite). */
  #avgPoolCounted(kernel: number | readonly [number, number], opts: AvgPool2dOptions): Tensor {
    const op = "avgPool2d";
    this.#check(op);
    if (this.ndim < 2) {
      throw new Error(`${op}: expected a tensor of rank >= 2, got ${fmtShape(this.shape)}`);
    }
    const k = pair(kernel, "kernel", op);
    const s = pair(opts.stride ?? k, "stride", op);
    const p = pair(opts.padding ?? 0, "padding", op);
    const d = pair(opts.dilation ?? 1, "dilation", op);
    const [h, w] = this.shape.slice(-2);
    const axes = [0, 1].map((i) =>
      poolAxis(
        [h, w][i],
        k[i],
        s[i],
        p[i],
        d[i],
        opts.ceilMode ?? false,
        opts.countIncludePad ?? true,
      )
    );
    if (axes.some((a) => a.out <= 0 || a.counts.some((c) => c === 0))) {
      throw new Error(
        `${op}: kernel ${fmtShape(k)} with stride ${fmtShape(s)} and padding ${fmtShape(p)} ` +
          `on input ${fmtShape([h, w])} gives a window with no input elements; expected ` +
          `padding at most half the kernel`,
      );
    }
    const pads = this.shape.map((_, i) =>
      (i < this.ndim - 2
        ? [0, 0]
        : [p[i - this.ndim + 2], p[i - this.ndim + 2] + axes[i - this.ndim + 2].extra]) as [
          number,
          number,
        ]
    );
    const sums = this.pad(pads).pool2d(k, s, d).sum([-2, -1]);
    const [rows, cols] = axes;
    const counts = new Float64Array(rows.out * cols.out);
    for (let i = 0; i < rows.out; i++) {
      for (let j = 0; j < cols.out; j++) counts[i * cols.out + j] = rows.counts[i] * cols.counts[j];
    }
    const dtype = this.dtype === "float64" ? "float64" : "float32";
    return sums.div(
      Tensor.from(counts, { shape: [rows.out, cols.out], dtype, backend: this.backend }),
    );
  }

  /**
   * Max pooling over the last two axes. As in PyTorch, a window's gradient goes to one element:
   * its first maximum in row-major window order, or its last NaN; padding never wins.
   */
  maxPool2d(
    kernel: number | readonly [number, number],
    opts: Pool2dOptions = {},
  ): Tensor {
    const windows = this.#poolWindows("maxPool2d", kernel, opts, -Infinity);
    const [h, w] = this.shape.slice(-2);
    const plane = indexRange(h * w, windows.dtype, this.backend).reshape([h, w]);
    const index = plane.#poolWindows("maxPool2d", kernel, opts, -1);
    const out = this.#wrap(windowMax(windows.node, index.node));
    return this.#markPool(out, "max_pool2d", kernel, opts);
  }

  /** Records a rank-4 pooling as a composite (exporters have it as one operator). */
  #markPool(
    out: Tensor,
    op: "avg_pool2d" | "max_pool2d",
    kernel: number | readonly [number, number],
    opts: Pool2dOptions,
  ): Tensor {
    if (this.ndim === 4 && isFloat(this.dtype)) {
      const k = pair(kernel, "kernel", op);
      markComposite(out.node, op, [this.node], {
        kernel: k,
        stride: pair(opts.stride ?? k, "stride", op),
        padding: pair(opts.padding ?? 0, "padding", op),
        dilation: pair(opts.dilation ?? 1, "dilation", op),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Data.

  /** Computes this tensor (if needed) and returns it. */
  async realize(): Promise<this> {
    this.#check("realize");
    await realizeNodes(this.backend, [this.node]);
    this[OWN_RESULT]();
    return this;
  }

  /** Computes the tensor and returns a host copy of its elements in row-major order. */
  async data(): Promise<TypedArray> {
    await this.realize();
    return await storageOf(this.node)!.read();
  }

  /** The single element of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new Error(
        `item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`,
      );
    }
    return (await this.data())[0];
  }

  /** The elements as nested arrays. */
  async toArray(): Promise<NestedArray> {
    const flat = Array.from(
      await this.data(),
      (v) => (this.dtype === "bool" ? v !== 0 : v),
    );
    const build = (depth: number, offset: number): NestedArray => {
      if (depth === this.ndim) return flat[offset];
      const inner = numel(this.shape.slice(depth + 1));
      return Array.from(
        { length: this.shape[depth] },
        (_, i) => build(depth + 1, offset + i * inner),
      );
    };
    return build(0, 0);
  }

  /** The same graph, realized on another backend (data moves on realization). */
  to(backend: string): Tensor {
    this.#check("to");
    const t = new Tensor(this.node, backend);
    t.#own(); // an owner of its own: disposing it leaves this tensor's data alone
    return t;
  }

  /**
   * Drops this tensor's reference on its data; the buffer is freed now when no other tensor owns
   * it. Owners are leaves, tensors made by `to()` and realized computed tensors; a view (the same
   * node from an identity op such as `t.reshape(t.shape)`) owns nothing, so disposing it never
   * frees its source. Later use of this tensor throws an error that says it was disposed, or
   * names `reason` when given.
   *
   * @example Two owners of one buffer
   * ```ts
   * import { Tensor } from "@symgrad/symgrad";
   * const x = Tensor.from([1, 2, 3]);
   * const y = x.to(x.backend); // a second owner of the same data
   * x.dispose();
   * console.log(await y.data()); // Float32Array [1, 2, 3]
   * y.dispose(); // the last owner: the buffer is freed now
   * ```
   */
  dispose(reason?: string): void {
    if (this.#disposed !== undefined) return;
    this.#disposed = reason ?? "disposed";
    this.#owned = undefined;
    releaseStorage(this.node, this, reason);
  }

  /** `using t = …` disposes at the end of the scope. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** A jaxpr-like listing of the graph of this tensor. */
  toString(): string {
    return formatGraph([this.node]);
  }

  /**
   * Rich display in Deno's Jupyter kernel: realizes the tensor and returns a MIME bundle with
   * statistics, values and (for 2-D data) a heatmap. The renderer is set by the entry point
   * (core does not depend on the display module).
   */
  async [Symbol.for("Jupyter.display")](): Promise<Record<string, string>> {
    return await tensorDisplay(this);
  }

  /** Short form for `console.log`. */
  [Symbol.for("Deno.customInspect")](): string {
    const state = this.#disposed !== undefined ? "disposed" : this.isRealized ? "realized" : "lazy";
    return `Tensor<${this.dtype}${fmtShape(this.shape)}, ${state}, ${this.backend}>`;
  }
}

/** Throws for an index value known on the host that is outside `[0, n)`. */
function checkIndexValues(op: string, index: Tensor, n: number, axis: number, shape: Shape): void {
  const known = knownValues(index);
  if (known === undefined || index.dtype !== "int32") return;
  for (let k = 0; k < known.values.length; k++) {
    const v = known.values[k];
    if (!(v >= 0 && v < n)) {
      throw new Error(
        `${op}: index ${v} at flat position ${k} is out of range for axis ${axis} of extent ${n} ` +
          `(input ${fmtShape(shape)}); expected an integer in [0, ${n})`,
      );
    }
  }
}

/** A clamp bound: a number, a tensor broadcasting against the input, or absent. */
export type ClampBound = Tensor | number | null | undefined;

/**
 * `min(max(x, lo), hi)`, built from comparisons, `where`, `maximum` / `minimum` and `detach`, with
 * PyTorch 1.13's gradients: `x` receives the gradient where `min <= x <= max` (both ends
 * inclusive), a tensor `min` where `x < min` and `min < max`, a tensor `max` where `x > max` or
 * `max < min`. NaN in `x` or in a bound gives NaN (NumPy's `clip` and torch's tensor bounds;
 * torch leaves `x` unchanged for a NaN number bound). Where the value is NaN no operand gets a
 * gradient; torch still passes one to `max` there when `max < min` or `x > max`.
 */
function clampTensor(x: Tensor, lo: ClampBound, hi: ClampBound): Tensor {
  const where = Tensor.where;
  const hasLo = lo !== null && lo !== undefined;
  const hasHi = hi !== null && hi !== undefined;
  if (!hasLo && !hasHi) {
    throw new Error(
      `clamp: got neither min nor max for a tensor of shape [${
        x.shape.join(", ")
      }]; expected at least one bound`,
    );
  }
  for (const [name, b] of [["min", lo], ["max", hi]] as const) {
    if (typeof b === "number" || b === null || b === undefined) continue;
    if (b.backend !== x.backend) {
      throw new Error(
        `clamp: ${name} lives on ${b.backend} and the input on ${x.backend}; expected one backend`,
      );
    }
  }
  // The value: max and min propagate NaN from either operand.
  let value = x;
  if (hasLo) value = value.maximum(lo);
  if (hasHi) value = value.minimum(hi);
  // Gradient routing: each branch passes the gradient of one operand; the fall-through is the
  // value as a constant (NaN in x or a bound, or x beyond min == max: torch routes none there).
  // Logical and / or through 0/1 numbers (ONNX Runtime has no `where` on bools).
  const num = (a: Tensor) => a.cast("float32");
  const and = (a: Tensor, b: Tensor | boolean) =>
    typeof b === "boolean" ? (b ? a : a.ne(a)) : num(a).mul(num(b)).gt(0);
  const or = (a: Tensor, b: Tensor | boolean) =>
    typeof b === "boolean" ? (b ? a.eq(a) : a) : num(a).add(num(b)).gt(0);
  let out: Tensor = value.detach();
  if (hasLo && hasHi) {
    // hi < lo and "lo is not NaN", as a JS boolean when both bounds are numbers.
    const crossed = typeof hi === "number"
      ? (typeof lo === "number" ? hi < lo : lo.gt(hi))
      : hi.lt(lo);
    const loOk = typeof lo === "number" ? !Number.isNaN(lo) : lo.eq(lo);
    const ordered = typeof lo === "number"
      ? (typeof hi === "number" ? lo < hi : hi.gt(lo))
      : lo.lt(hi);
    out = where(and(and(or(x.gt(hi), crossed), x.eq(x)), loOk), hi, out);
    out = where(and(x.lt(lo), ordered), lo, out);
    out = where(and(x.ge(lo), x.le(hi)), x, out);
  } else if (hasLo) {
    out = where(x.lt(lo), lo, out);
    out = where(x.ge(lo), x, out);
  } else {
    out = where(x.gt(hi!), hi!, out);
    out = where(x.le(hi!), x, out);
  }
  return out;
}

/** Renders a tensor as a MIME bundle (mime type → content) for Jupyter. */
export type TensorDisplay = (t: Tensor) => Promise<Record<string, string>>;

let tensorDisplay: TensorDisplay = (t) => Promise.resolve({ "text/plain": String(t) });

/**
 * Sets the renderer behind `Tensor`'s Jupyter display method. The entry point sets it (core
 * code does not depend on the display module); without it a tensor shows as its text form.
 */
export function setTensorDisplay(fn: TensorDisplay): void {
  tensorDisplay = fn;
}

/**
 * Attaches conv2d's gradient rule to `out`. A module function holding nodes only (no tensors,
 * whose storage would then live as long as the graph), so each step's graph stays collectable.
 */
function defineConvVjp(
  out: Node,
  x: Node,
  w: Node,
  xs: Node,
  backend: string,
  geo: ConvGeometry,
): void {
  defineCustomVjp(out, [x, w], (gn) => {
    const g = new Tensor(gn, backend);
    const [n, cout, oh, ow] = out.shape;
    const [, cinG, kh, kw] = w.shape;
    const groups = geo.groups, rc = cout / groups;
    const dw = g.reshape([n, groups, rc, oh, ow, 1, 1, 1]).mul(new Tensor(xs, backend))
      .sum([0, 3, 4]).reshape([cout, cinG, kh, kw]);
    return [conv2dInputGrad(g, new Tensor(w, backend), x.shape, geo).node, dw.node];
  });
}

/**
 * An order-reversing bijection: `-x` for floats, `~x = -x - 1` for int32 (where `-x` would map
 * -2^31 to itself), so `min(x) = flip(max(flip(x)))` holds on every dtype.
 */
function flip(x: Node): Node {
  const negated = ir.unary("neg", x);
  return x.dtype === "int32"
    ? ir.binary("add", negated, ir.constNode(-1, x.shape, "int32"))
    : negated;
}

function requireFloatDtype(op: string, dtype: DType | undefined): void {
  if (dtype !== undefined && !isFloat(checkDtype(op, dtype))) {
    throw new Error(`${op}: expected a float32 or float64 dtype, got ${dtype}`);
  }
}

/** `argmax` / `argmin` of `x` along `axis`: the first NaN, else the first extreme element. */
function argExtreme(
  x: Tensor,
  op: "argmax" | "argmin",
  axis: number,
  opts: ReduceOptions,
): Tensor {
  const [a] = normalizeAxes(op, axis, x.ndim);
  const n = x.shape[a];
  if (n === 0) {
    throw new Error(
      `${op}: cannot take the ${op} over empty axis ${a} of shape ${fmtShape(x.shape)}; ` +
        `expected a nonempty axis`,
    );
  }
  const v = x.detach();
  const extreme = op === "argmax" ? v.max(a, { keepdims: true }) : v.min(a, { keepdims: true });
  const idx = indexRange(n, "int32", x.backend)
    .reshape(x.shape.map((d, i) => (i === a ? d : 1)));
  // A NaN makes the extreme NaN, which equals no element: NaN positions are the hits then.
  const hits = Tensor.where(v.eq(extreme), idx, Tensor.where(v.ne(v), idx, n));
  // Some row always hits; the clamp keeps the index in range even where a GPU compiler assumes
  // no NaN and folds the comparisons (it costs one op in the fused reduction).
  return hits.min(a, opts).minimum(n - 1);
}

/** Broadcasts `node` to `shape` (prepending axes, then expanding extent-1 axes). */
function broadcastNode(node: Node, shape: Shape): Node {
  if (shapesEqual(node.shape, shape)) return node;
  const lifted = ir.reshape(node, [
    ...new Array(shape.length - node.shape.length).fill(1),
    ...node.shape,
  ]);
  return ir.expand(lifted, shape);
}

/** Computes several tensors as one program per backend (shared subgraphs run once). */
export async function realize(...tensors: Tensor[]): Promise<void> {
  const byBackend = new Map<string, Node[]>();
  for (const t of tensors) {
    const list = byBackend.get(t.backend) ?? [];
    list.push(t.node);
    byBackend.set(t.backend, list);
  }
  for (const [backend, nodes] of byBackend) await realizeNodes(backend, nodes);
  for (const t of tensors) t[OWN_RESULT]();
}

// One `[0, n)` leaf per length, dtype and backend, shared by every call: ops that need positions
// (argmax, gather, maxPool2d, class targets) would otherwise make a leaf per call, and each
// training step would hold one more buffer until a collector ran.
const indexRanges = new Map<string, Tensor>();

/**
 * The shared leaf `[0, 1, …, n - 1]` of `dtype` on `backend` (never disposed; do not dispose it).
 */
export function indexRange(n: number, dtype: DType, backend: string): Tensor {
  const key = `${n}|${dtype}|${backend}`;
  let t = indexRanges.get(key);
  if (t === undefined) indexRanges.set(key, t = Tensor.arange(n, undefined, 1, { dtype, backend }));
  return t;
}
