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
  // Operands of commutative ops are visited and listed in structural order, not in node-id
  // order, so a graph rebuilt from newer nodes (the next training step) gets the same key.
  const hashes = structuralHashes(outputs, isLeaf);
  const operands = (n: Node): readonly Node[] =>
    isLeaf(n)
      ? []
      : COMMUTATIVE.has(n.op)
      ? [...n.inputs].sort((a, b) => hashes.get(a)! - hashes.get(b)!)
      : n.inputs;
  const order = toposort(outputs, operands);
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
        inputs: operands(n).map((i) => index.get(i)!),
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

const COMMUTATIVE = new Set<Op>(["add", "mul", "max", "cmpeq"]);

/**
 * A hash of each node's structure (op, dtype, shape, attributes and operand hashes, commutative
 * operands unordered); leaves hash by dtype and shape only.
 */
function structuralHashes(
  outputs: readonly Node[],
  isLeaf: (n: Node) => boolean,
): Map<Node, number> {
  const hashes = new Map<Node, number>();
  for (const n of toposort(outputs, (m) => (isLeaf(m) ? [] : m.inputs))) {
    const head = `${isLeaf(n) ? "input" : n.op}|${n.dtype}|${n.shape.join(",")}`;
    if (isLeaf(n)) {
      hashes.set(n, hashString(head));
      continue;
    }
    const args = n.inputs.map((i) => hashes.get(i)!);
    if (COMMUTATIVE.has(n.op)) args.sort((a, b) => a - b);
    hashes.set(n, hashString(`${head}|${JSON.stringify(n.attrs)}|${args.join(",")}`));
  }
  return hashes;
}

/** A 53-bit string hash (cyrb53). */
function hashString(s: string): number {
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
