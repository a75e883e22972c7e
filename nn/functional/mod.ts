/**
 * Functional forms of the nn layers: pure functions of tensors that return new running
 * statistics instead of changing any state.
 *
 * @module
 */

export { batchNorm, blend, perChannel, requireManyPerChannel, torchSize } from "./batch_norm.ts";
export type { BatchNormOptions as BatchNormFnOptions, BatchNormResult } from "./batch_norm.ts";
export { rbn } from "./rbn.ts";
export { moments } from "./moments.ts";
export type { RbnOptions } from "./rbn.ts";
export { groupNorm } from "./group_norm.ts";
export type { GroupNormOptions as GroupNormFnOptions } from "./group_norm.ts";
export { layerNorm } from "./layer_norm.ts";
export type { LayerNormOptions as LayerNormFnOptions } from "./layer_norm.ts";
export { instanceNorm } from "./instance_norm.ts";
export type { InstanceNormOptions, InstanceNormResult } from "./instance_norm.ts";
export { linear } from "./linear.ts";
export { dropout } from "./dropout.ts";
export type { DropoutOptions } from "./dropout.ts";
