/**
 * Checks the CPU backend's vector `exp` and `sigmoid` (backends/cpu/simd/vexp.ts) against
 * `Math.fround(Math.exp(x))` and `Math.fround(1 / (1 + Math.exp(-x)))` on every float32 input
 * (all 2^32 bit patterns, in blocks), through the backend's own SIMD kernels. Prints the number
 * of differing values (0 expected) and exits non-zero otherwise. Takes minutes:
 * `deno run --allow-env tools/verify_simd_exp.ts [exp|sigmoid]`
 *
 * @module
 */

import { CpuBackend, registerBackend, setCpuSimd, Tensor } from "../mod.ts";

const BLOCK = 1 << 24;
registerBackend("verify-simd-exp", () => new CpuBackend({ threads: 1 }));
setCpuSimd(true);
const ops = Deno.args.length > 0 ? Deno.args : ["exp", "sigmoid"];
let failures = 0;
for (const op of ops) {
  const bits = new Uint32Array(BLOCK);
  const xs = new Float32Array(bits.buffer);
  let bad = 0;
  const t0 = performance.now();
  for (let start = 0; start < 2 ** 32; start += BLOCK) {
    for (let i = 0; i < BLOCK; i++) bits[i] = start + i;
    const x = Tensor.from(xs, { backend: "verify-simd-exp" });
    const y = op === "exp" ? x.exp() : x.sigmoid();
    const got = await y.data() as Float32Array;
    x.dispose(), y.dispose();
    for (let i = 0; i < BLOCK; i++) {
      const v = xs[i];
      const want = op === "exp" ? Math.fround(Math.exp(v)) : Math.fround(1 / (1 + Math.exp(-v)));
      const g = got[i];
      if (!(Object.is(g, want) || (g !== g && want !== want))) {
        if (bad++ < 10) console.log(`${op}(${v}): simd ${g}, Math ${want}`);
      }
    }
  }
  const s = ((performance.now() - t0) / 1000).toFixed(0);
  console.log(`${op}: ${bad} of 2^32 float32 inputs differ (${s} s)`);
  failures += bad;
}
if (failures > 0) Deno.exit(1);
