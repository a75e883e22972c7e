/**
 * Text forms of graphs: a jaxpr-like listing with one line per node.
 *
 * @module
 */

import { type Node, type OpAttrs, toposort } from "./ir.ts";

/** Spreadsheet-style names: a, b, …, z, aa, ab, … */
function nameOf(i: number): string {
  let s = "";
  i++;
  while (i > 0) {
    const r = (i - 1) % 26;
    s = String.fromCharCode(97 + r) + s;
    i = Math.floor((i - 1) / 26);
  }
  return s;
}

function fmtAttrs(n: Node): string {
  if (n.op === "buffer") return `#${(n.attrs as OpAttrs["buffer"]).ref.id}`;
  if (n.op === "const") return ` ${(n.attrs as OpAttrs["const"]).value}`;
  const entries = Object.entries(n.attrs);
  if (entries.length === 0) return "";
  return `[${entries.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ")}]`;
}

/**
 * A readable listing of the graph of `outputs`: `name = op[attrs](inputs) : dtype[shape]`, one
 * line per node in topological order, then the outputs.
 */
export function formatGraph(outputs: readonly Node[]): string {
  const order = toposort(outputs);
  const names = new Map<Node, string>();
  const lines = order.map((n, i) => {
    const name = nameOf(i);
    names.set(n, name);
    const args = n.inputs.length ? `(${n.inputs.map((x) => names.get(x)).join(", ")})` : "";
    return `${name} = ${n.op}${fmtAttrs(n)}${args} : ${n.dtype}[${n.shape.join(", ")}]`;
  });
  lines.push(`return ${outputs.map((o) => names.get(o)).join(", ")}`);
  return lines.join("\n");
}
