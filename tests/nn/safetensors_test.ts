import { deepStrictEqual, ok, rejects, strictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import {
  Linear,
  load,
  loadWeights,
  metadataOf,
  RepresentativeBatchNorm2d,
  save,
  Sequential,
} from "../../nn/mod.ts";

async function trainedRbn(): Promise<RepresentativeBatchNorm2d> {
  const m = new RepresentativeBatchNorm2d(3, { dtype: "float64" });
  m.center_weight = Tensor.randn([1, 3, 1, 1], { dtype: "float64", seed: 1 });
  m.forward(Tensor.randn([2, 3, 2, 2], { dtype: "float64", seed: 2 }));
  await m.commitState();
  return m;
}

/** Reads the JSON header of safetensors bytes. */
function header(
  bytes: Uint8Array,
): Record<string, { dtype: string; shape: number[]; data_offsets: number[] }> {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
}

Deno.test("a state dict round-trips byte-exact, with the counter stored as I64", async () => {
  const m = await trainedRbn();
  const bytes = await save(m, { metadata: { format: "pt" } });
  const h = header(bytes);
  strictEqual(h.num_batches_tracked.dtype, "I64");
  strictEqual(h.center_weight.dtype, "F64");
  deepStrictEqual(h.center_weight.shape, [1, 3, 1, 1]);
  strictEqual(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8, 0); // padded header
  deepStrictEqual(metadataOf(bytes), { format: "pt" });
  const record = await load(bytes);
  deepStrictEqual(Object.keys(record), Object.keys(m.stateDict()));
  for (const [k, t] of Object.entries(m.stateDict())) {
    deepStrictEqual(Array.from(await record[k].data()), Array.from(await t.data()), k);
  }
  deepStrictEqual(await save(record, { metadata: { format: "pt" } }), bytes);
  const fresh = new RepresentativeBatchNorm2d(3, { dtype: "float64" });
  await loadWeights(fresh, bytes);
  deepStrictEqual(await save(fresh, { metadata: { format: "pt" } }), bytes);
  strictEqual(await fresh.num_batches_tracked!.item(), 1);
});

Deno.test("float32 state, nested names and the I64 layout", async () => {
  const net = new Sequential(new Linear(2, 3, { seed: 1 }), new RepresentativeBatchNorm2d(1));
  const bytes = await save(net);
  const h = header(bytes);
  strictEqual(h["0.weight"].dtype, "F32");
  strictEqual(h["1.num_batches_tracked"].dtype, "I64");
  const [begin] = h["1.num_batches_tracked"].data_offsets;
  const start = bytes.length - Object.values(h).reduce((n, e) => Math.max(n, e.data_offsets[1]), 0);
  strictEqual(new DataView(bytes.buffer).getBigInt64(start + begin, true), 0n);
});

Deno.test("bad files throw clear errors and leave the module unchanged", async (t) => {
  const bytes = await save(await trainedRbn());
  const target = new RepresentativeBatchNorm2d(3, { dtype: "float64" });
  const before = Object.entries(target.stateDict());
  const unchanged = () => deepStrictEqual(Object.entries(target.stateDict()), before);
  await t.step("truncated data", async () => {
    await rejects(loadWeights(target, bytes.subarray(0, bytes.length - 5)), /truncated/);
    unchanged();
  });
  await t.step("truncated header", async () => {
    await rejects(loadWeights(target, bytes.subarray(0, 20)), /truncated/);
    await rejects(loadWeights(target, bytes.subarray(0, 5)), /too short/);
    unchanged();
  });
  await t.step("corrupt header", async () => {
    const bad = bytes.slice();
    bad[8] = 0x7b + 1;
    await rejects(loadWeights(target, bad), /not UTF-8 JSON/);
    unchanged();
  });
  await t.step("missing key", async () => {
    const { scale_bias: _, ...rest } = await load(bytes);
    await rejects(loadWeights(target, await save(rest)), /missing key\(s\): "scale_bias"/);
    unchanged();
  });
  await t.step("shape mismatch", async () => {
    const record = await load(bytes);
    record.scale_bias = Tensor.zeros([3], { dtype: "float64" });
    await rejects(loadWeights(target, await save(record)), /size mismatch for "scale_bias"/);
    unchanged();
  });
  await t.step("offsets that disagree with the shape", async () => {
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const h = header(bytes);
    h.weight.shape = [1, 3, 1, 2];
    let json = JSON.stringify(h);
    json += " ".repeat(Math.max(0, n - json.length));
    ok(json.length === n);
    const bad = bytes.slice();
    bad.set(new TextEncoder().encode(json), 8);
    await rejects(load(bad), /needs 48 bytes, its offsets span 24/);
    unchanged();
  });
});

Deno.test("half-precision files load as float32, I32 as int32", async () => {
  const h = JSON.stringify({
    a: { dtype: "F16", shape: [2], data_offsets: [0, 4] },
    b: { dtype: "BF16", shape: [1], data_offsets: [4, 6] },
    c: { dtype: "I32", shape: [1], data_offsets: [6, 10] },
  });
  const head = new TextEncoder().encode(h);
  const bytes = new Uint8Array(8 + head.length + 10);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  bytes.set(head, 8);
  const d = 8 + head.length;
  view.setUint16(d, 0x3c00, true); // 1.0
  view.setUint16(d + 2, 0xc000, true); // -2.0
  view.setUint16(d + 4, 0x3fc0, true); // 1.5 in bfloat16
  view.setInt32(d + 6, -7, true);
  const r = await load(bytes);
  deepStrictEqual(Array.from(await r.a.data()), [1, -2]);
  deepStrictEqual(Array.from(await r.b.data()), [1.5]);
  deepStrictEqual(Array.from(await r.c.data()), [-7]);
  strictEqual(r.c.dtype, "int32");
});

Deno.test("int32 tensors round-trip as I32, extremes included", async () => {
  const values = [-2147483648, -1, 0, 7, 2147483647];
  const bytes = await save({ idx: Tensor.from(values, { dtype: "int32" }) });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  strictEqual(header.idx.dtype, "I32");
  const r = await load(bytes);
  strictEqual(r.idx.dtype, "int32");
  deepStrictEqual(Array.from(await r.idx.data()), values);
});
