/**
 * Programs: the storage-free, structural form of a graph that backends compile.
 *
 * Lowering replaces every realized node by an `input` slot, so two graphs that differ only in
 * which buffers they read have the same program and the same `key`: a training loop that rebuilds
 * its step graph compiles once.
 *
 * @module
 */

import type { DType } from "./dtype.ts";
import type { Node, Op, OpAttrs } from "./ir.ts";
import { toposort } from "./ir.ts";
import type { Shape } from "./shape.ts";

/** The op of a program node: a primitive, or `input` for a realized leaf. */
export type ProgramOp = Exclude<Op, "buffer"> | "input";

/** One node of a program; `inputs` index earlier nodes of the same program. */
export interface ProgramNode {
  /** The op. */
  readonly op: ProgramOp;
  /** Operand indices into `Program.nodes`. */
  readonly inputs: readonly number[];
  /** Result shape. */
  readonly shape: Shape;
  /** Result dtype. */
  readonly dtype: DType;
  /** Op attributes (`{ slot }` for inputs). */
  readonly attrs: ProgramAttrs;
}

/** Attributes of a program node: the IR op's attributes, or the input slot. */
export type ProgramAttrs = OpAttrs[Exclude<Op, "buffer">] | {
  readonly slot: number;
};

/** A lowered graph: nodes in topological order, input slots and requested outputs. */
export interface Program {
  /** Nodes, each after its inputs. */
  readonly nodes: readonly ProgramNode[];
  /** `inputs[slot]` is the index of the node reading input buffer `slot`. */
  readonly inputs: readonly number[];
  /** Indices of the requested outputs, in request order. */
  readonly outputs: readonly number[];
  /** A string that is equal for structurally equal programs. */
  readonly key: string;
}

/** The result of lowering: the program and the graph leaves that feed its input slots. */
export interface Lowered {
  /** The program. */
  readonly program: Program;
  /** `leaves[slot]` is the node whose realized buffer feeds input `slot`. */
  readonly leaves: readonly Node[];
}

/**
 * Lowers the graph of `outputs` to a program. Nodes for which `isLeaf` holds become input slots
 * (numbered in order of first use) and their inputs are not visited.
 */
export function lower(
  outputs: readonly Node[],
  isLeaf: (n: Node) => boolean,
): Lowered {
  const order = toposort(outputs, (n) => (isLeaf(n) ? [] : n.inputs));
  const index = new Map<Node, number>();
  const nodes: ProgramNode[] = [];
  const inputs: number[] = [];
  const leaves: Node[] = [];
  for (const n of order) {
    index.set(n, nodes.length);
    if (isLeaf(n)) {
      inputs.push(nodes.length);
      nodes.push({
        op: "input",
        inputs: [],
        shape: n.shape,
        dtype: n.dtype,
        attrs: { slot: leaves.length },
      });
      leaves.push(n);
    } else if (n.op === "buffer") {
      throw new Error(
        `lower: buffer node #${n.id} must be a leaf of the program`,
      );
    } else {
      nodes.push({
        op: n.op as Exclude<Op, "buffer">,
        inputs: n.inputs.map((i) => index.get(i)!),
        shape: n.shape,
        dtype: n.dtype,
        attrs: n.attrs as ProgramAttrs,
      });
    }
  }
  const outs = outputs.map((o) => index.get(o)!);
  const key =
    nodes.map((p) =>
      `${p.op}:${p.dtype}[${p.shape.join(",")}]${JSON.stringify(p.attrs)}(${p.inputs.join(",")})`
    ).join(";") + `->${outs.join(",")}`;
  return { program: { nodes, inputs, outputs: outs, key }, leaves };
}
