/**
 * conv2d's input gradient is a transposed convolution (core/conv_grad.ts): its values equal the
 * gradient of the window-view formula conv2d is defined by, for every stride, padding, dilation
 * and group count, and on the CPU backend it is one GEMM kernel instead of an im2col-sized
 * contraction and an overlap-add.
 *
 * @module
 */

import { strict as assert } from "node:assert";
import { CpuBackend, gradients, Tensor } from "../../mod.ts";
import { lower } from "../../core/program.ts";

/** conv2d from its definition (windows of the padded input times the weight), no custom rule. */
function windowConv(
  x: Tensor,
  w: Tensor,
  s: number,
  p: number,
  d: number,
  groups: number,
): Tensor {
  const [n, cin] = x.shape;
  const [cout, cinG, kh, kw] = w.shape;
  const xs = x.pad([[0, 0], [0, 0], [p, p], [p, p]]).pool2d([kh, kw], [s, s], [d, d]);
  const [oh, ow] = [xs.shape[2], xs.shape[3]];
  const rc = cout / groups;
  assert.equal(cinG * groups, cin);
  return xs.reshape([n, groups, 1, cinG, oh, ow, kh, kw]).permute(0, 1, 2, 4, 5, 3, 6, 7)
    .mul(w.reshape([1, groups, rc, 1, 1, cinG, kh, kw])).sum([5, 6, 7])
    .reshape([n, cout, oh, ow]);
}

function seeded(shape: number[], seed: number, backend = "interpreter"): Tensor {
  let s = seed >>> 0 || 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => {
    s ^= s << 13, s >>>= 0, s ^= s >>> 17, s ^= s << 5, s >>>= 0;
    return s / 2 ** 31 - 1;
  });
  return Tensor.from(data, { shape, dtype: "float64", backend });
}

Deno.test("conv2d gradients equal the window-view formula's", async (t) => {
  // [h, w, k, stride, padding, dilation, groups]: padding beyond dilation·(k − 1) (trimmed g),
  // strides that leave input rows no window reaches, 1×1 kernels, groups and depthwise.
  const cases = [
    [7, 7, 3, 1, 1, 1, 1],
    [8, 9, 3, 2, 1, 1, 1],
    [9, 7, 3, 3, 0, 1, 1],
    [9, 9, 3, 1, 2, 2, 1],
    [6, 6, 2, 2, 3, 1, 1],
    [8, 8, 3, 2, 2, 2, 2],
    [5, 5, 1, 2, 0, 1, 4],
    [7, 6, 3, 1, 1, 1, 4],
  ];
  for (const [h, wd, k, s, p, d, groups] of cases) {
    await t.step(
      `${h}×${wd}, k ${k}, stride ${s}, padding ${p}, dilation ${d}, groups ${groups}`,
      async () => {
        const cin = 4, cout = groups === 4 ? 8 : 6;
        const x = seeded([2, cin, h, wd], 1), w = seeded([cout, cin / groups, k, k], 2);
        const y = x.conv2d(w, { stride: s, padding: p, dilation: d, groups });
        const ref = windowConv(x, w, s, p, d, groups);
        assert.deepEqual(y.shape, ref.shape);
        const g = seeded([...y.shape], 3);
        const got = gradients(y.mul(g).sum(), [x, w]);
        const want = gradients(ref.mul(g).sum(), [x, w]);
        for (let i = 0; i < 2; i++) {
          const [a, b] = [await got[i].data(), await want[i].data()];
          // float64 sums of at most 6·3·3·2·9·9 terms of magnitude ≤ 1 in another order.
          a.forEach((v, j) =>
            assert.ok(Math.abs(v - b[j]) <= 1e-12, `grad ${i}[${j}]: ${v} vs ${b[j]}`)
          );
        }
      },
    );
  }
});

Deno.test("conv2d's input gradient schedules as a GEMM, with no overlap-add kernel", () => {
  const cpu = new CpuBackend({ threads: 1 });
  const kernels = (f: (x: Tensor, w: Tensor) => Tensor) => {
    const x = seeded([2, 8, 12, 12], 1, "cpu").cast("float32");
    const w = seeded([8, 8, 3, 3], 2, "cpu").cast("float32");
    const y = f(x, w);
    const outs = [y, ...gradients(y.mul(y).sum(), [x, w])];
    const { program } = lower(outs.map((o) => o.node), (n) => n.op === "buffer");
    const sources = cpu.inspect(program).sources;
    const gemm = sources.filter((s) => s.includes(": gemm "));
    // The overlap-add of a window view indexes by div/mod; no other kernel here needs to.
    const rest = sources.filter((s) => !s.includes(": gemm "));
    return { total: sources.length, gemm: gemm.length, mod: rest.filter((s) => s.includes("%")) };
  };
  const conv = kernels((x, w) => x.conv2d(w, { padding: 1 }));
  const window = kernels((x, w) => windowConv(x, w, 1, 1, 1, 1));
  assert.equal(conv.gemm, 3, "forward, input gradient and weight gradient are GEMMs");
  assert.equal(conv.mod.length, 0, `an overlap-add kernel remains:\n${conv.mod.join("\n")}`);
  assert.ok(window.mod.length > 0, "the window-view formula's gradient has an overlap-add");
  assert.ok(conv.total < window.total, `${conv.total} kernels vs ${window.total}`);
});
