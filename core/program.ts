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
 *
 * The key is built from small integers (node heads and operand positions), and structurally
 * equal graphs share one cached `Program`, so a training loop that rebuilds its step graph pays
 * two walks over the graph per step and allocates no program nodes.
 */
export function lower(
  outputs: readonly Node[],
  isLeaf: (n: Node) => boolean,
): Lowered {
  // Operands of commutative ops are visited and listed in structural order, not in node-id
  // order, so a graph rebuilt from newer nodes (the next training step) gets the same key.
  // Equal hashes of different structures only cost a cache miss: the key itself is exact.
  const hashes = structuralHashes(outputs, isLeaf);
  const isInput = (n: Node) => hashes.get(n)! < 0;
  const operands = (n: Node): readonly Node[] => {
    if (!COMMUTATIVE.has(n.op)) return n.inputs;
    const [a, b] = n.inputs;
    return hashes.get(b)! < hashes.get(a)! ? [b, a] : n.inputs;
  };
  const order = postorder(outputs, (n) => (isInput(n) ? NONE : operands(n)));
  const index = new Map<Node, number>();
  const leaves: Node[] = [];
  const parts: number[] = [];
  for (let i = 0; i < order.length; i++) {
    const n = order[i];
    index.set(n, i);
    if (isInput(n)) {
      parts.push(-1 - inputHead(n), -1);
      leaves.push(n);
    } else if (n.op === "buffer") {
      throw new Error(
        `lower: buffer node #${n.id} must be a leaf of the program`,
      );
    } else {
      parts.push(n.head);
      for (const m of operands(n)) parts.push(index.get(m)!);
      parts.push(-1);
    }
  }
  const outs = outputs.map((o) => index.get(o)!);
  const key = `${parts.join(",")}->${outs.join(",")}`;
  let program = programs.get(key);
  if (program === undefined) {
    program = buildProgram(order, index, isInput, operands, outs, key);
    programs.set(key, program);
  }
  return { program, leaves };
}

const NONE: readonly Node[] = [];
const COMMUTATIVE = new Set<Op>(["add", "mul", "max", "cmpeq"]);

// Programs by key; holds one entry per distinct program structure, like the compile caches.
const programs = new Map<string, Program>();

// Ids of input heads (dtype and shape of a leaf).
const inputHeads = new Map<string, number>();

function inputHead(n: Node): number {
  const head = `${n.dtype}|${n.shape.join(",")}`;
  let id = inputHeads.get(head);
  if (id === undefined) inputHeads.set(head, id = inputHeads.size);
  return id;
}

function buildProgram(
  order: readonly Node[],
  index: ReadonlyMap<Node, number>,
  isInput: (n: Node) => boolean,
  operands: (n: Node) => readonly Node[],
  outputs: readonly number[],
  key: string,
): Program {
  const nodes: ProgramNode[] = [];
  const inputs: number[] = [];
  for (const n of order) {
    if (isInput(n)) {
      nodes.push({
        op: "input",
        inputs: [],
        shape: n.shape,
        dtype: n.dtype,
        attrs: { slot: inputs.length },
      });
      inputs.push(nodes.length - 1);
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
  return { nodes, inputs, outputs, key };
}

/** Nodes reachable from `roots` through `inputsOf`, each after its inputs (iterative DFS). */
function postorder(roots: readonly Node[], inputsOf: (n: Node) => readonly Node[]): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const nodes: Node[] = [], operands: (readonly Node[])[] = [], next: number[] = [];
  for (const root of roots) {
    if (seen.has(root)) continue;
    seen.add(root);
    nodes.push(root), operands.push(inputsOf(root)), next.push(0);
    while (nodes.length > 0) {
      const top = nodes.length - 1;
      const ins = operands[top];
      if (next[top] < ins.length) {
        const child = ins[next[top]++];
        if (!seen.has(child)) {
          seen.add(child);
          nodes.push(child), operands.push(inputsOf(child)), next.push(0);
        }
      } else {
        order.push(nodes.pop()!);
        operands.pop(), next.pop();
      }
    }
  }
  return order;
}

/**
 * A 31-bit hash of each node's structure (head and operand hashes, commutative operands
 * unordered); leaves hash by dtype and shape only and are marked by a negative value.
 */
function structuralHashes(
  outputs: readonly Node[],
  isLeaf: (n: Node) => boolean,
): Map<Node, number> {
  const hashes = new Map<Node, number>();
  const leaf = new Set<Node>();
  const inputsOf = (n: Node) => {
    if (!isLeaf(n)) return n.inputs;
    leaf.add(n);
    return NONE;
  };
  for (const n of postorder(outputs, inputsOf)) {
    if (leaf.has(n)) {
      hashes.set(n, -1 - (mix(0x5bd1e995, inputHead(n)) >>> 1));
      continue;
    }
    let h = mix(0x27d4eb2f, n.head);
    if (COMMUTATIVE.has(n.op)) {
      const a = hashes.get(n.inputs[0])!, b = hashes.get(n.inputs[1])!;
      h = mix(h, mix(Math.min(a, b), Math.max(a, b)));
    } else {
      for (const m of n.inputs) h = mix(h, hashes.get(m)!);
    }
    hashes.set(n, h >>> 1);
  }
  return hashes;
}

/** Mixes `v` into the 32-bit hash `h` (murmur3's round). */
function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}
