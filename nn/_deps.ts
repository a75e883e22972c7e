/**
 * The core API that the nn library builds on, imported in one place. Importing the package
 * entry also registers its backends.
 *
 * @module
 */

export { gradients, realize, Tensor } from "../mod.ts";
export type { DType } from "../mod.ts";
export { fmtShape } from "../core/shape.ts";
export { uniformStream } from "../core/random.ts";
export { indexRange } from "../core/tensor.ts";
export { markComposite } from "../core/composite.ts";
export { knownValues } from "../core/known_values.ts";
export { checkPoolPadding, windowPair } from "../core/window_args.ts";
