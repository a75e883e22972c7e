// What exportOnnx refuses, and that each refusal names the op (or dtype) and the opset.

import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { Node, Tensor } from "../../mod.ts";
import { BatchNorm2d, Linear } from "../../nn/mod.ts";
import { exportOnnx, OPSET } from "../../onnx/mod.ts";

Deno.test("exportOnnx: an op without an ONNX lowering is named with the opset", async () => {
  // An op the exporter does not know, as a newer IR could add: built through the interning
  // constructor, since the checked constructors only build known ops.
  const f = (x: Tensor) =>
    new Tensor(Node.intern("erf" as never, [x.node], x.shape, x.dtype, {} as never));
  await rejects(
    exportOnnx(f, Tensor.ones([2])),
    new RegExp(`op "erf" has no ONNX lowering at opset ${OPSET}`),
  );
});

Deno.test("exportOnnx: a dtype ONNX has no element type for here is named with the opset", async () => {
  const f = (x: Tensor) => new Tensor(Node.intern("cast", [x.node], x.shape, "int8" as never, {}));
  await rejects(
    exportOnnx(f, Tensor.ones([2])),
    new RegExp(
      `the result of cast has dtype int8.*opset ${OPSET}.*expected float32, float64, int32 or bool`,
    ),
  );
});

Deno.test("exportOnnx: a module in training mode is refused before its buffers change", async () => {
  const bn = new BatchNorm2d(2);
  const before = bn.running_mean;
  await rejects(exportOnnx(bn, Tensor.randn([2, 2, 3, 3], { seed: 1 })), /training mode.*eval\(\)/);
  if (bn.running_mean !== before) throw new Error("the refused export changed running_mean");
});

Deno.test("exportOnnx: bad inputs and names say what was expected", async () => {
  const fc = new Linear(3, 2, { seed: 0 }).eval();
  await rejects(exportOnnx(fc, []), /expected one example Tensor or a non-empty array/);
  await rejects(
    exportOnnx(fc, Tensor.ones([1, 3]), { inputNames: ["a", "b"] }),
    /inputNames \["a","b"\] do not fit 1 value\(s\)/,
  );
  await rejects(
    exportOnnx((a: Tensor, b: Tensor) => a.add(b), [Tensor.ones([1]), Tensor.ones([1])], {
      outputNames: [""],
    }),
    /outputNames \[""\] do not fit 1 value\(s\); expected 1 distinct non-empty names/,
  );
  const x = Tensor.ones([2]);
  await rejects(
    exportOnnx((a: Tensor) => a, [x, x]),
    /example inputs input_0 and 1 are one tensor/,
  );
  await rejects(exportOnnx(() => [] as Tensor[], x), /must return a Tensor or a non-empty array/);
});

Deno.test("exportOnnx: a graph input named like a state tensor is refused", async () => {
  const fc = new Linear(3, 2, { seed: 0 }).eval();
  await rejects(
    exportOnnx(fc, Tensor.ones([1, 3]), { inputNames: ["weight"] }),
    /state tensor "weight" has the name of a graph input or output/,
  );
});

Deno.test("exportOnnx: the exporter's module graph imports no ONNX runtime", async () => {
  // ONNX Runtime is a test-only dependency: follow onnx/mod.ts's relative imports and collect
  // every package it names.
  const seen = new Set<string>(), packages = new Set<string>();
  const visit = async (url: URL) => {
    if (seen.has(url.href)) return;
    seen.add(url.href);
    const source = await Deno.readTextFile(url);
    for (const [, spec] of source.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      if (spec.startsWith(".")) await visit(new URL(spec, url));
      else packages.add(spec);
    }
  };
  await visit(new URL("../../onnx/mod.ts", import.meta.url));
  ok(seen.size > 20, `only ${seen.size} modules reached`);
  ok(packages.has("onnx-proto"), `packages: ${[...packages]}`);
  deepStrictEqual([...packages].filter((p) => p.includes("onnxruntime")), []);
});
