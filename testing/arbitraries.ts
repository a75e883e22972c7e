/**
 * fast-check arbitraries for tensor code: shapes, broadcastable shape pairs, tensors with
 * bounded values, RBN parameter sets and small random graphs of differentiable ops.
 *
 * Generated tensors print as the `Tensor.from(...)` call that rebuilds them, so a failing
 * property reports a counterexample that can be pasted into a test.
 *
 * @module
 */

import fc, { type Arbitrary } from "fast-check";
import type { DType } from "../core/dtype.ts";
import { numel, type Shape } from "../core/shape.ts";
import { Tensor } from "../core/tensor.ts";

/** Options of {@link shape}. */
export interface ShapeOptions {
  /** Smallest rank (default 1). */
  minRank?: number;
  /** Largest rank (default 3). */
  maxRank?: number;
  /** Smallest extent (default 1). */
  minExtent?: number;
  /** Largest extent (default 4). */
  maxExtent?: number;
}

/**
 * Shapes with rank and extents in the given ranges.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { shape } from "@symgrad/symgrad/testing";
 * const s = fc.sample(shape({ minRank: 2, maxRank: 2, maxExtent: 3 }), { numRuns: 1, seed: 1 })[0];
 * console.log(s.length); // 2
 * ```
 */
export function shape(opts: ShapeOptions = {}): Arbitrary<number[]> {
  const { minRank = 1, maxRank = 3, minExtent = 1, maxExtent = 4 } = opts;
  return fc.array(fc.integer({ min: minExtent, max: maxExtent }), {
    minLength: minRank,
    maxLength: maxRank,
  });
}

/**
 * Pairs of shapes that broadcast together (NumPy rules): a common shape from which each side
 * drops some leading axes and sets some extents to 1.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { broadcastableShapes } from "@symgrad/symgrad/testing";
 * import { Tensor } from "@symgrad/symgrad";
 * fc.assert(fc.property(broadcastableShapes(), ([a, b]) => {
 *   Tensor.zeros(a).add(Tensor.zeros(b)); // never throws
 * }), { numRuns: 20 });
 * ```
 */
export function broadcastableShapes(
  opts: ShapeOptions = {},
): Arbitrary<[number[], number[]]> {
  const side = (full: number[]) =>
    fc.tuple(
      fc.integer({ min: 0, max: full.length }),
      fc.array(fc.boolean(), { minLength: full.length, maxLength: full.length }),
    ).map(([drop, ones]) => full.map((d, i) => (ones[i] ? 1 : d)).slice(drop));
  return shape(opts).chain((full) => fc.tuple(side(full), side(full)));
}

/** Options of {@link tensor}. */
export interface TensorOptions {
  /** A fixed shape, or an arbitrary of shapes (default: {@link shape}()). */
  shape?: Shape | Arbitrary<Shape>;
  /** Element type (default `float32`; values are rounded to it). */
  dtype?: DType;
  /** Smallest value (default -1). */
  min?: number;
  /** Largest value (default 1). */
  max?: number;
  /**
   * Smallest distance between any two elements (default 0: no constraint). Use it to avoid
   * ties where a derivative is not defined (max, comparisons).
   */
  minGap?: number;
  /** Backend of the tensors (default: the default backend when the value is generated). */
  backend?: string;
}

/** Attaches the `Tensor.from(...)` call that rebuilds `t` as its fast-check printout. */
function printable(t: Tensor, values: readonly number[]): Tensor {
  const text = `Tensor.from(${JSON.stringify(values)}, { shape: ${JSON.stringify(t.shape)}, ` +
    `dtype: ${JSON.stringify(t.dtype)} })`;
  Object.defineProperty(t, fc.toStringMethod, { value: () => text });
  return t;
}

/** `n` values in [min, max]; with `gap > 0`, pairwise at least `gap` apart. */
function values(n: number, min: number, max: number, gap: number): Arbitrary<number[]> {
  if (gap <= 0) {
    return fc.array(fc.double({ min, max, noNaN: true }), { minLength: n, maxLength: n });
  }
  // Distinct cells of width 2·gap, each value in the first half of its cell.
  const cells = Math.floor((max - min) / (2 * gap));
  if (cells < n) {
    throw new Error(
      `tensor: ${n} values at least ${gap} apart do not fit in [${min}, ${max}]; ` +
        `expected a wider range or a smaller shape`,
    );
  }
  return fc.tuple(
    fc.uniqueArray(fc.integer({ min: 0, max: cells - 1 }), { minLength: n, maxLength: n }),
    fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
      minLength: n,
      maxLength: n,
    }),
  ).map(([cell, u]) => cell.map((c, i) => min + 2 * gap * c + gap * u[i]));
}

/**
 * Tensors of a given or random shape with values in `[min, max]`.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { tensor } from "@symgrad/symgrad/testing";
 * await fc.assert(
 *   fc.asyncProperty(tensor({ shape: [3], dtype: "float64", min: 0.5, max: 2 }), async (x) => {
 *     const v = await x.log().exp().sub(x).abs().max().item();
 *     if (v > 1e-12) throw new Error(`exp(log(x)) != x by ${v}`);
 *   }),
 *   { numRuns: 10 },
 * );
 * ```
 */
export function tensor(opts: TensorOptions = {}): Arbitrary<Tensor> {
  const { dtype = "float32", min = -1, max = 1, minGap = 0, backend } = opts;
  if (!(min <= max)) {
    throw new Error(`tensor: min ${min} exceeds max ${max}; expected min <= max`);
  }
  const shapes = opts.shape === undefined
    ? shape()
    : opts.shape instanceof fc.Arbitrary
    ? opts.shape
    : fc.constant(opts.shape as Shape);
  // A fixed shape is checked now, so a range too narrow for the gaps fails at the call site.
  if (Array.isArray(opts.shape)) values(numel(opts.shape), min, max, minGap);
  return shapes.chain((s) =>
    values(numel(s), min, max, minGap).map((vs) => {
      const rounded = dtype === "float32"
        ? vs.map(Math.fround)
        : dtype === "bool"
        ? vs.map((v) => (v > (min + max) / 2 ? 1 : 0))
        : dtype === "int32"
        ? vs.map(Math.round)
        : vs;
      return printable(Tensor.from(rounded, { shape: s, dtype, backend }), rounded);
    })
  );
}

/** One set of inputs and parameters of a representative batch normalization layer. */
export interface RbnParams {
  /** Input `[N, C, H, W]`. */
  x: Tensor;
  /** Centering weight `w_m`, `[1, C, 1, 1]`. */
  centerWeight: Tensor;
  /** Scaling weight `w_v`, `[1, C, 1, 1]`. */
  scaleWeight: Tensor;
  /** Scaling bias `w_b`, `[1, C, 1, 1]`. */
  scaleBias: Tensor;
  /** Affine scale `γ`, `[1, C, 1, 1]`. */
  weight: Tensor;
  /** Affine shift `β`, `[1, C, 1, 1]`. */
  bias: Tensor;
  /** Running mean `[C]`. */
  runningMean: Tensor;
  /** Running variance `[C]` (positive). */
  runningVar: Tensor;
  /** Variance epsilon. */
  eps: number;
  /** Running-statistics momentum in (0, 1]. */
  momentum: number;
}

/** Options of {@link rbnParams}. */
export interface RbnParamsOptions {
  /** Batch sizes to draw from (default 2..3). */
  batch?: readonly [number, number];
  /** Channel counts (default 1..3). */
  channels?: readonly [number, number];
  /** Spatial extents, for H and W independently (default 1..3). */
  spatial?: readonly [number, number];
  /** Element type (default `float64`). */
  dtype?: DType;
  /** Backend of the tensors. */
  backend?: string;
}

/**
 * Inputs and parameters of an RBN layer with bounded, well-conditioned values: inputs in
 * [-2, 2] plus a per-channel offset, calibration weights in [-1, 1], `γ` in [0.5, 1.5],
 * running variance in [0.5, 2], `eps` in [1e-5, 1e-3] and momentum in [0.05, 0.9].
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { rbnParams } from "@symgrad/symgrad/testing";
 * const [p] = fc.sample(rbnParams({ channels: [2, 2] }), { numRuns: 1, seed: 7 });
 * console.log(p.x.shape[1], p.centerWeight.shape); // 2 [1, 2, 1, 1]
 * ```
 */
export function rbnParams(opts: RbnParamsOptions = {}): Arbitrary<RbnParams> {
  const { batch = [2, 3], channels = [1, 3], spatial = [1, 3], dtype = "float64", backend } = opts;
  const int = ([lo, hi]: readonly [number, number]) => fc.integer({ min: lo, max: hi });
  return fc.tuple(int(batch), int(channels), int(spatial), int(spatial)).chain(
    ([n, c, h, w]) => {
      const per = (min: number, max: number) =>
        tensor({ shape: [1, c, 1, 1], dtype, min, max, backend });
      return fc.record({
        // Per-channel offsets make the channel means differ from zero and from each other.
        x: fc.tuple(values(n * c * h * w, -2, 2, 0), values(c, -1, 1, 0)).map(([vs, off]) => {
          const shifted = vs.map((v, i) => v + off[Math.floor(i / (h * w)) % c]);
          const rounded = dtype === "float32" ? shifted.map(Math.fround) : shifted;
          const t = Tensor.from(rounded, { shape: [n, c, h, w], dtype, backend });
          return printable(t, rounded);
        }),
        centerWeight: per(-1, 1),
        scaleWeight: per(-1, 1),
        scaleBias: per(-1, 1),
        weight: per(0.5, 1.5),
        bias: per(-1, 1),
        runningMean: tensor({ shape: [c], dtype, min: -1, max: 1, backend }),
        runningVar: tensor({ shape: [c], dtype, min: 0.5, max: 2, backend }),
        eps: fc.double({ min: 1e-5, max: 1e-3, noNaN: true }),
        momentum: fc.double({ min: 0.05, max: 0.9, noNaN: true }),
      });
    },
  );
}

const UNARY_STEPS = {
  neg: (x: Tensor) => x.neg(),
  sin: (x: Tensor) => x.sin(),
  tanh: (x: Tensor) => x.tanh(),
  sigmoid: (x: Tensor) => x.sigmoid(),
  square: (x: Tensor) => x.square(),
  expTanh: (x: Tensor) => x.tanh().exp(),
  half: (x: Tensor) => x.mul(0.5),
} as const;

const BINARY_STEPS = {
  add: (a: Tensor, b: Tensor) => a.add(b),
  sub: (a: Tensor, b: Tensor) => a.sub(b),
  mul: (a: Tensor, b: Tensor) => a.mul(b),
} as const;

/** Axis-wise steps; the result keeps the input's shape. */
const AXIS_STEPS = {
  sumBroadcast: (x: Tensor, axis: number) => x.sum(axis, { keepdims: true }).expand(x.shape),
  meanBroadcast: (x: Tensor, axis: number) => x.mean(axis, { keepdims: true }).expand(x.shape),
  // Shift by one along `axis` with a zero in front: pad, then slice back to the extent.
  shift: (x: Tensor, axis: number) =>
    x.pad(x.shape.map((_, i) => (i === axis ? [1, 0] : [0, 0]) as [number, number]))
      .slice(x.shape.map((d, i) => (i === axis ? [0, d] : null))),
} as const;

/** The name of a {@link GraphStep} op. */
export type StepName =
  | "neg"
  | "sin"
  | "tanh"
  | "sigmoid"
  | "square"
  | "expTanh"
  | "half"
  | "add"
  | "sub"
  | "mul"
  | "sumBroadcast"
  | "meanBroadcast"
  | "shift";
const STEP_NAMES = [
  ...Object.keys(UNARY_STEPS),
  ...Object.keys(BINARY_STEPS),
  ...Object.keys(AXIS_STEPS),
] as StepName[];

/** One step of a {@link RandomGraph}: an op applied to earlier values (inputs come first). */
export interface GraphStep {
  /** The op. */
  op: StepName;
  /** Indices of the operand values. */
  operands: number[];
  /** Axis of axis-wise steps. */
  axis?: number;
}

/** A small random graph of differentiable ops over inputs of one shape. */
export interface RandomGraph {
  /** The shape of every input and of the output. */
  shape: number[];
  /** Number of inputs. */
  arity: number;
  /** The steps, in order; value `arity + k` is the result of step `k`. */
  steps: GraphStep[];
  /** Builds the graph on `inputs` and returns its last value. */
  apply(...inputs: Tensor[]): Tensor;
}

/** Options of {@link opGraph}. */
export interface OpGraphOptions {
  /** Number of inputs (default 2). */
  arity?: number;
  /** Most steps (default 6). */
  maxSteps?: number;
  /** Shapes of the inputs (default: {@link shape}() with extents up to 3). */
  shape?: Arbitrary<number[]>;
}

function buildGraph(shape: number[], arity: number, steps: GraphStep[]): RandomGraph {
  const describe = () => {
    const name = (i: number) => (i < arity ? `x${i}` : `v${i - arity}`);
    const lines = steps.map((s, k) =>
      `v${k} = ${s.op}(${s.operands.map(name).join(", ")}${
        s.axis === undefined ? "" : `, axis ${s.axis}`
      })`
    );
    return `graph(shape ${JSON.stringify(shape)}, inputs ${arity}) { ${lines.join("; ")} }`;
  };
  return {
    shape,
    arity,
    steps,
    apply(...inputs: Tensor[]): Tensor {
      if (inputs.length !== arity) {
        throw new Error(`opGraph: expected ${arity} inputs, got ${inputs.length}`);
      }
      const vals = [...inputs];
      for (const s of steps) {
        const [a, b] = s.operands.map((i) => vals[i]);
        if (s.op in UNARY_STEPS) vals.push(UNARY_STEPS[s.op as keyof typeof UNARY_STEPS](a));
        else if (s.op in BINARY_STEPS) {
          vals.push(BINARY_STEPS[s.op as keyof typeof BINARY_STEPS](a, b));
        } else vals.push(AXIS_STEPS[s.op as keyof typeof AXIS_STEPS](a, s.axis!));
      }
      return vals[vals.length - 1];
    },
    toString: describe,
    [fc.toStringMethod]: describe,
  } as RandomGraph;
}

/**
 * Small random graphs of smooth ops (elementwise, broadcast reductions, zero-filled shifts)
 * over `arity` inputs of one random shape; every value keeps that shape, so graphs compose.
 *
 * @example
 * ```ts
 * import fc from "fast-check";
 * import { opGraph } from "@symgrad/symgrad/testing";
 * import { Tensor } from "@symgrad/symgrad";
 * const [g] = fc.sample(opGraph({ arity: 1 }), { numRuns: 1, seed: 3 });
 * const y = g.apply(Tensor.ones(g.shape));
 * console.log(String(g), y.shape);
 * ```
 */
export function opGraph(opts: OpGraphOptions = {}): Arbitrary<RandomGraph> {
  const { arity = 2, maxSteps = 6 } = opts;
  if (!Number.isInteger(arity) || arity < 1) {
    throw new Error(`opGraph: arity must be a positive integer, got ${arity}`);
  }
  const shapes = opts.shape ?? shape({ maxExtent: 3 });
  const raw = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()), {
    minLength: 1,
    maxLength: maxSteps,
  });
  return fc.tuple(shapes, raw).map(([s, codes]) => {
    const steps = codes.map(([o, a, b, ax], k): GraphStep => {
      const op = STEP_NAMES[o % STEP_NAMES.length];
      const avail = arity + k;
      // The first operand defaults to the latest value so that graphs tend to be deep.
      const first = avail - 1 - (a % avail);
      if (op in BINARY_STEPS) return { op, operands: [first, b % avail] };
      if (op in AXIS_STEPS) {
        return s.length === 0
          ? { op: "neg", operands: [first] }
          : { op, operands: [first], axis: ax % s.length };
      }
      return { op, operands: [first] };
    });
    return buildGraph(s, arity, steps);
  });
}
