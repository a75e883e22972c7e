/**
 * `einsum`: Einstein summation lowered to movement ops, broadcast products and sums, so it fuses
 * like `matmul` (a pairwise contraction is one reduce-sum of a product) and has gradients, JVPs
 * and batching rules through those primitives.
 *
 * @module
 */

import type { Tensor } from "./tensor.ts";

/** One operand during lowering: the tensor and the label of each of its axes. */
interface Term {
  t: Tensor;
  labels: string[];
}

const LETTER = /^[a-zA-Z]$/;

/**
 * Einstein summation over `operands` as NumPy's and PyTorch's `einsum`: `"ij,jk->ik"` (explicit
 * output), `"ij,jk"` (implicit: the letters used once, sorted), repeated letters within an operand
 * (`"ii->i"` is the diagonal, `"ii"` the trace), and `...` for broadcast leading axes. A letter's
 * extents must agree across operands (an extent of 1 broadcasts). Operands are contracted left to
 * right, and a letter is summed as soon as no later operand and not the output uses it.
 *
 * @example Matrix product, trace and a batched bilinear form
 * ```ts
 * import { einsum, Tensor } from "@symgrad/symgrad";
 * const a = Tensor.from([[1, 2], [3, 4]]);
 * const b = Tensor.from([[5, 6], [7, 8]]);
 * console.log(await einsum("ij,jk->ik", a, b).data()); // [19, 22, 43, 50]
 * console.log(await einsum("ii", a).item()); // 5
 * const x = Tensor.ones([3, 2]);
 * console.log(einsum("...i,ij,...j->...", x, a, x).shape); // [3]
 * ```
 */
export function einsum(spec: string, ...operands: Tensor[]): Tensor {
  const fail = (why: string): never => {
    throw new Error(`einsum(${JSON.stringify(spec)}): ${why}`);
  };
  const compact = spec.replace(/\s+/g, "");
  const sides = compact.split("->");
  if (sides.length > 2) fail(`expected at most one "->"`);
  const inputs = sides[0].split(",");
  if (inputs.length !== operands.length) {
    fail(`the spec names ${inputs.length} operand(s) but ${operands.length} tensor(s) were given`);
  }
  if (operands.length === 0) fail("expected at least one operand");
  // Letters and an optional "..." (as ".") per term.
  const parse = (term: string, what: string): string[] => {
    const out: string[] = [];
    for (let i = 0; i < term.length; i++) {
      if (term.startsWith("...", i)) {
        if (out.includes(".")) fail(`${what} "${term}" has more than one "..."`);
        out.push(".");
        i += 2;
      } else if (LETTER.test(term[i])) {
        out.push(term[i]);
      } else {
        fail(
          `${what} "${term}" has the character ${
            JSON.stringify(term[i])
          }; expected letters a-z, A-Z or "..."`,
        );
      }
    }
    return out;
  };
  const parsed = inputs.map((term, i) => parse(term, `operand ${i}`));
  // Ellipsis axes get digit labels aligned from the right, so they broadcast as in NumPy.
  const ranks = parsed.map((labels, i) => {
    const letters = labels.filter((l) => l !== ".").length;
    const nd = operands[i].ndim;
    const hasDots = labels.includes(".");
    if (hasDots ? nd < letters : nd !== letters) {
      fail(
        `operand ${i} "${inputs[i]}" has ${letters} letter(s)${hasDots ? ' and "..."' : ""} but ` +
          `shape [${operands[i].shape.join(", ")}] has rank ${nd}`,
      );
    }
    return hasDots ? nd - letters : 0;
  });
  const ell = Math.max(0, ...ranks);
  const dots = Array.from({ length: ell }, (_, i) => String(i));
  const sizes = new Map<string, number>();
  const terms: Term[] = parsed.map((labels, i) => {
    const full = labels.flatMap((l) => l === "." ? dots.slice(ell - ranks[i]) : [l]);
    full.forEach((l, ax) => {
      const d = operands[i].shape[ax];
      const first = full.indexOf(l);
      if (first < ax && operands[i].shape[first] !== d) {
        fail(
          `letter '${l}' repeats in operand ${i} with extents ${
            operands[i].shape[first]
          } and ${d} (shape [${operands[i].shape.join(", ")}]); a diagonal needs equal extents`,
        );
      }
      const seen = sizes.get(l);
      if (seen === undefined || seen === 1) sizes.set(l, d);
      else if (d !== seen && d !== 1) {
        const name = LETTER.test(l) ? `letter '${l}'` : `"..." axis ${l}`;
        fail(
          `${name} has extent ${d} in operand ${i} (shape [${operands[i].shape.join(", ")}]) ` +
            `but ${seen} elsewhere; expected equal extents (or 1)`,
        );
      }
    });
    return { t: operands[i], labels: full };
  });
  // The output labels.
  let output: string[];
  if (sides.length === 2) {
    const out = parse(sides[1], "the output");
    output = out.flatMap((l) => l === "." ? dots : [l]);
    for (const l of out) {
      if (l === ".") continue;
      if (!sizes.has(l)) fail(`output letter '${l}' appears in no operand`);
      if (out.indexOf(l) !== out.lastIndexOf(l)) fail(`output letter '${l}' appears twice`);
    }
  } else {
    const counts = new Map<string, number>();
    for (const term of terms) for (const l of term.labels) counts.set(l, (counts.get(l) ?? 0) + 1);
    const once = [...counts].filter(([l, c]) => c === 1 && LETTER.test(l)).map(([l]) => l);
    output = [...dots, ...once.sort()];
  }
  // Diagonals of repeated letters, then letters nobody else needs are summed right away.
  const reduced = terms.map((term) => {
    let { t, labels } = term;
    for (let p = 0; p < labels.length; p++) {
      const q = labels.indexOf(labels[p], p + 1);
      if (q < 0) continue;
      t = diagonal(t, p, q);
      labels = [...labels.filter((_, ax) => ax !== p && ax !== q), labels[p]];
      p = -1; // rescan: positions moved
    }
    return { t, labels };
  });
  const neededAfter = (k: number): Set<string> =>
    new Set([...output, ...reduced.slice(k + 1).flatMap((term) => term.labels)]);
  let acc = sumUnused(reduced[0], neededAfter(0));
  for (let k = 1; k < reduced.length; k++) {
    const next = reduced[k];
    const keep = neededAfter(k);
    const union = [...new Set([...acc.labels, ...next.labels])];
    // Kept labels first, summed ones last: the product's reduction axes are innermost.
    const order = [...union.filter((l) => keep.has(l)), ...union.filter((l) => !keep.has(l))];
    const prod = align(acc, order).mul(align(next, order));
    const summed = order.flatMap((l, ax) => keep.has(l) ? [] : [ax]);
    acc = {
      t: summed.length > 0 ? prod.sum(summed) : prod,
      labels: order.filter((l) => keep.has(l)),
    };
  }
  acc = sumUnused(acc, new Set(output));
  const perm = output.map((l) => acc.labels.indexOf(l));
  return perm.every((p, i) => p === i) ? acc.t : acc.t.permute(...perm);
}

/** The diagonal of axes `p < q` (equal extents) as a new last axis. */
function diagonal(t: Tensor, p: number, q: number): Tensor {
  const n = t.shape[p];
  const rest = t.shape.map((_, i) => i).filter((i) => i !== p && i !== q);
  const moved = t.permute(...rest, p, q);
  const flat = moved.reshape([...rest.map((i) => t.shape[i]), n * n]);
  return flat.slice([...rest.map(() => null), [0, n * n, n + 1]]);
}

/** Sums the axes of `term` whose label is not in `keep`. */
function sumUnused(term: Term, keep: Set<string>): Term {
  const axes = term.labels.flatMap((l, ax) => keep.has(l) ? [] : [ax]);
  if (axes.length === 0) return term;
  return { t: term.t.sum(axes), labels: term.labels.filter((l) => keep.has(l)) };
}

/** `term` permuted to the order of `order`, with extent-1 axes for the labels it lacks. */
function align(term: Term, order: readonly string[]): Tensor {
  const present = order.filter((l) => term.labels.includes(l));
  const perm = present.map((l) => term.labels.indexOf(l));
  const t = perm.every((p, i) => p === i) ? term.t : term.t.permute(...perm);
  const shape = order.map((l) => term.labels.includes(l) ? t.shape[present.indexOf(l)] : 1);
  return t.reshape(shape);
}
