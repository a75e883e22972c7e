/**
 * Contractions as `Tensor`'s methods build them: `matmul` and `conv2d` are one reduce-sum of a
 * broadcast product (the form the scheduler hands to the GEMM kernels), with conv2d's gradient
 * rule attached.
 *
 * @module
 */

import { defineCustomVjp } from "./autodiff.ts";
import { markComposite } from "./composite.ts";
import { conv2dInputGrad, type ConvGeometry } from "./conv_grad.ts";
import { isFloat } from "./dtype.ts";
import type { Node } from "./ir.ts";
import { fmtShape, shapesEqual } from "./shape.ts";
import type { TensorKit, TensorLike } from "./tensor_like.ts";
import { checkWindow } from "./window_args.ts";
import { windows } from "./pooling.ts";

/** The window arguments of `conv2d`, and an optional bias of shape `[Cout]`. */
export interface ConvArgs<T> {
  /** Bias of shape `[Cout]`. */
  bias?: T;
  /** Stride, one number or `[sh, sw]` (default 1). */
  stride?: number | readonly [number, number];
  /** Zero padding, one number or `[ph, pw]` (default 0). */
  padding?: number | readonly [number, number];
  /** Dilation, one number or `[dh, dw]` (default 1). */
  dilation?: number | readonly [number, number];
  /** Number of groups (default 1). */
  groups?: number;
}

/** Matrix product of `a` and `b` with NumPy semantics (1-D operands, broadcast batch axes). */
export function matmul<T extends TensorLike<T>>(a0: T, b0: T): T {
  if (a0.ndim === 0 || b0.ndim === 0) {
    throw new Error(
      `matmul: expected operands of rank >= 1, got ${fmtShape(a0.shape)} and ${fmtShape(b0.shape)}`,
    );
  }
  const a = a0.ndim === 1 ? a0.unsqueeze(0) : a0;
  const b = b0.ndim === 1 ? b0.unsqueeze(1) : b0;
  const k = a.shape[a.ndim - 1];
  if (b.shape[b.ndim - 2] !== k) {
    throw new Error(
      `matmul: inner extents differ: ${fmtShape(a0.shape)} @ ${fmtShape(b0.shape)} ` +
        `(${k} vs ${b.shape[b.ndim - 2]}); expected equal contraction extents`,
    );
  }
  // [..., M, 1, K] · [..., 1, N, K] summed over K: one fused reduction.
  const prod = a.unsqueeze(-2).mul(b.transpose(-1, -2).unsqueeze(-3));
  let out = prod.sum(-1);
  if (a0.ndim === 1) out = out.squeeze(-2);
  if (b0.ndim === 1) out = out.squeeze(-1);
  if (a0.dtype === b0.dtype && isFloat(a0.dtype)) {
    markComposite(out.node, "matmul", [a0.node, b0.node], {});
  }
  return out;
}

/**
 * 2-D convolution (cross-correlation, as in PyTorch) of `x` (`[N, Cin, H, W]`) with `weight`
 * (`[Cout, Cin / groups, KH, KW]`).
 */
export function conv2d<T extends TensorLike<T>>(
  x0: T,
  weight: T,
  kit: TensorKit<T>,
  opts: ConvArgs<T>,
): T {
  const groups = opts.groups ?? 1;
  if (x0.ndim !== 4 || weight.ndim !== 4) {
    throw new Error(
      `conv2d: expected input [N, Cin, H, W] and weight [Cout, Cin/groups, KH, KW], got ` +
        `${fmtShape(x0.shape)} and ${fmtShape(weight.shape)}`,
    );
  }
  if (!Number.isInteger(groups) || groups < 1) {
    throw new Error(`conv2d: groups ${groups} is invalid; expected a positive integer`);
  }
  const [n, cin] = x0.shape;
  const [cout, cinG, kh, kw] = weight.shape;
  const { stride, padding, dilation } = checkWindow("conv2d", x0.shape.slice(2), {
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
  const padded = x0.pad([[0, 0], [0, 0], [padding[0], padding[0]], [padding[1], padding[1]]]);
  const x = windows(padded, kit, [kh, kw], stride, dilation); // [N, Cin, OH, OW, KH, KW]
  const [oh, ow] = [x.shape[2], x.shape[3]];
  const rc = cout / groups;
  const xs = x.reshape([n, groups, 1, cinG, oh, ow, kh, kw]).permute(0, 1, 2, 4, 5, 3, 6, 7);
  const ws = weight.reshape([1, groups, rc, 1, 1, cinG, kh, kw]);
  let out = xs.mul(ws).sum([5, 6, 7]).reshape([n, cout, oh, ow]);
  if (isFloat(x0.dtype) && weight.dtype === x0.dtype) {
    // The input gradient as a transposed convolution (one contraction) instead of the
    // window view's overlap-add; the weight gradient is the contraction autodiff would build.
    const geo = { stride, padding, dilation, groups };
    defineConvVjp(kit, out.node, x0.node, weight.node, xs.node, x0.backend, geo);
  }
  if (opts.bias !== undefined) {
    out = out.add(opts.bias.reshape([1, cout, 1, 1]));
  }
  if ([weight, opts.bias ?? x0].every((t) => t.dtype === x0.dtype) && isFloat(x0.dtype)) {
    const inputs = [x0.node, weight.node, opts.bias?.node ?? null];
    markComposite(out.node, "conv2d", inputs, { stride, padding, dilation, groups });
  }
  return out;
}

/**
 * Attaches conv2d's gradient rule to `out`. The rule holds nodes only (no tensors, whose storage
 * would then live as long as the graph), so each step's graph stays collectable. It is the
 * forward's true derivative (`exact`), so forward mode differentiates the primitives instead.
 */
function defineConvVjp<T extends TensorLike<T>>(
  kit: TensorKit<T>,
  out: Node,
  x: Node,
  w: Node,
  xs: Node,
  backend: string,
  geo: ConvGeometry,
): void {
  defineCustomVjp(out, [x, w], (gn) => {
    const g = kit.wrap(gn, backend);
    const [n, cout, oh, ow] = out.shape;
    const [, cinG, kh, kw] = w.shape;
    const groups = geo.groups, rc = cout / groups;
    const dw = g.reshape([n, groups, rc, oh, ow, 1, 1, 1]).mul(kit.wrap(xs, backend))
      .sum([0, 3, 4]).reshape([cout, cinG, kh, kw]);
    return [conv2dInputGrad(g, kit.wrap(w, backend), x.shape, geo).node, dw.node];
  }, { exact: true });
}
