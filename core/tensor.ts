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
import { type DType, isFloat, promoteTypes, type TypedArray } from "./dtype.ts";
import { markComposite } from "./composite.ts";
import { cumsumNode } from "./scan.ts";
import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";
import { formatGraph } from "./print.ts";
import { isRealized, ownStorage, realizeNodes, releaseStorage, storageOf } from "./realize.ts";
import { broadcastShapes, fmtShape, normalizeAxes, numel, type Shape } from "./shape.ts";
import { Storage } from "./storage.ts";
import { conv2d, type ConvArgs, matmul } from "./contraction.ts";
import {
  hostArange,
  type HostData,
  hostFrom,
  hostFull,
  hostRand,
  hostRandn,
  type NestedArray,
} from "./creation.ts";
import { argExtreme, gather, indexSelect } from "./indexing.ts";
import { logSoftmax, logsumexp, mean, softmax, variance } from "./reductions.ts";
import {
  broadcastNode,
  concat,
  expandNode,
  flattenedShape,
  pad,
  reshapeNode,
  sliceNode,
  squeezedShape,
} from "./movement.ts";
import {
  avgPool2d,
  type AvgPool2dOptions,
  maxPool2d,
  type Pool2dOptions,
  windows,
} from "./pooling.ts";
import type { SliceSpec, TensorKit } from "./tensor_like.ts";
import { ceilNode, remainderNode, truncNode } from "./rounding.ts";

export { manualSeed, type NestedArray } from "./creation.ts";

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

/** Options of `conv2d`: window arguments and an optional bias of shape `[Cout]`. */
export type Conv2dOptions = ConvArgs<Tensor>;

export type { AvgPool2dOptions, Pool2dOptions } from "./pooling.ts";
export type { SliceSpec } from "./tensor_like.ts";

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
    return Tensor.#upload(hostFrom(data, opts.dtype, opts.shape), opts.backend);
  }

  /** A leaf over host data just built (it is never read again on the host side). */
  static #upload(d: HostData, backend: string | undefined): Tensor {
    return Tensor.fromStorage(Storage.fromHost(d.dtype, d.values), d.shape, backend);
  }

  /** A leaf tensor over existing storage. */
  static fromStorage(storage: Storage, shape: Shape, backend?: string): Tensor {
    const t = new Tensor(ir.bufferNode(storage, shape, storage.dtype), backend);
    t.#own();
    return t;
  }

  /** A tensor filled with `value` (a realized leaf, so it can be differentiated against). */
  static full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
    return Tensor.#upload(hostFull(shape, value, opts.dtype), opts.backend);
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
    return Tensor.#upload(hostArange(start, stop, step, opts.dtype), opts.backend);
  }

  /** Seeded uniform samples in `[low, high)`. */
  static rand(
    shape: Shape,
    opts: RandomOptions & { low?: number; high?: number } = {},
  ): Tensor {
    const { low = 0, high = 1 } = opts;
    return Tensor.#upload(hostRand(shape, opts.dtype, opts.seed, low, high), opts.backend);
  }

  /** Seeded normal samples with mean `mean` and standard deviation `std` (Box–Muller). */
  static randn(
    shape: Shape,
    opts: RandomOptions & { mean?: number; std?: number } = {},
  ): Tensor {
    const { mean = 0, std = 1 } = opts;
    return Tensor.#upload(hostRandn(shape, opts.dtype, opts.seed, mean, std), opts.backend);
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
    return mean<Tensor>(this, axes, opts.keepdims ?? false);
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
    return variance<Tensor>(this, axes, opts.correction ?? 1, opts.keepdims ?? false);
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
    return gather<Tensor>(this, KIT, axis, index);
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
    return indexSelect<Tensor>(this, KIT, axis, index);
  }

  /**
   * Index of the maximum along `axis`, as int32 (PyTorch's semantics): the first NaN if there
   * is one, else the first of tied maxima.
   */
  argmax(axis: number, opts: ReduceOptions = {}): Tensor {
    return argExtreme<Tensor>(this, KIT, "argmax", axis, opts);
  }

  /**
   * Index of the minimum along `axis`, as int32 (PyTorch's semantics): the first NaN if there
   * is one, else the first of tied minima.
   */
  argmin(axis: number, opts: ReduceOptions = {}): Tensor {
    return argExtreme<Tensor>(this, KIT, "argmin", axis, opts);
  }

  /** `log(sum(exp(x)))` over `axes`, computed stably. */
  logsumexp(
    axes?: number | readonly number[],
    opts: ReduceOptions = {},
  ): Tensor {
    return logsumexp<Tensor>(this, axes, opts.keepdims ?? false);
  }

  /** Softmax along `axis` (default last). */
  softmax(axis = -1): Tensor {
    return softmax<Tensor>(this, axis);
  }

  /** Log-softmax along `axis` (default last). */
  logSoftmax(axis = -1): Tensor {
    return logSoftmax<Tensor>(this, axis);
  }

  // ------------------------------------------------------------------------------------------
  // Movement.

  /** The same elements in row-major order under a new shape; one extent may be -1. */
  reshape(shape: readonly number[]): Tensor {
    this.#check("reshape");
    return this.#wrap(reshapeNode(this.node, shape));
  }

  /** Flattens axes `start..end` (inclusive) into one. */
  flatten(start = 0, end = -1): Tensor {
    return this.reshape(flattenedShape(this.shape, start, end));
  }

  /** Removes extent-1 axes (the given ones, or all). */
  squeeze(axes?: number | readonly number[]): Tensor {
    return this.reshape(squeezedShape(this.shape, axes));
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
    return this.#wrap(expandNode(this.node, shape));
  }

  /** Selects along each axis; see {@link SliceSpec}. Negative indices count from the end. */
  slice(specs: readonly SliceSpec[]): Tensor {
    this.#check("slice");
    return this.#wrap(sliceNode(this.node, specs));
  }

  /** Pads each axis by `pads[i] = [before, after]` elements of `value` (default 0). */
  pad(pads: readonly (readonly [number, number])[], value = 0): Tensor {
    this.#check("pad");
    return pad<Tensor>(this, KIT, pads, value);
  }

  /** Joins tensors along `axis`. */
  static concat(tensors: readonly Tensor[], axis = 0): Tensor {
    return concat<Tensor>(tensors, KIT, axis);
  }

  /** Stacks equally shaped tensors along a new axis. */
  static stack(tensors: readonly Tensor[], axis = 0): Tensor {
    if (tensors.length === 0) {
      throw new Error("stack: expected at least one tensor");
    }
    return Tensor.concat(tensors.map((t) => t.unsqueeze(axis)), axis);
  }

  // ------------------------------------------------------------------------------------------
  // Contractions, convolution and pooling (core/contraction.ts, core/pooling.ts).

  /** Matrix product with NumPy semantics (1-D operands, broadcast batch axes). */
  matmul(other: Tensor): Tensor {
    this.#check("matmul");
    return matmul<Tensor>(this, other);
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
    this.#check("pool2d");
    return windows<Tensor>(this, KIT, kernel, stride, dilation);
  }

  /**
   * 2-D convolution (cross-correlation, as in PyTorch): input `[N, Cin, H, W]`, weight
   * `[Cout, Cin / groups, KH, KW]`, optional bias `[Cout]`.
   */
  conv2d(weight: Tensor, opts: Conv2dOptions = {}): Tensor {
    this.#check("conv2d");
    return conv2d<Tensor>(this, weight, KIT, opts);
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
    this.#check("avgPool2d");
    return avgPool2d<Tensor>(this, KIT, kernel, opts);
  }

  /**
   * Max pooling over the last two axes. As in PyTorch, a window's gradient goes to one element:
   * its first maximum in row-major window order, or its last NaN; padding never wins.
   */
  maxPool2d(
    kernel: number | readonly [number, number],
    opts: Pool2dOptions = {},
  ): Tensor {
    this.#check("maxPool2d");
    return maxPool2d<Tensor>(this, KIT, kernel, opts);
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
 * An order-reversing bijection: `-x` for floats, `~x = -x - 1` for int32 (where `-x` would map
 * -2^31 to itself), so `min(x) = flip(max(flip(x)))` holds on every dtype.
 */
function flip(x: Node): Node {
  const negated = ir.unary("neg", x);
  return x.dtype === "int32"
    ? ir.binary("add", negated, ir.constNode(-1, x.shape, "int32"))
    : negated;
}

// What the composite families need beyond Tensor's methods.
const KIT: TensorKit<Tensor> = {
  wrap: (node, backend) => new Tensor(node, backend),
  leaf: (data, shape, dtype, backend) => Tensor.from(data, { shape, dtype, backend }),
  where: (cond, a, b) => Tensor.where(cond, a, b),
  indexRange,
};

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
