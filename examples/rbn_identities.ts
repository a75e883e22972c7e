/**
 * Representative Batch Normalization (Gao et al., CVPR 2021) from its equations, checked
 * numerically against `RepresentativeBatchNorm2d` and against the identities the paper's
 * construction implies; then the IR of an RBN layer, of its gradient, and their fused schedule.
 *
 * Run: `deno run examples/rbn_identities.ts`
 *
 * @module
 */

import { formatSchedule, grad, schedule, Tensor } from "../mod.ts";
import { lower } from "../core/program.ts";
import { isRealized } from "../core/realize.ts";
import { RepresentativeBatchNorm2d } from "../nn/mod.ts";

/** The learnable RBN parameters, each `[1, C, 1, 1]`. */
interface RbnParams {
  wm: Tensor;
  wv: Tensor;
  wb: Tensor;
  gamma: Tensor;
  beta: Tensor;
}

const EPS = 1e-5;

/** Training-mode RBN, one line per equation. */
function rbnFromEquations(x: Tensor, p: RbnParams) {
  const Km = x.mean([2, 3], { keepdims: true }); // K_m = mean_HW(X)          (centering statistic)
  const Xcm = x.add(p.wm.mul(Km)); //               X_cm = X + w_m ⊙ K_m       (centering calibration)
  const mu = Xcm.mean([0, 2, 3], { keepdims: true }); // E(X_cm) over N, H, W
  const Xm = Xcm.sub(mu); //                        X_m = X_cm − E(X_cm)
  const v = Xm.square().mean([0, 2, 3], { keepdims: true }); // Var(X_cm), biased
  const Xs = Xm.div(v.add(EPS).sqrt()); //          X_s = X_m / sqrt(Var + ε)
  const Ks = Xs.mean([2, 3], { keepdims: true }); // K_s = mean_HW(X_s)         (scaling statistic)
  const R = p.wv.mul(Ks).add(p.wb).sigmoid(); //    R = σ(w_v ⊙ K_s + w_b)     (scaling calibration)
  const Y = p.gamma.mul(R).mul(Xs).add(p.beta); //  Y = γ ⊙ R ⊙ X_s + β
  return { Km, Xcm, Xm, Xs, R, Y };
}

const dtype = "float64" as const;
const [N, C, H, W] = [4, 3, 5, 5];
const chan = (seed: number, scale = 1, shift = 0) =>
  Tensor.randn([1, C, 1, 1], { dtype, seed, std: scale, mean: shift });
const x = Tensor.randn([N, C, H, W], { dtype, seed: 1, std: 2, mean: 0.5 });
const p: RbnParams = {
  wm: chan(2, 0.5),
  wv: chan(3, 0.5),
  wb: chan(4, 0.5, 1),
  gamma: chan(5, 0.2, 1),
  beta: chan(6, 0.2),
};

// Tolerances: float64 over at most 300 elements of size O(10) rounds to about 1e-15, so 1e-12
// leaves room; the gradient adds a few more roundings per element (1e-10).
const rows: [string, number, number][] = [];
async function check(identity: string, difference: Tensor, tolerance: number) {
  rows.push([identity, await difference.abs().max().item(), tolerance]);
}

const eq = rbnFromEquations(x, p);

// 1. The equations agree with the library layer (training mode, same parameters). A difference
//    of exactly 0 means both built the same hash-consed graph.
const layer = new RepresentativeBatchNorm2d(C, { dtype });
layer.center_weight = p.wm;
layer.scale_weight = p.wv;
layer.scale_bias = p.wb;
layer.weight = p.gamma;
layer.bias = p.beta;
await check("equations = RepresentativeBatchNorm2d", layer.forward(x).sub(eq.Y), 1e-12);

// 2. The batch statistics of X_s: per channel mean 0 and (biased) variance 1 − ε/(Var + ε).
await check("E_{N,H,W}[X_s] = 0", eq.Xs.mean([0, 2, 3]), 1e-12);
const v = eq.Xm.square().mean([0, 2, 3], { keepdims: true });
await check(
  "Var_{N,H,W}[X_s] = Var/(Var+ε)",
  eq.Xs.square().mean([0, 2, 3], { keepdims: true }).sub(v.div(v.add(EPS))),
  1e-12,
);

// 3. Centering calibration shifts the batch mean by w_m times itself: E[X_cm] = (1 + w_m) E[X].
const Ex = x.mean([0, 2, 3], { keepdims: true });
await check(
  "E[X_cm] = (1 + w_m) ⊙ E[X]",
  eq.Xcm.mean([0, 2, 3], { keepdims: true }).sub(p.wm.add(1).mul(Ex)),
  1e-12,
);

// 4. ... and adds each instance's own deviation: X_m = (X − E X) + w_m ⊙ (K_m − E K_m).
await check(
  "X_m = (X − E X) + w_m ⊙ (K_m − E K_m)",
  eq.Xm.sub(x.sub(Ex).add(p.wm.mul(eq.Km.sub(eq.Km.mean([0], { keepdims: true }))))),
  1e-12,
);

// 5. With w_m = w_v = 0 the calibrations reduce RBN to BN scaled by the constant σ(w_b).
const zero = Tensor.zeros([1, C, 1, 1], { dtype });
const plain = rbnFromEquations(x, { ...p, wm: zero, wv: zero });
const bn = x.sub(Ex).div(x.var([0, 2, 3], { keepdims: true, correction: 0 }).add(EPS).sqrt());
await check(
  "w_m = w_v = 0: Y = γ ⊙ σ(w_b) ⊙ BN(X) + β",
  plain.Y.sub(p.gamma.mul(p.wb.sigmoid()).mul(bn).add(p.beta)),
  1e-12,
);

// 6. The scaling factor R lies in (0, 1), so |R ⊙ X_s| ≤ |X_s|: the calibration only attenuates.
await check("max(|R ⊙ X_s| − |X_s|, 0) = 0", eq.R.mul(eq.Xs).abs().sub(eq.Xs.abs()).maximum(0), 0);

// 7. Normalization removes the batch mean, so a gradient of the plain-BN output's sum is zero:
//    d/dX Σ BN(X) = 0 (and likewise through RBN's centering, for any w_m).
const sumOfNormalized = (x: Tensor) =>
  rbnFromEquations(x, { ...p, wv: zero, gamma: p.gamma.mul(0).add(1) }).Xs.sum();
await check("∂/∂X Σ X_s = 0", grad(sumOfNormalized)(x), 1e-10);

console.log(`RBN on x: ${x.dtype}[${x.shape.join(", ")}], random w_m, w_v, w_b, γ, β\n`);
console.log(`${"identity".padEnd(44)}${"max |lhs − rhs|".padStart(18)}${"tolerance".padStart(12)}`);
let failed = 0;
for (const [identity, diff, tol] of rows) {
  const ok = diff <= tol;
  if (!ok) failed++;
  console.log(
    `${identity.padEnd(44)}${diff.toExponential(2).padStart(18)}${
      tol.toExponential(0).padStart(12)
    }  ${ok ? "ok" : "FAILED"}`,
  );
}

// The IR of one RBN layer on a small input and of the gradient of a loss through it.
const xs = Tensor.randn([2, 2, 2, 2], { seed: 7 });
const small = new RepresentativeBatchNorm2d(2);
const loss = (x: Tensor) => small.forward(x).square().sum();
const y = small.forward(xs);
const dx = grad(loss)(xs);
console.log(`\nIR of RepresentativeBatchNorm2d(2) on float32[2, 2, 2, 2]:\n${y.toString()}`);
console.log(`\nIR of ∂/∂x Σ RBN(x)² (forward and backward in one graph):\n${dx.toString()}`);
const { program } = lower([dx.node], isRealized);
const sched = schedule(program);
console.log(
  `\nIts schedule: ${program.nodes.length} program nodes fused into ${sched.kernels.length} kernels` +
    `\n${formatSchedule(sched)}`,
);
if (failed > 0) {
  console.error(`${failed} identities failed`);
  Deno.exit(1);
}
