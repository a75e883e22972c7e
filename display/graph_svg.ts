/**
 * Pictures of graphs: Graphviz DOT source of the IR (and of which nodes share a kernel), laid
 * out by Graphviz itself (compiled to WebAssembly, so it runs offline) into SVG.
 *
 * @module
 */

import { instance, type Viz } from "@viz-js/viz";
import { type Node, type OpAttrs, toposort } from "../core/ir.ts";
import type { Tensor } from "../core/tensor.ts";
import { formatGraph } from "../core/print.ts";
import { lower, type Program } from "../core/program.ts";
import { isRealized } from "../core/realize.ts";
import { formatSchedule, kernelOutputs, type Schedule, schedule } from "../core/schedule.ts";
import { formatNumber, type MimeBundle, svgFragment, svgHtml } from "./mime.ts";

/** Tensors (or nodes) by label, or a list of them. */
export type Labeled = readonly (Tensor | Node)[] | Readonly<Record<string, Tensor | Node>>;

/** Options of {@link graphDot} and {@link graphPicture}. */
export interface GraphOptions {
  /** Names for leaves (inputs, parameters) shown instead of their buffer ids. */
  inputs?: Readonly<Record<string, Tensor | Node>>;
  /**
   * Groups of nodes drawn inside a labeled box each, e.g. the kernels of a schedule (a node in
   * no group is drawn outside every box).
   */
  clusters?: readonly { readonly label: string; readonly nodes: readonly Node[] }[];
  /** A caption. */
  title?: string;
}

function nodeOf(x: Tensor | Node): Node {
  return "node" in x ? x.node : x;
}

function entries(xs: Labeled): [string | undefined, Node][] {
  return Array.isArray(xs)
    ? (xs as readonly (Tensor | Node)[]).map((x) => [undefined, nodeOf(x)])
    : Object.entries(xs).map(([k, x]) => [k, nodeOf(x)]);
}

/** A DOT string literal. */
function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const MOVEMENT = new Set(["reshape", "permute", "expand", "pad", "slice"]);

function style(n: { op: string }): string {
  if (n.op === "buffer" || n.op === "input") {
    return `shape=ellipse style=filled fillcolor="#dbe9f6"`;
  }
  if (n.op === "const") return `shape=plaintext fontcolor="#555555"`;
  if (n.op.startsWith("reduce_")) return `shape=box style="filled,rounded" fillcolor="#fde2c4"`;
  if (MOVEMENT.has(n.op)) return `shape=box style="rounded,dashed" color="#777777"`;
  return `shape=box style="filled,rounded" fillcolor="#f4f4f4"`;
}

function attrText(n: { op: string; attrs: unknown; dtype: string }): string {
  switch (n.op) {
    case "const":
      return formatNumber((n.attrs as OpAttrs["const"]).value);
    case "reduce_sum":
    case "reduce_max":
      return ` axes=[${(n.attrs as OpAttrs["reduce_sum"]).axes.join(",")}]`;
    case "permute":
      return ` [${(n.attrs as OpAttrs["permute"]).perm.join(",")}]`;
    case "cast":
      return ` →${n.dtype}`;
    default:
      return "";
  }
}

/**
 * Graphviz DOT source of the graph of `outputs`: one box per node (op, attributes, dtype and
 * shape), edges from inputs to users, named leaves and outputs labeled.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { graphDot } from "@symgrad/symgrad/display";
 * const x = Tensor.from([1, 2, 3]);
 * console.log(graphDot({ y: x.mul(x).sum() }, { inputs: { x } }));
 * ```
 */
export function graphDot(outputs: Labeled, opts: GraphOptions = {}): string {
  const outs = entries(outputs);
  const order = toposort(outs.map(([, n]) => n));
  const leafNames = new Map<Node, string>();
  for (const [k, n] of Object.entries(opts.inputs ?? {})) leafNames.set(nodeOf(n), k);
  const id = (n: Node) => `n${n.id}`;
  const line = (n: Node) => {
    const head = n.op === "buffer"
      ? leafNames.get(n) ?? `input #${(n.attrs as OpAttrs["buffer"]).ref.id}`
      : n.op === "const"
      ? attrText(n)
      : `${n.op}${attrText(n)}`;
    const type = n.op === "const" ? "" : `\n${n.dtype}[${n.shape.join(",")}]`;
    return `  ${id(n)} [label=${quote(head + type)} ${style(n)}];`;
  };
  const clustered = new Map<Node, number>();
  (opts.clusters ?? []).forEach((c, i) => c.nodes.forEach((n) => clustered.set(n, i)));
  const lines = [
    "digraph G {",
    `  graph [rankdir=TB fontname="Helvetica" fontsize=12${
      opts.title ? ` label=${quote(opts.title)} labelloc=t` : ""
    }];`,
    `  node [fontname="Helvetica" fontsize=10 height=0.3];`,
    `  edge [color="#666666" arrowsize=0.6];`,
  ];
  for (const n of order) if (!clustered.has(n)) lines.push(line(n));
  (opts.clusters ?? []).forEach((c, i) => {
    const members = order.filter((n) => clustered.get(n) === i);
    if (members.length === 0) return;
    lines.push(
      `  subgraph cluster_${i} {`,
      `    label=${quote(c.label)}; style="rounded,filled"; fillcolor="#fffbe6"; color="#c9a227";`,
      ...members.map((n) => "  " + line(n)),
      "  }",
    );
  }), lines.push(...order.flatMap((n) => n.inputs.map((x) => `  ${id(x)} -> ${id(n)};`)));
  outs.forEach(([label, n], i) => {
    lines.push(
      `  out${i} [label=${quote(label ?? `output ${i}`)} shape=plaintext fontcolor="#1f5fa8"];`,
      `  ${id(n)} -> out${i} [style=bold color="#1f5fa8"];`,
    );
  });
  lines.push("}");
  return lines.join("\n");
}

let vizInstance: Promise<Viz> | undefined;

/**
 * Lays out DOT source with Graphviz (the `dot` engine) and returns SVG, without the XML
 * declaration and DOCTYPE Graphviz puts in front (see {@link svgFragment}).
 *
 * @example
 * ```ts
 * import { renderDot } from "@symgrad/symgrad/display";
 * const svg = await renderDot("digraph { a -> b }");
 * console.log(svg.includes("<svg")); // true
 * ```
 */
export async function renderDot(dot: string): Promise<string> {
  vizInstance ??= instance();
  const result = (await vizInstance).render(dot, { format: "svg" });
  if (result.status !== "success") {
    const why = result.errors.map((e) => e.message).join("; ");
    throw new Error(`renderDot: Graphviz rejected the DOT source: ${why}`);
  }
  return svgFragment(result.output);
}

/** A graph picture: SVG, its DOT source and the text listing, for Jupyter or files. */
export class GraphFigure {
  /** The Graphviz DOT source. */
  readonly dot: string;
  /** The laid-out SVG. */
  readonly svg: string;
  /** A text form (the IR listing, or a schedule listing). */
  readonly text: string;

  /** Bundles the three forms of one picture (any XML declaration is dropped from the SVG). */
  constructor(dot: string, svg: string, text: string) {
    this.dot = dot;
    this.svg = svgFragment(svg);
    this.text = text;
  }

  /**
   * The MIME bundle: `image/svg+xml`, `text/html` (the SVG inline, in a box that scrolls when
   * it is wider than the page), `text/vnd.graphviz` and `text/plain`.
   */
  toMimeBundle(): MimeBundle {
    return {
      "image/svg+xml": this.svg,
      "text/html": svgHtml(this.svg),
      "text/vnd.graphviz": this.dot,
      "text/plain": this.text,
    };
  }

  /** Called by Deno's Jupyter kernel. */
  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }

  /** The text form. */
  toString(): string {
    return this.text;
  }
}

/**
 * The picture of the graph of `outputs` (see {@link graphDot}), laid out by Graphviz.
 *
 * @example
 * ```ts
 * import { grad, Tensor } from "@symgrad/symgrad";
 * import { graphPicture } from "@symgrad/symgrad/display";
 * const x = Tensor.from([1, 2, 3]);
 * const f = (x: Tensor) => x.sin().sum();
 * const fig = await graphPicture({ "f(x)": f(x), "f'(x)": grad(f)(x) }, { inputs: { x } });
 * console.log(fig.svg.length > 0, fig.dot.startsWith("digraph")); // true true
 * ```
 */
export async function graphPicture(
  outputs: Labeled,
  opts: GraphOptions = {},
): Promise<GraphFigure> {
  const dot = graphDot(outputs, opts);
  return new GraphFigure(
    dot,
    await renderDot(dot),
    formatGraph(entries(outputs).map(([, n]) => n)),
  );
}

/** Options of {@link scheduleDot}. */
export interface ScheduleDotOptions {
  /** Names of the program's input slots (by slot). */
  inputNames?: readonly (string | undefined)[];
  /** Names of the program's outputs (by position). */
  outputNames?: readonly (string | undefined)[];
  /** A caption. */
  title?: string;
  /**
   * `"nodes"` (default): each kernel is a box holding its fused nodes; `"kernels"`: each kernel
   * is one vertex listing its loops, how many nodes of each op it fuses and the inputs it reads,
   * which stays readable at notebook width for schedules of hundreds of nodes.
   */
  detail?: "nodes" | "kernels";
}

/** Loop extents of a kernel, reduction loops marked `r` (`4×3×8r`). */
function loopText(k: Schedule["kernels"][number]): string {
  return k.loops.map((l) => `${l.extent}${l.reduce ? "r" : ""}`).join("×") || "1";
}

const QUIET = new Set(["input", "const", ...MOVEMENT]);

/**
 * `mul×6 add×5 …`: the arithmetic a kernel fuses, most frequent op first, three per line, and
 * how many movement ops it folded into its indexing.
 */
function opCounts(ops: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const op of ops) if (!QUIET.has(op)) counts.set(op, (counts.get(op) ?? 0) + 1);
  const words = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([op, n]) => (n > 1 ? `${op}×${n}` : op));
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 3) lines.push(words.slice(i, i + 3).join(" "));
  const moves = ops.filter((op) => MOVEMENT.has(op)).length;
  if (moves > 0) lines.push(`${moves} movement op${moves > 1 ? "s" : ""} as indexing`);
  return lines.join("\n");
}

/**
 * Graphviz DOT source of a schedule: one box per kernel holding the program nodes fused into it
 * (a node inlined into several kernels appears in each, since each recomputes it), edges from
 * the kernel or input that materializes each operand. With `detail: "kernels"`, one vertex per
 * kernel instead (its loops, fused ops and the inputs it reads), and one edge per intermediate
 * buffer it reads.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { schedulePicture } from "@symgrad/symgrad/display";
 * const x = Tensor.rand([4, 8]);
 * // schedulePicture lowers and schedules the graph, then calls scheduleDot.
 * console.log((await schedulePicture([x.exp().sum(1).add(1)])).dot);
 * ```
 */
export function scheduleDot(
  sched: Schedule,
  program: Program,
  opts: ScheduleDotOptions = {},
): string {
  const materializedBy = new Map<number, number>();
  for (const k of sched.kernels) {
    materializedBy.set(k.nodes[k.nodes.length - 1], k.id);
    // A fused kernel materializes one node per output.
    for (const o of kernelOutputs(k)) materializedBy.set(sched.buffers[o.buffer].node, k.id);
  }
  const byKernel = opts.detail === "kernels";
  const lines = [
    "digraph S {",
    `  graph [rankdir=TB fontname="Helvetica" fontsize=12 compound=true${
      opts.title ? ` label=${quote(opts.title)} labelloc=t` : ""
    }];`,
    `  node [fontname="Helvetica" fontsize=10 height=0.3];`,
    `  edge [color="#666666" arrowsize=0.6];`,
  ];
  const label = (i: number) => {
    const n = program.nodes[i];
    if (n.op === "input") {
      const slot = (n.attrs as { slot: number }).slot;
      return `${opts.inputNames?.[slot] ?? `in${slot}`}\n${n.dtype}[${n.shape.join(",")}]`;
    }
    if (n.op === "const") return attrText(n);
    return `${n.op}${attrText(n)}\n${n.dtype}[${n.shape.join(",")}]`;
  };
  const vertex = (i: number, k: number | undefined) =>
    k === undefined ? `p${i}` : byKernel ? `k${k}` : `k${k}_${i}`;
  const drawn = new Set<number>();
  const source = (j: number, k: number, members: Set<number>) =>
    members.has(j) ? vertex(j, k) : vertex(j, materializedBy.get(j));
  const edges: string[] = [];
  for (const k of sched.kernels) {
    const members = new Set(k.nodes);
    const title = `kernel ${k.id}${k.reduceOp ? ` (${k.reduceOp})` : ""} [${loopText(k)}]`;
    if (byKernel) {
      // Inputs are named in the label rather than drawn: most kernels read most inputs, and
      // their edges would hide the kernel-to-kernel ones.
      const last = program.nodes[k.nodes[k.nodes.length - 1]];
      const inputs = new Set<string>(), from = new Set<string>();
      for (const i of k.nodes) {
        for (const j of program.nodes[i].inputs) {
          if (members.has(j)) continue;
          const by = materializedBy.get(j);
          if (by !== undefined) from.add(`k${by}`);
          else inputs.add(label(j).split("\n")[0]);
        }
      }
      const text = [
        title,
        opCounts(k.nodes.map((i) => program.nodes[i].op)),
        ...(inputs.size > 0 ? [`reads ${[...inputs].join(", ")}`] : []),
        `→ ${last.dtype}[${last.shape.join(",")}]`,
      ].join("\n");
      lines.push(
        `  k${k.id} [label=${quote(text)} shape=box style="filled,rounded" ` +
          `fillcolor="#fffbe6" color="#c9a227"];`,
      );
      for (const v of from) edges.push(`  ${v} -> k${k.id};`);
      continue;
    }
    lines.push(
      `  subgraph cluster_k${k.id} {`,
      `    label=${quote(title)};`,
      `    style="rounded,filled"; fillcolor="#fffbe6"; color="#c9a227";`,
    );
    for (const i of k.nodes) {
      const n = program.nodes[i];
      if (n.op === "input") continue;
      lines.push(`    ${vertex(i, k.id)} [label=${quote(label(i))} ${style(n)}];`);
      for (const j of n.inputs) {
        const from = source(j, k.id, members);
        if (from.startsWith("p")) drawn.add(j);
        edges.push(`  ${from} -> ${vertex(i, k.id)};`);
      }
    }
    lines.push("  }");
  }
  // An output no kernel writes is an input of the program (a tensor realized earlier).
  for (const i of program.outputs) if (!materializedBy.has(i)) drawn.add(i);
  for (const j of drawn) {
    lines.push(`  ${vertex(j, undefined)} [label=${quote(label(j))} ${style(program.nodes[j])}];`);
  }
  lines.push(...edges);
  program.outputs.forEach((i, pos) => {
    lines.push(
      `  out${pos} [label=${
        quote(opts.outputNames?.[pos] ?? `output ${pos}`)
      } shape=plaintext fontcolor="#1f5fa8"];`,
      `  ${vertex(i, materializedBy.get(i))} -> out${pos} [style=bold color="#1f5fa8"];`,
    );
  });
  lines.push("}");
  return lines.join("\n");
}

/** Options of {@link schedulePicture}. */
export interface SchedulePictureOptions extends Omit<GraphOptions, "clusters"> {
  /**
   * `"nodes"`, `"kernels"` (see {@link ScheduleDotOptions.detail}) or `"auto"` (default):
   * kernels when the kernels fuse more than 60 nodes together, nodes otherwise.
   */
  detail?: "auto" | "nodes" | "kernels";
}

/** How many vertices the node view of a schedule draws inside its kernels. */
function fusedNodes(sched: Schedule, program: Program): number {
  return sched.kernels.reduce(
    (n, k) => n + k.nodes.filter((i) => program.nodes[i].op !== "input").length,
    0,
  );
}

/**
 * The picture of the schedule that realizing `outputs` would run: which nodes fuse into which
 * kernel (see {@link scheduleDot}); a large schedule is drawn one vertex per kernel unless
 * `detail: "nodes"` asks for every node. Realized tensors count as inputs. The text form is the
 * schedule listing.
 *
 * @example
 * ```ts
 * import { Tensor } from "@symgrad/symgrad";
 * import { schedulePicture } from "@symgrad/symgrad/display";
 * const x = Tensor.rand([4, 8]);
 * const fig = await schedulePicture({ y: x.exp().sum(1).add(1) }, { inputs: { x } });
 * console.log(fig.text); // one line per kernel
 * ```
 */
export async function schedulePicture(
  outputs: Labeled,
  opts: SchedulePictureOptions = {},
): Promise<GraphFigure> {
  const outs = entries(outputs);
  const { program, leaves } = lower(outs.map(([, n]) => n), isRealized);
  const sched = schedule(program);
  const leafNames = new Map<Node, string>();
  for (const [k, n] of Object.entries(opts.inputs ?? {})) leafNames.set(nodeOf(n), k);
  // A realized output is an input of the program: unnamed, it goes by its output label.
  for (const [k, n] of outs) if (k !== undefined && !leafNames.has(n)) leafNames.set(n, k);
  const dot = scheduleDot(sched, program, {
    inputNames: leaves.map((l) => leafNames.get(l)),
    outputNames: outs.map(([label]) => label),
    title: opts.title,
    detail: opts.detail === "nodes" || opts.detail === "kernels"
      ? opts.detail
      : fusedNodes(sched, program) > 60
      ? "kernels"
      : "nodes",
  });
  return new GraphFigure(dot, await renderDot(dot), formatSchedule(sched));
}
