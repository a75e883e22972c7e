/** The index algebra and the fusion scheduler, checked on their own (no backend runs). */

import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import fc from "fast-check";
import { Tensor } from "../../mod.ts";
import { lower } from "../../core/program.ts";
import { formatSchedule, type Kernel, schedule } from "../../core/schedule.ts";
import { add, constIndex, div, type Index, loopVar, mod, scale } from "../../core/symbolic.ts";

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
