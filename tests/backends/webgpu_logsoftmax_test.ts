/**
 * Log-softmax keeps its precision at large offsets on every backend: it is computed as
 * (x - m) - log Σ exp(x - m), never as x - (m + log Σ exp(x - m)), whose float32 rounding of
 * m + log Σ costs an ulp of m (2^-10 at 1e4, 2^-4 at 1e6).
 *
 * Tolerance 2^-20 absolute: x - m is exact (Sterbenz) for these inputs; WGSL's log is within
 * 2^-21 absolute on [0.5, 2] (Σ lies in [1, 2] here) and exp within 3 + 2|x| ULP (|x| ≤ 2, at
 * most 7 · 2^-24 relative on Σ, so 2^-21 on its log); rounding the results adds ULPs of
 * numbers below 4 (2^-22 each). The interpreter and cpu backend use JavaScript's exp and log
 * (within an ulp of float64) and land well inside it.
 *
 * @module
 */

import assert from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import { hasWebGpu, webgpuBackends } from "../helpers/webgpu.ts";

const gpu = await hasWebGpu();
const TOL = 2 ** -20;

/** Rows whose exact log-softmax is the same for every offset: [c, c - 1, c - 0.5, c - 2]. */
const OFFSETS = [0, 1e4, -1e4, 1e6, -1e6, 3e6];
const DELTAS = [0, -1, -0.5, -2];

function exact(): number[] {
  const lse = Math.log(DELTAS.reduce((s, d) => s + Math.exp(d), 0));
  return DELTAS.map((d) => d - lse);
}

async function check(backend: string) {
  const rows = OFFSETS.flatMap((c) => DELTAS.map((d) => c + d));
  const x = Tensor.from(Float32Array.from(rows), { shape: [OFFSETS.length, 4], backend });
  const got = await x.logSoftmax().data();
  const want = exact();
  for (let i = 0; i < got.length; i++) {
    const w = want[i % 4];
    assert.ok(
      Math.abs(got[i] - w) <= TOL,
      `${backend}: logSoftmax of row ${OFFSETS[Math.floor(i / 4)]} + [${DELTAS}], element ` +
        `${i % 4}: got ${got[i]}, exact ${w}`,
    );
  }
}

Deno.test("logSoftmax is precise at large offsets on the interpreter and cpu", async () => {
  await check("interpreter");
  await check("cpu");
});

Deno.test({ name: "webgpu: logSoftmax is precise at large offsets", ignore: !gpu }, async (t) => {
  for (const backend of webgpuBackends()) await t.step(backend, () => check(backend));
});
