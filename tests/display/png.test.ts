import assert from "node:assert/strict";
import fc from "fast-check";
import { decode } from "fast-png";
import { encodePng, toBase64 } from "../../display/png.ts";

Deno.test("encodePng", async (t) => {
  await t.step("a PNG decoder recovers the size and every pixel", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (w, h) => {
        const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37) & 0xff);
        const png = encodePng(rgb, w, h);
        assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
        const img = decode(png);
        assert.deepEqual([img.width, img.height, img.channels, img.depth], [w, h, 3, 8]);
        assert.deepEqual(img.data, rgb);
      }),
      { numRuns: 30 },
    );
  });

  await t.step("compresses flat images", () => {
    // 200×200 of one color: 120,000 raw bytes deflate to a few hundred.
    assert.ok(encodePng(new Uint8Array(200 * 200 * 3).fill(7), 200, 200).length < 2000);
  });

  await t.step("rejects a wrong byte count or size", () => {
    assert.throws(() => encodePng(new Uint8Array(5), 1, 2), /got 5 bytes for 1×2 RGB; expected 6/);
    assert.throws(() => encodePng(new Uint8Array(0), 0, 1), /expected a positive integer size/);
  });

  await t.step("toBase64 agrees with btoa", () => {
    const bytes = Uint8Array.from({ length: 70000 }, (_, i) => (i * 13) & 0xff);
    assert.equal(atob(toBase64(bytes)).length, bytes.length);
    assert.equal(toBase64(new Uint8Array([104, 105])), btoa("hi"));
  });
});
