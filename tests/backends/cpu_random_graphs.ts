/**
 * Random tensor programs for differential tests: a recipe (plain data that fast-check generates
 * and shrinks) is replayed on any backend, so the CPU backend and the interpreter build the same
 * graph from the same input values.
 *
 * @module
 */

import fc, { type Arbitrary } from "fast-check";
import { type DType, Tensor } from "../../mod.ts";

/** One step of a recipe: an op kind and a few integers that pick its parameters. */
export interface Step {
  /** Which op family (taken modulo the number of families). */
  readonly kind: number;
  /** Parameter choices, interpreted by the op family. */
  readonly a: number;
  /** Parameter choices, interpreted by the op family. */
  readonly b: number;
  /** Parameter choices, interpreted by the op family. */
  readonly c: number;
}

/** A recipe: the first input's shape, the steps, and the seed of all input values. */
export interface Recipe {
  /** Shape of the first input. */
  readonly shape: readonly number[];
  /** Steps applied in order to a pool of tensors. */
  readonly steps: readonly Step[];
  /** Seed of the input values. */
  readonly seed: number;
}

/** Recipes of 1 to `maxSteps` steps on inputs of rank 1 to 4 with extents up to 5. */
export function recipe(maxSteps = 8): Arbitrary<Recipe> {
  const step = fc.record({
    kind: fc.nat(100),
    a: fc.nat(1000),
    b: fc.nat(1000),
    c: fc.nat(1000),
  });
  return fc.record({
    shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
    steps: fc.array(step, { minLength: 1, maxLength: maxSteps }),
    seed: fc.nat(1 << 20),
  });
}

/** Deterministic values in [-1, 1) from a seed (a small LCG; tests need repeatability only). */
function seededValues(n: number, seed: number): number[] {
  let s = (seed * 2654435761 + 1) >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** The result of replaying a recipe: the output and every input created along the way. */
export interface Built {
  /** The final tensor. */
  readonly out: Tensor;
  /** All inputs, in creation order. */
  readonly inputs: readonly Tensor[];
}

/**
 * Values in [-1, 1) from a seed with about one in four replaced by NaN, ±Infinity or ±0,
 * for tests of NaN and infinity semantics (pass as `build`'s `values`).
 */
export function specialValues(n: number, seed: number): number[] {
  const special = [NaN, Infinity, -Infinity, 0, -0];
  return seededValues(2 * n, seed).map((v, i, all) =>
    i >= n ? 0 : all[n + i] < -0.5 ? special[Math.floor((v + 1) * 2.5)] : v
  ).slice(0, n);
}

/**
 * Replays `r` on `backend` in `dtype`. Every op keeps values bounded (unary ops that could
 * overflow see squashed arguments), so float32 and float64 results stay comparable. `values`
 * gives the input values from a size and a seed (default: uniform in [-1, 1)).
 */
export function build(
  r: Recipe,
  backend: string,
  dtype: DType,
  values: (n: number, seed: number) => number[] = seededValues,
): Built {
  const inputs: Tensor[] = [];
  let seed = r.seed;
  const make = (shape: readonly number[]) => {
    const size = shape.reduce((p, d) => p * d, 1);
    const t = Tensor.from(values(size, seed++), { shape: [...shape], dtype, backend });
    inputs.push(t);
    return t;
  };
  const pool: Tensor[] = [make(r.shape)];
  for (const { kind, a, b, c } of r.steps) {
    const x = pool[pool.length - 1 - (a % Math.min(pool.length, 2))];
    pool.push(apply(kind % 9, x, a, b, c, pool, make));
  }
  return { out: pool[pool.length - 1], inputs };
}

function apply(
  kind: number,
  x: Tensor,
  a: number,
  b: number,
  c: number,
  pool: readonly Tensor[],
  make: (shape: readonly number[]) => Tensor,
): Tensor {
  const rank = x.ndim;
  switch (kind) {
    case 0: { // bounded unary ops
      const ops = [
        (t: Tensor) => t.neg(),
        (t: Tensor) => t.tanh().exp(),
        (t: Tensor) => t.sigmoid(),
        (t: Tensor) => t.sin(),
        (t: Tensor) => t.square().add(1).sqrt(),
        (t: Tensor) => t.square().add(1).log(),
        (t: Tensor) => t.square().add(1).reciprocal(),
        (t: Tensor) => t.relu(),
      ];
      return ops[b % ops.length](x);
    }
    case 1: { // binary ops with broadcasting against a pool tensor or a fresh input
      let y = pool[b % pool.length];
      if (c % 3 === 0) {
        y = make(x.shape.map((d, i) => ((c >> (i + 2)) & 1 ? 1 : d)).slice(c % 2));
      }
      try {
        x.add(y);
      } catch {
        y = y.mean();
      }
      const ops = [
        (p: Tensor, q: Tensor) => p.add(q),
        (p: Tensor, q: Tensor) => p.sub(q),
        (p: Tensor, q: Tensor) => p.mul(q),
        (p: Tensor, q: Tensor) => p.maximum(q),
        (p: Tensor, q: Tensor) => Tensor.where(p.lt(q), p, q.mul(0.5)),
      ];
      return ops[a % ops.length](x, y);
    }
    case 2: { // reductions
      const axes = x.shape.flatMap((_, i) => ((b >> i) & 1 ? [i] : []));
      const keepdims = (c & 1) === 1;
      const ax = axes.length ? axes : [a % rank];
      const ops = [
        (t: Tensor) => t.sum(ax, { keepdims }),
        (t: Tensor) => t.mean(ax, { keepdims }),
        (t: Tensor) => t.max(ax, { keepdims }),
      ];
      const out = ops[c % 3 === 2 ? 2 : (c >> 1) % 2](x);
      return out.ndim === 0 ? out.reshape([1]) : out;
    }
    case 3: { // permute
      const perm = x.shape.map((_, i) => i);
      for (let i = perm.length - 1; i > 0; i--) {
        const j = (b >> i) % (i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      return x.permute(...perm);
    }
    case 4: { // reshape: merge two neighbours or split off a factor
      if (rank >= 2 && b % 2 === 0) {
        const i = a % (rank - 1);
        return x.reshape([
          ...x.shape.slice(0, i),
          x.shape[i] * x.shape[i + 1],
          ...x.shape.slice(i + 2),
        ]);
      }
      const i = a % rank, d = x.shape[i];
      const f = [2, 3, 5].find((p) => d % p === 0 && d > p) ?? 1;
      return rank < 5
        ? x.reshape([...x.shape.slice(0, i), f, d / f, ...x.shape.slice(i + 1)])
        : x.flatten();
    }
    case 5: { // expand through a new axis
      if (rank >= 5) return x.sum(0);
      const i = a % (rank + 1);
      const shape = [...x.shape.slice(0, i), 1 + (b % 3), ...x.shape.slice(i)];
      return x.unsqueeze(i).expand(shape);
    }
    case 6: { // slice and pad
      const specs = x.shape.map((d, i) => {
        const start = ((a >> i) % d) % 2;
        const step = 1 + ((b >> i) % 2);
        return [start, d, step] as [number, number, number];
      });
      const sliced = x.slice(specs);
      const pads = sliced.shape.map((_, i) =>
        [(c >> i) % 2, (c >> (i + 4)) % 3] as [number, number]
      );
      return sliced.pad(pads);
    }
    case 7: { // matmul with a fresh matrix
      const k = x.shape[rank - 1];
      const w = make([k, 1 + (b % 4)]);
      return x.matmul(w);
    }
    default: { // conv2d on a 4-D view
      const x4 = rank === 4 ? x : x.reshape([1, 1, 1, x.size]);
      const [, cin, h, wd] = x4.shape;
      const kh = Math.min(h, 1 + (a % 3)), kw = Math.min(wd, 1 + (b % 3));
      const padding = c % 2;
      const stride = 1 + ((c >> 1) % 2);
      const weight = make([1 + (c % 3), cin, kh, kw]);
      return x4.conv2d(weight, { padding, stride });
    }
  }
}

/**
 * Where two results of one recipe differ: the first element that is neither equal (`+0` equals
 * `-0`) nor NaN on both sides, or undefined when they agree everywhere.
 */
export function firstDifference(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
): string | undefined {
  if (got.length !== want.length) return `length ${got.length} != ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    const g = got[i], w = want[i];
    if (g === w || (g !== g && w !== w)) continue;
    return `element ${i}: cpu ${g}, interpreter ${w}`;
  }
  return undefined;
}
