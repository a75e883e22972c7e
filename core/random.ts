/**
 * The project's seeded uniform generator, shared by the random tensor constructors and the data
 * loader's shuffle, so a seed means the same stream everywhere.
 *
 * @module
 */

/** A small, fast, seedable generator (splitmix32) returning floats in [0, 1). */
export function uniformStream(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z ^= z >>> 16;
    return (z >>> 0) / 4294967296;
  };
}
