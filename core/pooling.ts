/**
 * Sliding windows and 2-D pooling (average and max), as `Tensor`'s methods build them: window
 * views from movement ops, reductions over the window axes, PyTorch's counts and gradients.
 *
 * @module
 */

import { markComposite } from "./composite.ts";
import { isFloat } from "./dtype.ts";
import { poolAxis } from "./pool_counts.ts";
import { fmtShape } from "./shape.ts";
import type { TensorKit, TensorLike } from "./tensor_like.ts";
import { tiledWindows } from "./tiled_windows.ts";
import { checkWindow, windowPair } from "./window_args.ts";
import { windowMax } from "./window_max.ts";

/** Options of 2-D pooling. */
export interface Pool2dOptions {
  /** Stride (default: the kernel size). */
  stride?: number | readonly [number, number];
  /** Implicit padding on both sides (default 0): zeros for average pooling, -∞ for max pooling. */
  padding?: number | readonly [number, number];
  /** Dilation (default 1). */
  dilation?: number | readonly [number, number];
}

/** Options of `Tensor.avgPool2d`: {@link Pool2dOptions} and PyTorch's two flags. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Whether zero padding counts toward each window's divisor (default `true`, as PyTorch). */
  countIncludePad?: boolean;
  /** Ceil instead of floor for the output size: a last partial window is kept (default `false`). */
  ceilMode?: boolean;
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

/**
 * Sliding windows over the last two axes of `t`: `[..., H, W]` to `[..., OH, OW, KH, KW]`, built
 * from movement ops only (so its gradient is their transposes).
 */
export function windows<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  dilation: readonly [number, number],
): T {
  windowPair("pool2d", "kernel size", kernel, 1);
  windowPair("pool2d", "stride", stride, 1);
  windowPair("pool2d", "dilation", dilation, 1);
  const lead = t.shape.slice(0, -2);
  const ins = t.shape.slice(-2);
  const outs = ins.map((i, d) =>
    Math.floor((i - dilation[d] * (kernel[d] - 1) - 1) / stride[d]) + 1
  );
  if (outs.some((o) => o <= 0)) {
    throw new Error(
      `pool2d: kernel ${fmtShape(kernel)} with dilation ${fmtShape(dilation)} does not fit input ` +
        `${fmtShape(ins)}; expected a positive output size`,
    );
  }
  // Repeat each spatial axis k times, then shift row j by j·dilation through a reshape.
  let x = kit.wrap(t.node, t.backend);
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

/** The padded windows of a pooling op: a tiled view where one applies, else `windows`. */
function poolWindows<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  op: string,
  kernel: number | readonly [number, number],
  opts: Pool2dOptions,
  padValue: number,
): T {
  if (t.ndim < 2) {
    throw new Error(
      `${op}: expected a tensor of rank >= 2, got ${fmtShape(t.shape)}`,
    );
  }
  const { kernel: k, stride: s, padding: p, dilation: d } = checkWindow(
    op,
    t.shape.slice(-2),
    {
      kernel,
      stride: opts.stride ?? kernel,
      padding: opts.padding ?? 0,
      dilation: opts.dilation ?? 1,
    },
    true,
  );
  const pads = t.shape.map((_, i) =>
    (i === t.ndim - 2 ? [p[0], p[0]] : i === t.ndim - 1 ? [p[1], p[1]] : [0, 0]) as [
      number,
      number,
    ]
  );
  const padded = t.pad(pads, padValue);
  const tiled = tiledWindows(padded.node, k, s, d);
  return tiled === null ? windows(padded, kit, k, s, d) : kit.wrap(tiled, t.backend);
}

/** Average pooling over the last two axes of `t` (see `Tensor.avgPool2d`). */
export function avgPool2d<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  kernel: number | readonly [number, number],
  opts: AvgPool2dOptions,
): T {
  if (opts.countIncludePad === false || opts.ceilMode === true) {
    return avgPoolCounted(t, kit, kernel, opts);
  }
  const out = poolWindows(t, kit, "avgPool2d", kernel, opts, 0).mean([-2, -1]);
  return markPool(t, out, "avg_pool2d", kernel, opts);
}

/** Window sums divided by torch's per-window counts (not an ONNX `avg_pool2d` composite). */
function avgPoolCounted<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  kernel: number | readonly [number, number],
  opts: AvgPool2dOptions,
): T {
  const op = "avgPool2d";
  if (t.ndim < 2) {
    throw new Error(`${op}: expected a tensor of rank >= 2, got ${fmtShape(t.shape)}`);
  }
  const k = pair(kernel, "kernel", op);
  const s = pair(opts.stride ?? k, "stride", op);
  const p = pair(opts.padding ?? 0, "padding", op);
  const d = pair(opts.dilation ?? 1, "dilation", op);
  const [h, w] = t.shape.slice(-2);
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
  const pads = t.shape.map((_, i) =>
    (i < t.ndim - 2
      ? [0, 0]
      : [p[i - t.ndim + 2], p[i - t.ndim + 2] + axes[i - t.ndim + 2].extra]) as [
        number,
        number,
      ]
  );
  const sums = windows(t.pad(pads), kit, k, s, d).sum([-2, -1]);
  const [rows, cols] = axes;
  const counts = new Float64Array(rows.out * cols.out);
  for (let i = 0; i < rows.out; i++) {
    for (let j = 0; j < cols.out; j++) counts[i * cols.out + j] = rows.counts[i] * cols.counts[j];
  }
  const dtype = t.dtype === "float64" ? "float64" : "float32";
  return sums.div(kit.leaf(counts, [rows.out, cols.out], dtype, t.backend));
}

/** Max pooling over the last two axes of `t` (see `Tensor.maxPool2d`). */
export function maxPool2d<T extends TensorLike<T>>(
  t: T,
  kit: TensorKit<T>,
  kernel: number | readonly [number, number],
  opts: Pool2dOptions,
): T {
  const values = poolWindows(t, kit, "maxPool2d", kernel, opts, -Infinity);
  const [h, w] = t.shape.slice(-2);
  const plane = kit.indexRange(h * w, values.dtype, t.backend).reshape([h, w]);
  const index = poolWindows(plane, kit, "maxPool2d", kernel, opts, -1);
  const out = kit.wrap(windowMax(values.node, index.node), t.backend);
  return markPool(t, out, "max_pool2d", kernel, opts);
}

/** Records a rank-4 pooling as a composite (exporters have it as one operator). */
function markPool<T extends TensorLike<T>>(
  t: T,
  out: T,
  op: "avg_pool2d" | "max_pool2d",
  kernel: number | readonly [number, number],
  opts: Pool2dOptions,
): T {
  if (t.ndim === 4 && isFloat(t.dtype)) {
    const k = pair(kernel, "kernel", op);
    markComposite(out.node, op, [t.node], {
      kernel: k,
      stride: pair(opts.stride ?? k, "stride", op),
      padding: pair(opts.padding ?? 0, "padding", op),
      dilation: pair(opts.dilation ?? 1, "dilation", op),
    });
  }
  return out;
}
