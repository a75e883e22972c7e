/**
 * Which composite operation built a node: a side table beside the immutable, hash-consed IR.
 *
 * Composites (matmul, conv2d, softmax, the normalizations, …) are graphs of primitives, and the
 * primitives are all that autodiff, the scheduler and the backends see. Exporters to formats that
 * have these composites as operators of their own (ONNX) need to know that a node is, say, the
 * output of a convolution, with its inputs and attributes. The Tensor methods and nn functional
 * forms that build a composite record that here; nothing in the IR changes. Because nodes are
 * hash-consed, the same node may be recorded by two composites that compute the same value; the
 * one recorded last (the outermost) wins, and either describes the node correctly.
 *
 * @module
 */

import type { Node } from "./ir.ts";

type Pair = readonly [number, number];

/** The attributes of every composite, by name. */
export interface CompositeAttrs {
  /** `a - b` (inputs broadcast to the output shape). */
  sub: Record<never, never>;
  /** `a / b`. */
  div: Record<never, never>;
  /** `max(x, 0)`. */
  relu: Record<never, never>;
  /** Matrix product of inputs `[a, b]` with NumPy semantics. */
  matmul: Record<never, never>;
  /** `x · wᵀ + bias` of a 2-D `x`; inputs `[x, w, bias | null]`. */
  linear: Record<never, never>;
  /** 2-D convolution; inputs `[x, weight, bias | null]`. */
  conv2d: {
    readonly stride: Pair;
    readonly padding: Pair;
    readonly dilation: Pair;
    readonly groups: number;
  };
  /** Max pooling of a rank-4 input over its last two axes. */
  max_pool2d: {
    readonly kernel: Pair;
    readonly stride: Pair;
    readonly padding: Pair;
    readonly dilation: Pair;
  };
  /** Average pooling of a rank-4 input (padding counts as zeros). */
  avg_pool2d: {
    readonly kernel: Pair;
    readonly stride: Pair;
    readonly padding: Pair;
    readonly dilation: Pair;
  };
  /** Mean over `axes` (normalized, sorted). */
  mean: { readonly axes: readonly number[]; readonly keepdims: boolean };
  /** Softmax along `axis` (normalized). */
  softmax: { readonly axis: number };
  /** Log-softmax along `axis` (normalized). */
  log_softmax: { readonly axis: number };
  /** Batch normalization with given statistics; inputs `[x, weight?, bias?, mean, var]` (`[C]`). */
  batch_norm: { readonly eps: number };
  /** Layer normalization over the last `axes` axes; inputs `[x, weight?, bias?]`. */
  layer_norm: { readonly axes: number; readonly eps: number };
  /** Group normalization; inputs `[x, weight?, bias?]` (`[C]`). */
  group_norm: { readonly groups: number; readonly eps: number };
  /** Concatenation of the inputs along `axis` (normalized). */
  concat: { readonly axis: number };
  /** Constant padding with `value`; `pads[i] = [before, after]`. */
  pad: { readonly pads: readonly Pair[]; readonly value: number };
}

/** The name of a composite operation. */
export type CompositeOp = keyof CompositeAttrs;

/** What built a node: the composite, its operands (absent optional ones `null`), its attributes. */
export interface CompositeInfo<K extends CompositeOp = CompositeOp> {
  /** The composite's name. */
  readonly op: K;
  /** Its operands, in the order its entry in {@link CompositeAttrs} documents. */
  readonly inputs: readonly (Node | null)[];
  /** Its attributes. */
  readonly attrs: CompositeAttrs[K];
}

// Values refer only to the key's own ancestors, so the table keeps nothing alive by itself.
const table = new WeakMap<Node, CompositeInfo>();
// Composites whose result is a reshape, by the reshaped node. The IR folds a reshape of a
// reshape into one, so a later flatten of such a result skips the recorded node; this finds it.
const reshapes = new WeakMap<Node, Set<Node>>();

/** Records that `out` is the result of composite `op` over `inputs`; returns `out`. */
export function markComposite<K extends CompositeOp>(
  out: Node,
  op: K,
  inputs: readonly (Node | null)[],
  attrs: CompositeAttrs[K],
): Node {
  // A composite that folded away to one of its own operands (x · 1, an empty mean) is no node of
  // its own: describing the operand as the composite would loop.
  if (inputs.includes(out)) return out;
  table.set(out, Object.freeze({ op, inputs: Object.freeze([...inputs]), attrs }));
  if (out.op === "reshape") {
    const under = out.inputs[0];
    reshapes.set(under, (reshapes.get(under) ?? new Set()).add(out));
  }
  return out;
}

/**
 * The recorded composite results that are reshapes of `n`: a reshape of `n` equals a reshape of
 * any of them, which the IR's folding of reshape chains hides.
 */
export function compositeReshapesOf(n: Node): readonly Node[] {
  return [...(reshapes.get(n) ?? [])];
}

/** The composite that built `n`, if one was recorded. */
export function compositeOf(n: Node): CompositeInfo | undefined {
  return table.get(n);
}
