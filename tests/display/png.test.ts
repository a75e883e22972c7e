import assert from "node:assert/strict";
import fc from "fast-check";
import { encodePng, toBase64 } from "../../display/png.ts";

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Splits a PNG file into its chunks (type, data). */
function chunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  const view = new DataView(png.buffer, png.byteOffset);
  const out = [];
  for (let p = 8; p < png.length;) {
    const len = view.getUint32(p);
    out.push({
      type: String.fromCharCode(...png.subarray(p + 4, p + 8)),
      data: png.subarray(p + 8, p + 8 + len),
    });
    p += 12 + len;
  }
  return out;
}

Deno.test("encodePng", async (t) => {
  await t.step("a standard zlib inflater recovers the filtered scanlines", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 40 }),
        async (w, h) => {
          const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) & 0xff);
          const png = encodePng(rgb, w, h);
          assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
          const parts = chunks(png);
          assert.deepEqual(parts.map((c) => c.type), ["IHDR", "IDAT", "IEND"]);
          const hdr = new DataView(parts[0].data.buffer, parts[0].data.byteOffset);
          assert.deepEqual([hdr.getUint32(0), hdr.getUint32(4)], [w, h]);
          const raw = await inflate(parts[1].data);
          for (let y = 0; y < h; y++) {
            const line = raw.subarray(y * (w * 3 + 1), (y + 1) * (w * 3 + 1));
            assert.equal(line[0], 0);
            assert.deepEqual(line.subarray(1), rgb.subarray(y * w * 3, (y + 1) * w * 3));
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  await t.step("spans several stored blocks for large images", async () => {
    const rgb = new Uint8Array(200 * 200 * 3).fill(7);
    const raw = await inflate(chunks(encodePng(rgb, 200, 200))[1].data);
    assert.equal(raw.length, 200 * 601);
  });

  await t.step("rejects a wrong byte count", () => {
    assert.throws(() => encodePng(new Uint8Array(5), 1, 2), /got 5 bytes for 1×2 RGB; expected 6/);
  });

  await t.step("toBase64 agrees with btoa", () => {
    const bytes = Uint8Array.from({ length: 70000 }, (_, i) => (i * 13) & 0xff);
    assert.equal(atob(toBase64(bytes)).length, bytes.length);
    assert.equal(toBase64(new Uint8Array([104, 105])), btoa("hi"));
  });
});
