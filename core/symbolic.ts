/**
 * Index expressions: integer affine sums of loop variables and floor-div/mod atoms.
 *
 * Movement ops (reshape, permute, expand, pad, slice) compose into these expressions, so a
 * kernel reads any view of a buffer through plain index arithmetic. Every expression knows its
 * value range (loop variables range over `[0, extent)`), and the constructors simplify with it:
 * `(a·c + b) mod c` becomes `b` when `0 <= b < c`, `x div n` becomes 0 when `0 <= x < n`, and so
 * on. After simplification most view chains end up affine, which renderers turn into strided
 * loops.
 *
 * @example The index of a reshaped, permuted view
 * ```ts
 * import { add, fmtIndex, loopVar, mod, scale, div } from "./symbolic.ts";
 * const i = loopVar(0, 4), j = loopVar(1, 3);
 * const flat = add(scale(i, 3), j); // row-major [4, 3]
 * console.log(fmtIndex(mod(flat, 3))); // "L1"
 * console.log(fmtIndex(div(flat, 3))); // "L0"
 * ```
 *
 * @module
 */

/** A loop variable or a floor division / non-negative modulus of an expression by a constant. */
export type Atom =
  | { readonly kind: "loop"; readonly loop: number; readonly extent: number }
  | { readonly kind: "div"; readonly x: Index; readonly d: number }
  | { readonly kind: "mod"; readonly x: Index; readonly d: number };

/** One term `coef · atom` of an index expression. */
export interface Term {
  /** The atom. */
  readonly atom: Atom;
  /** Its integer coefficient (never 0). */
  readonly coef: number;
}

/** An integer expression `c + Σ coef·atom`, with its inclusive value range `[min, max]`. */
export interface Index {
  /** The constant part. */
  readonly c: number;
  /** Non-constant terms, sorted by atom key, with distinct atoms. */
  readonly terms: readonly Term[];
  /** Smallest value the expression can take. */
  readonly min: number;
  /** Largest value the expression can take. */
  readonly max: number;
  /** Canonical text form; equal keys mean equal expressions. */
  readonly key: string;
}

function atomKey(a: Atom): string {
  switch (a.kind) {
    case "loop":
      return `L${a.loop}`;
    case "div":
      return `(${a.x.key} div ${a.d})`;
    case "mod":
      return `(${a.x.key} mod ${a.d})`;
  }
}

function atomRange(a: Atom): [number, number] {
  switch (a.kind) {
    case "loop":
      return [0, a.extent - 1];
    case "div":
      return [Math.floor(a.x.min / a.d), Math.floor(a.x.max / a.d)];
    case "mod":
      return a.x.min >= 0 ? [0, Math.min(a.d - 1, a.x.max)] : [0, a.d - 1];
  }
}

function make(c: number, terms: Term[]): Index {
  terms.sort((p, q) => (atomKey(p.atom) < atomKey(q.atom) ? -1 : 1));
  let min = c, max = c;
  for (const t of terms) {
    const [lo, hi] = atomRange(t.atom);
    min += t.coef > 0 ? t.coef * lo : t.coef * hi;
    max += t.coef > 0 ? t.coef * hi : t.coef * lo;
  }
  const key = terms.length === 0
    ? String(c)
    : terms.map((t) => `${t.coef}*${atomKey(t.atom)}`).join("+") + (c ? `+${c}` : "");
  return { c, terms, min, max, key };
}

/** The constant `c`. */
export function constIndex(c: number): Index {
  return make(c, []);
}

/** Loop variable number `loop`, ranging over `[0, extent)`; extent 1 gives the constant 0. */
export function loopVar(loop: number, extent: number): Index {
  if (extent <= 1) return constIndex(0);
  return make(0, [{ atom: { kind: "loop", loop, extent }, coef: 1 }]);
}

function fromAtom(atom: Atom): Index {
  const [lo, hi] = atomRange(atom);
  if (lo === hi) return constIndex(lo);
  return make(0, [{ atom, coef: 1 }]);
}

/** `a + b`. */
export function add(a: Index, b: Index): Index {
  if (b.terms.length === 0 && b.c === 0) return a;
  if (a.terms.length === 0 && a.c === 0) return b;
  const byKey = new Map<string, Term>();
  for (const t of [...a.terms, ...b.terms]) {
    const k = atomKey(t.atom);
    const prev = byKey.get(k);
    byKey.set(k, { atom: t.atom, coef: (prev?.coef ?? 0) + t.coef });
  }
  const terms = [...byKey.values()].filter((t) => t.coef !== 0);
  // k·d·(x div d) + k·(x mod d) = k·x: undoes the split a reshape makes of a contiguous range.
  for (const m of terms) {
    if (m.atom.kind !== "mod") continue;
    const { x, d } = m.atom;
    const q = terms.find((t) =>
      t.atom.kind === "div" && t.atom.d === d && t.atom.x.key === x.key && t.coef === m.coef * d
    );
    if (q === undefined) continue;
    const rest = make(a.c + b.c, terms.filter((t) => t !== m && t !== q));
    return add(rest, scale(x, m.coef));
  }
  return make(a.c + b.c, terms);
}

/** `k · a` for an integer `k`. */
export function scale(a: Index, k: number): Index {
  if (k === 1) return a;
  if (k === 0) return constIndex(0);
  return make(a.c * k, a.terms.map((t) => ({ atom: t.atom, coef: t.coef * k })));
}

/** `a + k` for an integer `k`. */
export function offset(a: Index, k: number): Index {
  return k === 0 ? a : make(a.c + k, [...a.terms]);
}

function gcd(a: number, b: number): number {
  a = Math.abs(a), b = Math.abs(b);
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Splits `x` as `g·big + small` where every term of `big` has a coefficient divisible by `g` and
 * `0 <= small < g`, trying the largest `g` dividing `d` first. Returns undefined when no such
 * `g > 1` exists.
 */
function splitSmall(x: Index, d: number): { g: number; big: Index; small: Index } | undefined {
  const candidates = [...new Set(x.terms.map((t) => gcd(t.coef, d)))]
    .filter((g) => g > 1 && d % g === 0)
    .sort((p, q) => q - p);
  for (const g of candidates) {
    const bigTerms: Term[] = [], smallTerms: Term[] = [];
    for (const t of x.terms) {
      if (t.coef % g === 0) bigTerms.push({ atom: t.atom, coef: t.coef / g });
      else smallTerms.push(t);
    }
    const cBig = Math.floor(x.c / g), cSmall = x.c - cBig * g;
    const small = make(cSmall, smallTerms);
    if (small.min >= 0 && small.max < g) return { g, big: make(cBig, bigTerms), small };
  }
  return undefined;
}

/** `floor(x / d)` for an integer `d >= 1`. */
export function div(x: Index, d: number): Index {
  if (d === 1) return x;
  if (x.min >= 0 && x.max < d) return constIndex(0);
  if (Math.floor(x.min / d) === Math.floor(x.max / d)) return constIndex(Math.floor(x.min / d));
  // x = d·q + r with q holding the terms divisible by d: floor(x/d) = q + floor(r/d).
  const qTerms: Term[] = [], rTerms: Term[] = [];
  for (const t of x.terms) {
    if (t.coef % d === 0) qTerms.push({ atom: t.atom, coef: t.coef / d });
    else rTerms.push(t);
  }
  const qc = Math.floor(x.c / d);
  const q = make(qc, qTerms);
  const r = make(x.c - qc * d, rTerms);
  if (r.terms.length === 0) return q;
  if (q.terms.length > 0 || q.c !== 0) return add(q, div(r, d));
  // (g·big + small) div d = big div (d/g) when 0 <= small < g and g | d.
  const split = splitSmall(r, d);
  if (split !== undefined) return div(split.big, d / split.g);
  // (x div a) div b = x div (a·b).
  if (r.terms.length === 1 && r.c === 0 && r.terms[0].coef === 1) {
    const a = r.terms[0].atom;
    if (a.kind === "div") return div(a.x, a.d * d);
  }
  return fromAtom({ kind: "div", x: r, d });
}

/** `x mod d` (the non-negative remainder) for an integer `d >= 1`. */
export function mod(x: Index, d: number): Index {
  if (d === 1) return constIndex(0);
  if (x.min >= 0 && x.max < d) return x;
  // Coefficients and the constant only matter modulo d.
  const terms = x.terms
    .map((t) => ({ atom: t.atom, coef: ((t.coef % d) + d) % d }))
    .filter((t) => t.coef !== 0);
  const r = make(((x.c % d) + d) % d, terms);
  if (r.min >= 0 && r.max < d) return r;
  if (r.terms.length === 0) return constIndex(r.c);
  // (g·big + small) mod d = g·(big mod (d/g)) + small when 0 <= small < g and g | d.
  const split = splitSmall(r, d);
  if (split !== undefined) return add(scale(mod(split.big, d / split.g), split.g), split.small);
  // (y mod a) mod b = y mod b when b | a.
  if (r.terms.length === 1 && r.c === 0 && r.terms[0].coef === 1) {
    const a = r.terms[0].atom;
    if (a.kind === "mod" && a.d % d === 0) return mod(a.x, d);
  }
  return fromAtom({ kind: "mod", x: r, d });
}

/** The loop variables `x` depends on (sorted). */
export function loopsOf(x: Index): number[] {
  const out = new Set<number>();
  const visit = (e: Index) => {
    for (const t of e.terms) {
      if (t.atom.kind === "loop") out.add(t.atom.loop);
      else visit(t.atom.x);
    }
  };
  visit(x);
  return [...out].sort((a, b) => a - b);
}

/** The coefficient of loop `loop` when it appears only as a plain term, else undefined/0. */
export function linearCoef(x: Index, loop: number): number | undefined {
  let coef = 0;
  for (const t of x.terms) {
    if (t.atom.kind === "loop") {
      if (t.atom.loop === loop) coef = t.coef;
    } else if (loopsOf(t.atom.x).includes(loop)) {
      return undefined;
    }
  }
  return coef;
}

/**
 * Rewrites loop variables: `map(loop)` gives the replacement expression of each loop variable
 * (returning undefined keeps it).
 */
export function substitute(x: Index, map: (loop: number) => Index | undefined): Index {
  let out = constIndex(x.c);
  for (const t of x.terms) {
    let v: Index;
    if (t.atom.kind === "loop") v = map(t.atom.loop) ?? fromAtom(t.atom);
    else if (t.atom.kind === "div") v = div(substitute(t.atom.x, map), t.atom.d);
    else v = mod(substitute(t.atom.x, map), t.atom.d);
    out = add(out, scale(v, t.coef));
  }
  return out;
}

/** A known bound `lo <= index < hi` on an expression (a validity condition of a padded read). */
export interface Bound {
  /** The bounded expression. */
  readonly index: Index;
  /** Inclusive lower bound. */
  readonly lo: number;
  /** Exclusive upper bound. */
  readonly hi: number;
}

/**
 * An inclusive range of `e` where every bound holds: terms that form a multiple of a bounded
 * expression take that bound's range, the others their own. Each term is counted once, so the
 * range is sound whatever bounds are matched.
 */
function rangeUnder(e: Index, bounds: readonly Bound[]): [number, number] {
  const rest = new Map(e.terms.map((t) => [atomKey(t.atom), t]));
  let lo = e.c, hi = e.c;
  for (const b of bounds) {
    const g = b.index;
    if (g.terms.length === 0) continue;
    const lead = rest.get(atomKey(g.terms[0].atom));
    if (lead === undefined || lead.coef % g.terms[0].coef !== 0) continue;
    const a = lead.coef / g.terms[0].coef;
    if (!g.terms.every((t) => rest.get(atomKey(t.atom))?.coef === a * t.coef)) continue;
    for (const t of g.terms) rest.delete(atomKey(t.atom));
    // a·(g − g.c) with g in [max(lo, g.min), min(hi − 1, g.max)].
    const gl = Math.max(b.lo, g.min) - g.c, gh = Math.min(b.hi - 1, g.max) - g.c;
    lo += a > 0 ? a * gl : a * gh;
    hi += a > 0 ? a * gh : a * gl;
  }
  for (const t of rest.values()) {
    const [l, h] = atomRange(t.atom);
    lo += t.coef > 0 ? t.coef * l : t.coef * h;
    hi += t.coef > 0 ? t.coef * h : t.coef * l;
  }
  return [Math.max(lo, e.min), Math.min(hi, e.max)];
}

/**
 * `x` simplified where every bound holds: a div or mod whose argument stays within one multiple
 * of its divisor there becomes a constant or a shift. A read of a padded, reshaped view needs
 * this: outside the pad its index may be negative, so the reshape's div/mod of it only cancel
 * once the pad's condition is known to hold (which is the only place the read happens).
 */
export function simplifyUnder(x: Index, bounds: readonly Bound[]): Index {
  if (bounds.length === 0 || x.terms.every((t) => t.atom.kind === "loop")) return x;
  let out = constIndex(x.c);
  for (const t of x.terms) {
    let v: Index;
    if (t.atom.kind === "loop") {
      v = fromAtom(t.atom);
    } else {
      const inner = simplifyUnder(t.atom.x, bounds);
      const d = t.atom.d;
      const [lo, hi] = rangeUnder(inner, bounds);
      const q = Math.floor(lo / d);
      if (q === Math.floor(hi / d)) {
        v = t.atom.kind === "div" ? constIndex(q) : offset(inner, -q * d);
      } else {
        v = t.atom.kind === "div" ? div(inner, d) : mod(inner, d);
      }
    }
    out = add(out, scale(v, t.coef));
  }
  return out;
}

/**
 * Renders `x` as source text; `loopName(i)` names loop variable `i`. Floor division and
 * modulus are written with `Math.floor` and `%` (operands of `mod` are never negative here
 * when the expression range is non-negative; otherwise a non-negative remainder is built).
 */
export function fmtIndex(x: Index, loopName: (loop: number) => string = (i) => `L${i}`): string {
  const atom = (a: Atom): string => {
    switch (a.kind) {
      case "loop":
        return loopName(a.loop);
      case "div":
        return `Math.floor((${fmtIndex(a.x, loopName)}) / ${a.d})`;
      case "mod":
        return a.x.min >= 0
          ? `((${fmtIndex(a.x, loopName)}) % ${a.d})`
          : `((((${fmtIndex(a.x, loopName)}) % ${a.d}) + ${a.d}) % ${a.d})`;
    }
  };
  const parts = x.terms.map((t) =>
    t.coef === 1 ? atom(t.atom) : t.coef === -1 ? `-${atom(t.atom)}` : `${t.coef}*${atom(t.atom)}`
  );
  if (x.c !== 0 || parts.length === 0) parts.push(String(x.c));
  return parts.join(" + ").replaceAll("+ -", "- ");
}
