/** The index algebra and the fusion scheduler, checked on their own (no backend runs). */

import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import fc from "fast-check";
import { Tensor } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { formatSchedule, type Kernel, schedule } from "../../core/schedule.ts";
import {
  add,
  constIndex,
  div,
  type Index,
  loopVar,
  mod,
  offset,
  scale,
  simplifyUnder,
} from "../../core/symbolic.ts";

/** Evaluates an index expression at loop values `vals`. */
function evalIndex(x: Index, vals: readonly number[]): number {
  let v = x.c;
  for (const t of x.terms) {
    const a = t.atom;
    const av = a.kind === "loop"
      ? vals[a.loop]
      : a.kind === "div"
      ? Math.floor(evalIndex(a.x, vals) / a.d)
      : ((evalIndex(a.x, vals) % a.d) + a.d) % a.d;
    v += t.coef * av;
  }
  return v;
}

const extents = [3, 4, 5];
const expr = fc.record({
  coefs: fc.array(fc.integer({ min: -12, max: 12 }), { minLength: 3, maxLength: 3 }),
  c: fc.integer({ min: -20, max: 20 }),
  d1: fc.integer({ min: 1, max: 12 }),
  d2: fc.integer({ min: 1, max: 12 }),
});

Deno.test("symbolic div and mod agree with integer arithmetic everywhere", () => {
  fc.assert(
    fc.property(expr, ({ coefs, c, d1, d2 }) => {
      let x = constIndex(c);
      coefs.forEach((k, i) => (x = add(x, scale(loopVar(i, extents[i]), k))));
      const composed = add(scale(div(mod(x, d1 * d2), d2), 7), mod(div(x, d1), d2));
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 4; j++) {
          for (let k = 0; k < 5; k++) {
            const v = evalIndex(x, [i, j, k]);
            const fm = (p: number, q: number) => ((p % q) + q) % q;
            const want = 7 * Math.floor(fm(v, d1 * d2) / d2) + fm(Math.floor(v / d1), d2);
            // `+ 0` turns -0 into 0: integer arithmetic has one zero.
            assertEquals(evalIndex(div(x, d1), [i, j, k]) + 0, Math.floor(v / d1) + 0);
            assertEquals(evalIndex(mod(x, d1), [i, j, k]) + 0, fm(v, d1) + 0);
            assertEquals(evalIndex(composed, [i, j, k]) + 0, want + 0);
            assert(x.min <= v && v <= x.max);
          }
        }
      }
    }),
    { numRuns: 200 },
  );
});

Deno.test("symbolic simplification removes div/mod of in-range splits", () => {
  const i = loopVar(0, 4), j = loopVar(1, 6);
  const flat = add(scale(i, 6), j);
  assertEquals(mod(flat, 6).key, j.key);
  assertEquals(div(flat, 6).key, i.key);
  // (4·a + b) div 8 with 0 <= b < 4 is a div 2.
  const b = loopVar(2, 4);
  assertEquals(div(add(scale(i, 4), b), 8).key, div(i, 2).key);
});

Deno.test("simplifyUnder keeps the value wherever its bounds hold", () => {
  // A reshape of a padded view: row-major split of a shifted flat index, bounded like a pad.
  const bound = fc.record({
    coefs: fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 3, maxLength: 3 }),
    c: fc.integer({ min: -4, max: 4 }),
    lo: fc.integer({ min: -3, max: 6 }),
    width: fc.integer({ min: 1, max: 10 }),
  });
  fc.assert(
    fc.property(expr, fc.array(bound, { maxLength: 3 }), ({ coefs, c, d1, d2 }, bs) => {
      const affine = (k: readonly number[], c0: number) => {
        let x = constIndex(c0);
        k.forEach((q, i) => (x = add(x, scale(loopVar(i, extents[i]), q))));
        return x;
      };
      const x = affine(coefs, c);
      const composed = add(
        scale(div(offset(mod(x, d1 * d2), 1), d2), 5),
        add(mod(offset(div(x, d1), 3), d2), div(add(x, scale(div(x, d2), d1)), d1 + 1)),
      );
      const bounds = bs.map((b) => ({ index: affine(b.coefs, b.c), lo: b.lo, hi: b.lo + b.width }));
      const simple = simplifyUnder(composed, bounds);
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 4; j++) {
          for (let k = 0; k < 5; k++) {
            const at = [i, j, k];
            const holds = bounds.every((b) => {
              const v = evalIndex(b.index, at);
              return b.lo <= v && v < b.hi;
            });
            if (holds) assertEquals(evalIndex(simple, at) + 0, evalIndex(composed, at) + 0);
          }
        }
      }
    }),
    { numRuns: 300 },
  );
});

Deno.test("simplifyUnder cancels a reshape's div/mod of a padded index", () => {
  // Row y − 1 of a [14, 14] image stored flat, read where 0 <= y − 1 < 14: the reshape splits
  // 14·(y − 1) + (x − 1) + 196 (kept non-negative) into div/mod that only cancel in bounds.
  const y = loopVar(0, 16), x = loopVar(1, 16);
  const flat = add(scale(offset(y, -1), 14), offset(x, -1));
  const shifted = offset(flat, 196);
  const index = add(scale(mod(div(shifted, 14), 14), 14), mod(shifted, 14));
  assert(index.terms.some((t) => t.atom.kind !== "loop"));
  const bounds = [{ index: offset(y, -1), lo: 0, hi: 14 }, { index: offset(x, -1), lo: 0, hi: 14 }];
  assertEquals(simplifyUnder(index, bounds).key, flat.key);
  // Without the bound on x, the x split cannot go.
  assert(simplifyUnder(index, bounds.slice(0, 1)).terms.some((t) => t.atom.kind !== "loop"));
});

function scheduleOf(...ts: Tensor[]) {
  return schedule(lower(ts.map((t) => t.node), (n) => n.op === "buffer").program);
}

function hasDivMod(k: Kernel): boolean {
  const atoms = (x: Index): boolean => x.terms.some((t) => t.atom.kind !== "loop");
  return k.values.some((v) =>
    v.op === "load" && (atoms(v.index) || v.valid.some((c) => atoms(c.index)))
  );
}

Deno.test("conv2d is one kernel with affine indexing", () => {
  const x = Tensor.rand([2, 3, 9, 9]), w = Tensor.rand([4, 3, 3, 3]);
  for (const opts of [{ padding: 1 }, { stride: 2 }, { padding: 2, dilation: 2, stride: 3 }]) {
    const s = scheduleOf(x.conv2d(w, opts));
    assertEquals(s.kernels.length, 1, formatSchedule(s));
    assert(!hasDivMod(s.kernels[0]), formatSchedule(s, true));
  }
});

Deno.test("a convolution of a pooled, reshaped tensor reads it with affine indices", () => {
  // The pool's output is stored with its leading axes merged; the conv pads a reshaped view.
  const x = Tensor.rand([4, 3, 8, 8]), w = Tensor.rand([5, 3, 3, 3]);
  const s = scheduleOf(x.relu().maxPool2d(2).conv2d(w, { padding: 1 }));
  const conv = s.kernels.at(-1)!;
  assert(!hasDivMod(conv), formatSchedule(s, true));
});

Deno.test("contiguous elementwise kernels run as one flat loop", () => {
  const x = Tensor.rand([2, 3, 4, 5]);
  const s = scheduleOf(x.reshape([6, 20]).exp().reshape([2, 3, 20]).add(1));
  assertEquals(s.kernels.map((k) => k.loops.map((l) => l.extent)), [[120]]);
  // Per-channel parameters keep the channel loop apart so they can be hoisted.
  const p = Tensor.rand([1, 3, 1, 1]);
  const t = scheduleOf(x.mul(p));
  assertEquals(t.kernels[0].loops.map((l) => l.extent), [2, 3, 20]);
});

Deno.test("an elementwise value broadcast into a matmul is materialized once", () => {
  const a = Tensor.rand([5, 6]), b = Tensor.rand([6, 7]);
  assertEquals(scheduleOf(a.matmul(b)).kernels.length, 1);
  const s = scheduleOf(a.exp().matmul(b));
  assertEquals(s.kernels.length, 2, formatSchedule(s));
  assertEquals(s.kernels[0].reduceOp, undefined);
  // A per-channel value broadcast along a reduction (batch-norm statistics) is recomputed.
  const x = Tensor.rand([4, 3, 5]);
  const centered = x.sub(x.mean([0, 2], { keepdims: true }).mul(2));
  assertEquals(scheduleOf(centered.square().sum([0, 2])).kernels.length, 2);
});

Deno.test("the schedule lists which nodes went into which kernel", () => {
  const x = Tensor.rand([4, 8]);
  const text = formatSchedule(scheduleOf(x.exp().sum(1).add(1)));
  const lines = text.split("\n");
  assertEquals(lines.length, 2);
  assert(lines[0].startsWith("k0 sum [4×8r] nodes"), text);
  assert(lines[1].includes("-> out0"), text);
});
