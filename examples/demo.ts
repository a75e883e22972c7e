/**
 * A first look at symgrad: build a small lazy graph, print its IR, differentiate it twice and
 * compare the values with the analytic derivatives.
 *
 * Run with `deno task demo:graph`.
 *
 * @module
 */

import { grad, Tensor } from "../mod.ts";

// f(x) = sum(sin(x) · x²): nothing runs while the graph is built.
const f = (x: Tensor) => x.sin().mul(x.square()).sum();
const df = grad(f);
const d2f = grad((x: Tensor) => df(x).sum());

const x = Tensor.from([0.5, 1, 2], { dtype: "float64" });
console.log("The graph of f(x) = sum(sin(x)·x²):");
console.log(f(x).toString());
console.log("\nThe graph of its gradient (built from the same IR):");
console.log(df(x).toString());

const xs = Array.from(await x.data());
const rows = [
  ["f'(x)", await df(x).data(), (v: number) => Math.cos(v) * v * v + 2 * v * Math.sin(v)],
  [
    "f''(x)",
    await d2f(x).data(),
    (v: number) => -Math.sin(v) * v * v + 4 * v * Math.cos(v) + 2 * Math.sin(v),
  ],
] as const;
console.log(`\nf(x) = ${await f(x).item()}`);
for (const [name, got, exact] of rows) {
  for (let i = 0; i < xs.length; i++) {
    const want = exact(xs[i]);
    const err = Math.abs(got[i] - want);
    console.log(
      `${name} at x=${xs[i]}: symgrad ${got[i].toFixed(12)}  analytic ${want.toFixed(12)}  ` +
        `|error| ${err.toExponential(1)}`,
    );
    if (err > 1e-12 * Math.max(1, Math.abs(want))) {
      throw new Error(`${name} at x=${xs[i]} disagrees with the analytic derivative`);
    }
  }
}
