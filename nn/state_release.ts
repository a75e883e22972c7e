/**
 * Why the nn library disposes a tensor it held as state: the reasons appear in the error that
 * a later use of such a tensor throws.
 *
 * @module
 */

/** Why a lazy state tensor is disposed once its value lives in a detached leaf. */
export const DETACHED =
  "detached into a state leaf by commitState/trainStep (read the module's field or the " +
  "optimizer's state for the value)";

/** Why state a step replaced is disposed. */
export const REPLACED =
  "released by a training step that replaced it (a step donates the state it replaces; to " +
  "keep the old value, take another owner such as t.to(t.backend) before the step)";
