/**
 * The gradient of `conv2d` written as convolutions: the input gradient is a transposed
 * convolution (one contraction, like the forward) instead of an im2col-sized contraction
 * followed by the overlap-add of the window view.
 *
 * @module
 */

/**
 * The tensor methods the rule is built from (all differentiable, so gradients of gradients
 * work); structural so that this module does not import the Tensor class that calls it.
 */
export interface ConvTensor<T extends ConvTensor<T>> {
  readonly shape: readonly number[];
  reshape(shape: readonly number[]): T;
  permute(...axes: number[]): T;
  slice(specs: readonly (null | readonly [number, number])[]): T;
  pad(pads: readonly (readonly [number, number])[]): T;
  add(other: T): T;
  conv2d(weight: T, opts: { dilation: [number, number]; groups: number }): T;
}

/** The window arguments `conv2d` resolved: per spatial axis. */
export interface ConvGeometry {
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Reverses `axis` of `t` (a small axis: the kernel), from slices placed by padding. */
function flipAxis<T extends ConvTensor<T>>(t: T, axis: number): T {
  const k = t.shape[axis];
  let out: T | null = null;
  for (let a = 0; a < k; a++) {
    const spec = t.shape.map((_, i) => (i === axis ? [a, a + 1] as const : null));
    const pads = t.shape.map((_, i) => (i === axis ? [k - 1 - a, a] as const : [0, 0] as const));
    const placed = t.slice(spec).pad(pads);
    out = out === null ? placed : out.add(placed);
  }
  return out ?? t;
}

/** Pads (positive) or trims (negative) the two ends of spatial axis `axis` of `t`. */
function padOrTrim<T extends ConvTensor<T>>(t: T, axis: number, before: number, after: number): T {
  const d = t.shape[axis];
  const lo = Math.max(0, -before), hi = d - Math.max(0, -after);
  const trimmed = lo > 0 || hi < d
    ? t.slice(t.shape.map((_, i) => (i === axis ? [lo, hi] as const : null)))
    : t;
  const pads = t.shape.map((_, i) =>
    i === axis ? [Math.max(0, before), Math.max(0, after)] as const : [0, 0] as const
  );
  return pads[axis][0] > 0 || pads[axis][1] > 0 ? trimmed.pad(pads) : trimmed;
}

/**
 * `d conv2d(x, w) / d x` applied to `g` (`[N, Cout, OH, OW]`): `g` dilated by the stride, padded
 * by `dilation·(k − 1) − padding`, convolved with the spatially flipped weight whose in and out
 * channels are exchanged within each group.
 */
export function conv2dInputGrad<T extends ConvTensor<T>>(
  g: T,
  weight: T,
  inputShape: readonly number[],
  geo: ConvGeometry,
): T {
  const [n, , oh, ow] = g.shape;
  const [cout, cinG, kh, kw] = weight.shape;
  const [sh, sw] = geo.stride;
  // Zeros between the rows and columns of g: [N, C, OH, s, OW, s] trimmed to (OH − 1)·s + 1.
  let gd = g;
  if (sh > 1 || sw > 1) {
    gd = g.reshape([n, cout, oh, 1, ow, 1])
      .pad([[0, 0], [0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1]])
      .reshape([n, cout, oh * sh, ow * sw])
      .slice([null, null, [0, (oh - 1) * sh + 1], [0, (ow - 1) * sw + 1]]);
  }
  const k = [kh, kw];
  for (const ax of [0, 1]) {
    const reach = geo.dilation[ax] * (k[ax] - 1);
    const before = reach - geo.padding[ax];
    const after = inputShape[2 + ax] + reach - before - gd.shape[2 + ax];
    gd = padOrTrim(gd, 2 + ax, before, after);
  }
  const groups = geo.groups, rc = cout / groups;
  const wt = flipAxis(flipAxis(weight, 2), 3)
    .reshape([groups, rc, cinG, kh, kw])
    .permute(0, 2, 1, 3, 4)
    .reshape([groups * cinG, rc, kh, kw]);
  return gd.conv2d(wt, { dilation: [...geo.dilation] as [number, number], groups });
}
