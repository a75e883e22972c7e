/**
 * The WebAssembly module of one SIMD kernel (see plan.ts for which kernels): one exported
 * function `run(start, end, base_load…, base_out…)` computing iterations `[start, end)` of the
 * outermost merged loop, four elements of the innermost loop per step.
 *
 * `base` is the byte address such that element `e` of a load's staged copy (or of an output's
 * range) is at `base + 4e` (runtime.ts copies what a call reads into the module's memory and the
 * output ranges back). Values are computed at the outermost loop they depend on. Loads that are
 * contiguous along the innermost loop are vector loads, broadcast ones splats, and the others
 * (divisions, moduli or strides of the innermost loop: pooling gradients, strided views) are
 * read lane by lane. Padding conditions never use the innermost loop (plan.ts): they are i32
 * tests around the load.
 *
 * Stores: an elementwise kernel stores vectors; its last step of a row may run past the row,
 * reading staging slack and writing lanes that the next row (or the slack after the output
 * range) overwrites, so there is no scalar tail loop. A reduction whose last reduction loop is
 * innermost adds the four lanes one after another into a scalar accumulator (lanes past the row
 * skipped), so a sum visits its elements in the interpreter's order; in row mode each lane is
 * one output and a row of accumulators lives in the output range.
 *
 * Arithmetic equals the JavaScript renderer's, value for value: a float32 `+ * /` or `sqrt` of
 * float32 operands rounded once is what `Math.fround` of the double result gives (53 >= 2·24 + 2
 * bits), `f32x4.max` propagates NaN and orders -0 below +0 as `Math.max` does, comparisons are
 * IEEE's as `<` and `===` are, bools are lane masks, and a max reduction keeps its first NaN and
 * its first of equal values as `(x > acc || x !== x) ? x : acc` does. `exp` and `sigmoid` run in
 * double-precision vectors (vexp.ts) that give `Math.exp`'s float32 values exactly, lanes near a
 * float32 rounding boundary going through `Math.exp`; `log`, `sin`, `tanh` and `pow` go lane by
 * lane through the imported `Math` functions in double precision, with the same formulas as the
 * JavaScript source, then round to float32 (so they cost what they cost in JavaScript).
 *
 * @module
 */

import type { Cond, Kernel, KernelValue } from "../../../core/schedule.ts";
import type { Index } from "../../../core/symbolic.ts";
import { Code, encodeModule, F32, F64, I32, type ImportFn, OP, V128 } from "../gemm/encoder.ts";
import type { SimdPlan } from "./plan.ts";
import { emitExp, vexpLocals } from "./vexp.ts";

/** `Math` functions the module imports (module `env`, these field names), in index order. */
export const MATH_IMPORTS = ["exp", "log", "sin", "tanh", "pow"] as const;
const FN = { exp: 0, log: 1, sin: 2, tanh: 3, pow: 4 } as const;

function constBytes(v: KernelValue & { op: "const" }): number[] {
  const lane = new Uint8Array(4);
  const view = new DataView(lane.buffer);
  if (v.dtype === "bool") view.setInt32(0, v.value ? -1 : 0, true);
  else view.setFloat32(0, v.value, true);
  return [...lane, ...lane, ...lane, ...lane];
}

/** The module's bytes for kernel `k` under `plan`. */
export function simdModuleBytes(k: Kernel, plan: SimdPlan): Uint8Array<ArrayBuffer> {
  const nLoops = plan.extents.length, inner = nLoops - 1;
  const nParams = 2 + plan.loads.size + plan.outs.length;
  const f = new Code(nParams);
  const START = 0, END = 1;
  const baseOf = new Map([...plan.loads.keys()].map((v, i) => [v, 2 + i]));
  /** The constant and coefficients the module addresses load `i`'s staged copy with. */
  const view = (i: number) => {
    const l = plan.loads.get(i)!;
    return l.copyLoops === 0 ? { c: l.c, coefs: l.coefs } : { c: 0, coefs: l.staged };
  };
  const baseOut = plan.outs.map((_, j) => 2 + plan.loads.size + j);
  const reduce = plan.outs[0].reduceOp !== undefined;
  const iv = plan.extents.map(() => f.local(I32));
  const q = f.local(I32), q4 = f.local(I32);
  const fa = f.local(F64), fb = f.local(F64);
  const VL = vexpLocals(f), vsrc = f.local(V128), redo = f.local(I32);

  // Depth of each value: 0 outside every loop, j + 1 inside merged loop j (inner: per vector).
  const depth = new Map<number, number>();
  const loadDepth = (deps: readonly number[]) =>
    deps.reduce((d, l) => Math.max(d, (plan.merged.get(l) ?? -1) + 1), 0);
  for (const i of plan.used) {
    const v = k.values[i];
    if (v.op === "const") depth.set(i, 0);
    else depth.set(i, loadDepth(v.deps));
  }
  const local = new Map<number, number>();
  for (const i of plan.used) if (k.values[i].op !== "const") local.set(i, f.local(V128));
  // Row bases of the loads that vary along the inner loop, and of the store.
  const rowBase = new Map<number, number>();
  for (const i of plan.loads.keys()) if (depth.get(i) === nLoops) rowBase.set(i, f.local(I32));
  const outRow = f.local(I32);
  const outRows = plan.outs.map(() => f.local(I32));
  const t = f.local(I32);
  const rowMode = plan.rowMode;
  const accs = plan.outs.map(() => f.local(F32));
  const lane = f.local(F32);

  const push = (i: number) => {
    const v = k.values[i];
    if (v.op === "const") f.simd(OP.v128Const).op(...constBytes(v));
    else f.get(local.get(i)!);
  };
  const f32Splat = (x: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    f.simd(OP.v128Const).op(...b, ...b, ...b, ...b);
  };
  /** Pushes `base + 4·(c + Σ coefs[j]·i_j)` over loops `[0, upTo)`. */
  const address = (base: number, c: number, coefs: readonly number[], upTo: number) => {
    f.get(base);
    if (c !== 0) f.i32(4 * c).op(OP.i32Add);
    for (let j = 0; j < upTo; j++) {
      if (coefs[j] !== 0) f.get(iv[j]).i32(4 * coefs[j]).op(OP.i32Mul).op(OP.i32Add);
    }
  };
  /** Builds a vector lane by lane: `lane(L)` pushes lane L's float32 result. */
  const perLane = (dst: number, lane: (L: number) => void) => {
    for (let L = 0; L < 4; L++) {
      f.get(dst);
      lane(L);
      f.simd(OP.f32x4ReplaceLane).op(L).set(dst);
    }
  };
  const lane64 = (i: number, L: number) => {
    push(i);
    f.simd(OP.f32x4ExtractLane).op(L).op(OP.f64PromoteF32);
  };

  /** Pushes index `e` (an element count) as an i32, with the innermost loop at `q + L`. */
  const indexExpr = (e: Index, L: number) => {
    f.i32(e.c);
    for (const t of e.terms) {
      const a = t.atom;
      if (a.kind === "loop") {
        const m = plan.merged.get(a.loop)!;
        if (m === inner) f.get(q).i32(L).op(OP.i32Add);
        else f.get(iv[m]);
      } else {
        indexExpr(a.x, L);
        f.i32(a.d).op(a.kind === "div" ? OP.i32DivU : OP.i32RemU);
      }
      f.i32(t.coef).op(OP.i32Mul, OP.i32Add);
    }
  };
  /** Pushes the division and modulus terms of load `i`'s index, if it has any. */
  const atomsOf = (i: number, L: number): boolean => {
    const x = (k.values[i] as KernelValue & { op: "load" }).index;
    const atoms = x.terms.filter((t) => t.atom.kind !== "loop");
    if (atoms.length === 0) return false;
    indexExpr({ ...x, c: 0, terms: atoms }, L);
    return true;
  };
  /** Pushes 1 when every condition holds, else 0 (they do not use the inner loop). */
  const condsHold = (valid: readonly Cond[]) => {
    f.i32(1);
    for (const c of valid) {
      if (c.index.min < c.lo) f.i32(c.lo), indexExpr(c.index, 0), f.op(OP.i32LeS, OP.i32And);
      if (c.index.max >= c.hi) indexExpr(c.index, 0), f.i32(c.hi).op(OP.i32LtS, OP.i32And);
    }
  };
  /** Loads value `i` into its local. */
  const loadValue = (i: number) => {
    const dst = local.get(i)!;
    const acc = view(i);
    const d = depth.get(i)!;
    if (d === nLoops && plan.loads.get(i)!.gather) {
      // Lane by lane: row base + 4 · (coef · (q + L) + divisions and moduli).
      for (let L = 0; L < 4; L++) {
        f.get(dst).get(rowBase.get(i)!);
        f.get(q).i32(L).op(OP.i32Add).i32(acc.coefs[inner]).op(OP.i32Mul);
        if (atomsOf(i, L)) f.op(OP.i32Add);
        f.i32(2).op(OP.i32Shl, OP.i32Add, OP.f32Load).memarg(2);
        f.simd(OP.f32x4ReplaceLane).op(L).set(dst);
      }
    } else if (d === nLoops) {
      f.get(rowBase.get(i)!).get(q4).op(OP.i32Add).simd(OP.v128Load).memarg(2).set(dst);
    } else {
      address(baseOf.get(i)!, acc.c, acc.coefs, d);
      if (atomsOf(i, 0)) f.i32(2).op(OP.i32Shl, OP.i32Add);
      f.simd(OP.v128Load32Splat).memarg(2).set(dst);
    }
  };
  const emitValue = (i: number) => {
    const v = k.values[i];
    const dst = local.get(i)!;
    if (v.op === "guard") {
      // The outside of a pad is +0.
      push(v.args[0]), f.simd(OP.v128Const).op(...new Array(16).fill(0));
      condsHold(v.valid);
      return f.op(0x1c, 1, V128).set(dst); // select (v128)
    }
    if (v.op === "load" && v.valid.length > 0) {
      // Read only where the conditions hold (elsewhere the address may be outside the copy).
      condsHold(v.valid);
      f.ifT(V128);
      loadValue(i);
      f.get(dst).else().simd(OP.v128Const).op(...new Array(16).fill(0)).end().set(dst);
      return;
    }
    if (v.op === "load") return loadValue(i);
    if (v.op !== "alu") return;
    const [a, b, c] = v.args;
    const argBool = k.values[a].dtype === "bool";
    const binary = (op: number) => (push(a), push(b), f.simd(op).set(dst));
    switch (v.alu) {
      case "neg":
        return push(a), f.simd(OP.f32x4Neg).set(dst);
      case "sqrt":
        return push(a), f.simd(OP.f32x4Sqrt).set(dst);
      case "recip":
        return f32Splat(1), push(a), f.simd(OP.f32x4Div).set(dst);
      case "add":
        return binary(OP.f32x4Add);
      case "mul":
        return binary(OP.f32x4Mul);
      case "max":
        return binary(OP.f32x4Max);
      case "cmplt":
        // For bools a < b is b && !a.
        if (argBool) return push(b), push(a), f.simd(OP.v128AndNot).set(dst);
        return binary(OP.f32x4Lt);
      case "cmpeq":
        return binary(argBool ? OP.i32x4Eq : OP.f32x4Eq);
      case "where":
        return push(b), push(c), push(a), f.simd(OP.v128Bitselect).set(dst);
      case "cast": {
        const from = k.values[a].dtype;
        if (from === v.dtype) return push(a), f.set(dst);
        // bool -> float32: 1 or 0; float32 -> bool: true unless 0 or NaN (as `x ? 1 : 0`).
        if (from === "bool") return push(a), f32Splat(1), f.simd(OP.v128And).set(dst);
        push(a), f32Splat(0), f.simd(OP.f32x4Lt);
        push(a), f32Splat(0), f.simd(OP.f32x4Gt);
        return f.simd(OP.v128Or).set(dst);
      }
      case "exp":
      case "sigmoid": {
        // Vector exp, with the lanes it cannot decide recomputed through Math.exp (vexp.ts).
        push(a), f.set(vsrc);
        emitExp(f, VL, vsrc, v.alu === "sigmoid");
        f.set(redo).set(dst).get(redo).if();
        if (v.alu === "exp") {
          perLane(dst, (L) => (lane64(a, L), f.call(FN.exp).op(OP.f32DemoteF64)));
        } else {
          // 1 / (1 + Math.exp(-x)) in double, then rounded.
          perLane(dst, (L) => {
            f.f64(1).f64(1);
            lane64(a, L);
            f.op(OP.f64Neg).call(FN.exp).op(OP.f64Add, OP.f64Div, OP.f32DemoteF64);
          });
        }
        return f.end();
      }
      case "log":
      case "sin":
      case "tanh": {
        const fn = FN[v.alu];
        return perLane(dst, (L) => (lane64(a, L), f.call(fn).op(OP.f32DemoteF64)));
      }
      case "pow":
        // C's pow, as the JavaScript renderer: 1 when a = 1, or a = -1 and |b| = Infinity.
        return perLane(dst, (L) => {
          lane64(a, L), f.set(fa);
          lane64(b, L), f.set(fb);
          f.f64(1).get(fa).get(fb).call(FN.pow);
          f.get(fa).f64(1).op(OP.f64Eq);
          f.get(fa).f64(-1).op(OP.f64Eq).get(fb).op(OP.f64Abs).f64(Infinity).op(OP.f64Eq);
          f.op(OP.i32And, OP.i32Or).select().op(OP.f32DemoteF64);
        });
      default:
        throw new Error(`simd: no lowering for alu op ${v.alu}`);
    }
  };
  const emitDepth = (d: number) => {
    for (const i of plan.used) if (depth.get(i) === d) emitValue(i);
  };

  /** Adds lane `L` of output `j`'s result to its accumulator as the JavaScript renderer does. */
  const accumulate = (j: number, L: number) => {
    const o = plan.outs[j], acc = accs[j];
    push(o.result);
    f.simd(OP.f32x4ExtractLane).op(L);
    if (o.reduceOp === "sum") return f.get(acc).op(OP.f32Add).set(acc);
    // acc = (x > acc || x !== x) ? x : acc
    f.tee(lane).get(acc).get(lane).get(acc).op(OP.f32Gt).get(lane).get(lane).op(OP.f32Ne);
    f.op(OP.i32Or).select().set(acc);
  };
  const init = (
    o: { reduceOp: "sum" | "max" | undefined },
  ) => (o.reduceOp === "max" ? -Infinity : 0);
  /** Row mode: combines the result vector of output `j` into its row of accumulators. */
  const combineRow = (j: number) => {
    const o = plan.outs[j];
    f.get(outRows[j]).get(q4).op(OP.i32Add);
    if (o.reduceOp === "sum") {
      f.get(outRows[j]).get(q4).op(OP.i32Add).simd(OP.v128Load).memarg(2);
      push(o.result);
      f.simd(OP.f32x4Add);
    } else {
      // acc = (x > acc || x !== x) ? x : acc, lane by lane.
      push(o.result);
      f.get(outRows[j]).get(q4).op(OP.i32Add).simd(OP.v128Load).memarg(2);
      push(o.result);
      f.get(outRows[j]).get(q4).op(OP.i32Add).simd(OP.v128Load).memarg(2);
      f.simd(OP.f32x4Gt);
      push(o.result), push(o.result), f.simd(OP.f32x4Ne), f.simd(OP.v128Or);
      f.simd(OP.v128Bitselect);
    }
    f.simd(OP.v128Store).memarg(2);
  };
  const open = (j: number) => {
    const from = () => (j === 0 ? f.get(START) : f.i32(0));
    const to = () => (j === 0 ? f.get(END) : f.i32(plan.extents[j]));
    if (reduce && j === plan.nOuter) {
      plan.outs.forEach((o, q) => {
        if (!rowMode) return f.f32(init(o)).set(accs[q]);
        // A row of accumulators in the output copy (the last step's spill is overwritten).
        address(baseOut[q], o.c, o.coefs, j);
        f.set(outRows[q]);
        f.forLoop(t, () => f.i32(0), () => f.i32(plan.extents[inner]), () => {
          f.get(outRows[q]).get(t).i32(2).op(OP.i32Shl, OP.i32Add);
          f32Splat(init(o));
          f.simd(OP.v128Store).memarg(2);
        }, 4);
      });
    }
    if (j < inner) {
      f.forLoop(iv[j], from, to, () => {
        emitDepth(j + 1);
        open(j + 1);
      });
    } else {
      for (const [i, rb] of rowBase) {
        const acc = view(i);
        address(baseOf.get(i)!, acc.c, acc.coefs, inner);
        // A gather adds its divisions and moduli per lane; here they do not use the inner loop.
        if (!plan.loads.get(i)!.gather && atomsOf(i, 0)) f.i32(2).op(OP.i32Shl, OP.i32Add);
        f.set(rb);
      }
      if (!reduce) address(baseOut[0], plan.outs[0].c, plan.outs[0].coefs, inner), f.set(outRow);
      f.forLoop(q, from, to, () => {
        f.get(q).i32(2).op(OP.i32Shl).set(q4);
        emitDepth(nLoops);
        if (!reduce) {
          f.get(outRow).get(q4).op(OP.i32Add);
          push(plan.outs[0].result);
          f.simd(OP.v128Store).memarg(2);
          return;
        }
        if (rowMode) return plan.outs.forEach((_, o) => combineRow(o));
        // Lanes in order (the interpreter's order of a sum); lanes past the row are skipped.
        plan.outs.forEach((_, o) => accumulate(o, 0));
        for (let L = 1; L < 4; L++) {
          f.get(q).i32(L).op(OP.i32Add).i32(plan.extents[inner]).op(OP.i32LtS).if();
          plan.outs.forEach((_, o) => accumulate(o, L));
          f.end();
        }
      }, 4);
    }
    if (reduce && !rowMode && j === plan.nOuter) {
      plan.outs.forEach((o, q) => {
        address(baseOut[q], o.c, o.coefs, plan.nOuter);
        f.get(accs[q]).op(OP.f32Store).memarg(2);
      });
    }
  };
  emitDepth(0);
  open(0);

  const imports: ImportFn[] = MATH_IMPORTS.map((name) => ({
    name,
    params: name === "pow" ? [F64, F64] : [F64],
    results: [F64],
  }));
  return encodeModule({
    memories: [{ name: "mem", shared: false, initial: 1 }],
    imports,
    functions: [{
      params: new Array(nParams).fill(I32),
      results: [],
      code: f,
      exportAs: "run",
    }],
    globals: 0,
  });
}
