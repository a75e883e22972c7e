/**
 * PNG encoding (8-bit RGB) for heatmap pixels inside an SVG or HTML page, by `fast-png`.
 *
 * @module
 */

import { encode } from "fast-png";

/**
 * Encodes `rgb` (`width·height·3` bytes, row-major) as a PNG file.
 *
 * @example
 * ```ts
 * import { encodePng } from "./png.ts";
 * const png = encodePng(new Uint8Array([255, 0, 0]), 1, 1); // one red pixel
 * console.log(png.length);
 * ```
 */
export function encodePng(rgb: Uint8Array, width: number, height: number): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new Error(`encodePng: expected a positive integer size, got ${width}×${height}`);
  }
  if (rgb.length !== width * height * 3) {
    throw new Error(
      `encodePng: got ${rgb.length} bytes for ${width}×${height} RGB; expected ${
        width * height * 3
      }`,
    );
  }
  return encode({ width, height, data: rgb, channels: 3, depth: 8 });
}

/** Base64 of `bytes` (for `data:` URIs). */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}
