/**
 * `gradcheck`: reverse-mode gradients (and gradients of gradients) against finite differences
 * in float64.
 *
 * @module
 */

import { isFloat } from "../core/dtype.ts";
import { fmtShape } from "../core/shape.ts";
import { realize, Tensor } from "../core/tensor.ts";
import { gradients } from "../core/transforms.ts";

/** Options of {@link gradcheck}. */
export interface GradcheckOptions {
  /** Highest derivative order to check: 1 checks gradients, 2 also gradients of gradients. */
  order?: number;
  /**
   * Step of the finite differences (default 1e-3). The fourth-order central difference
   * `(-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h` has truncation error about
   * `h⁴·|f⁽⁵⁾|/30` (3e-14·|f⁽⁵⁾| at the default) and rounding error about `1.5·2⁻⁵²·|f|/h`
   * (3e-13·|f|), so float64 results are good to far better than the default `rtol`. Inputs
   * must lie at least `2h` away from kinks (max, comparisons, where) of `f`.
   */
  eps?: number;
  /** Relative tolerance (default 1e-6). */
  rtol?: number;
  /** Absolute tolerance (default 1e-9), for derivatives near zero. */
  atol?: number;
  /** Seed of the random output weights and direction vectors (default 1). */
  seed?: number;
}

type ScalarFn = (xs: readonly Tensor[]) => Tensor;

/** A seeded float64 tensor of uniform values in [-1, 1) shaped like `like`. */
function weights(like: Tensor, seed: number): Tensor {
  return Tensor.rand(like.shape, {
    seed,
    low: -1,
    high: 1,
    dtype: "float64",
    backend: like.backend,
  });
}

/** `sum(w · y)` in float64: one random projection of any output to a scalar. */
function project(y: Tensor, seed: number): Tensor {
  const y64 = y.cast("float64");
  return y64.mul(weights(y64, seed)).sum();
}

/** Reverse-mode gradients of `s` with respect to the differentiable inputs. */
function analytic(s: Tensor, xs: readonly Tensor[], diff: readonly number[]): Tensor[] {
  return gradients(s, diff.map((i) => xs[i]));
}

/** The scalar `Σ_i <v_i, ∂s/∂x_i>`, whose gradient is a Hessian-vector product of `s`. */
function directional(fn: ScalarFn, diff: readonly number[], seed: number): ScalarFn {
  return (xs) => {
    const gs = analytic(fn(xs), xs, diff);
    return gs.map((g, k) => g.mul(weights(g, seed + 7919 * (k + 1))).sum())
      .reduce((a, b) => a.add(b));
  };
}

/** Central fourth-order finite differences of `fn` with respect to each differentiable element. */
async function numeric(
  fn: ScalarFn,
  xs: readonly Tensor[],
  hosts: readonly (Float64Array | null)[],
  diff: readonly number[],
  h: number,
): Promise<Float64Array[]> {
  // f'(x) ≈ (-f(x+2h) + 8f(x+h) - 8f(x-h) + f(x-2h)) / 12h.
  const stencil = [[2, -1], [1, 8], [-1, -8], [-2, 1]];
  const jobs: { arg: number; elem: number; coeff: number; out: Tensor }[] = [];
  for (const [k, i] of diff.entries()) {
    const base = hosts[i]!;
    for (let j = 0; j < base.length; j++) {
      for (const [off, coeff] of stencil) {
        const moved = base.slice();
        moved[j] += off * h;
        const args = xs.slice();
        args[i] = Tensor.from(moved, {
          shape: xs[i].shape,
          dtype: "float64",
          backend: xs[i].backend,
        });
        jobs.push({ arg: k, elem: j, coeff, out: fn(args) });
      }
    }
  }
  const result = diff.map((i) => new Float64Array(hosts[i]!.length));
  // Realize in chunks: one program per chunk keeps graphs small and compiles once per shape.
  const chunk = 64;
  for (let start = 0; start < jobs.length; start += chunk) {
    const part = jobs.slice(start, start + chunk);
    await realize(...part.map((j) => j.out));
    for (const job of part) {
      result[job.arg][job.elem] += (job.coeff * await job.out.item()) / (12 * h);
    }
  }
  return result;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

/**
 * Checks the reverse-mode gradients of `f` at `args` against finite differences, and with
 * `order: 2` also the gradients of those gradients (Hessian-vector products).
 *
 * Float arguments are copied to float64 leaves on their backend (so the backend must support
 * float64) and are all differentiated; other arguments are passed through. A non-scalar output
 * `y` is reduced to `sum(w · y)` with seeded random weights `w`, which checks the vector-Jacobian
 * product in a random direction; order `k + 1` differentiates `Σ <v, ∇>` of order `k` likewise.
 * Each element must satisfy `|reverse - numeric| <= atol + rtol * |numeric|`; the error names
 * the order, the argument, the element and both values.
 *
 * @example
 * ```ts
 * import { gradcheck } from "@symgrad/symgrad/testing";
 * import { Tensor } from "@symgrad/symgrad";
 * const x = Tensor.from([[0.5, -1], [2, 0.25]], { dtype: "float64" });
 * await gradcheck((x: Tensor) => x.softmax(-1).log(), [x], { order: 2 });
 * ```
 */
export async function gradcheck(
  f: (...args: Tensor[]) => Tensor,
  args: readonly Tensor[],
  opts: GradcheckOptions = {},
): Promise<void> {
  const { order = 1, eps = 1e-3, rtol = 1e-6, atol = 1e-9, seed = 1 } = opts;
  if (!Number.isInteger(order) || order < 1) {
    throw new Error(`gradcheck: order must be a positive integer, got ${order}`);
  }
  if (!(eps > 0)) throw new Error(`gradcheck: eps must be positive, got ${eps}`);
  const hosts: (Float64Array | null)[] = [];
  const xs: Tensor[] = [];
  for (const a of args) {
    if (!(a instanceof Tensor)) {
      throw new Error(`gradcheck: expected tensor arguments, got ${typeof a}`);
    }
    if (isFloat(a.dtype)) {
      const host = Float64Array.from(await a.data());
      hosts.push(host);
      xs.push(Tensor.from(host, { shape: a.shape, dtype: "float64", backend: a.backend }));
    } else {
      hosts.push(null);
      xs.push(a);
    }
  }
  const diff = hosts.flatMap((h, i) => (h !== null ? [i] : []));
  if (diff.length === 0) {
    throw new Error("gradcheck: no float arguments to differentiate; expected at least one");
  }
  let fn: ScalarFn = (ys) => project(f(...ys), seed);
  for (let k = 1; k <= order; k++) {
    const reverse = analytic(fn(xs), xs, diff);
    await realize(...reverse);
    const approx = await numeric(fn, xs, hosts, diff, eps);
    for (const [n, i] of diff.entries()) {
      const got = await reverse[n].data();
      const want = approx[n];
      let worst = -1, worstExcess = 0, bad = 0;
      for (let j = 0; j < want.length; j++) {
        const excess = Math.abs(got[j] - want[j]) - (atol + rtol * Math.abs(want[j]));
        if (!(excess <= 0)) {
          bad++;
          if (worst < 0 || !(excess <= worstExcess)) [worst, worstExcess] = [j, excess];
        }
      }
      if (worst >= 0) {
        const what = k === 1 ? "gradient" : `order-${k} derivative`;
        throw new Error(
          `gradcheck: ${what} of argument ${i} (shape ${fmtShape(xs[i].shape)}) differs from ` +
            `finite differences at index [${unravel(worst, xs[i].shape).join(", ")}]: ` +
            `reverse mode ${got[worst]}, numeric ${want[worst]} (tolerance ` +
            `${atol + rtol * Math.abs(want[worst])} = atol ${atol} + rtol ${rtol} * |numeric|, ` +
            `eps ${eps}); ${bad} of ${want.length} elements differ`,
        );
      }
    }
    fn = directional(fn, diff, seed + k);
  }
}
