/**
 * Shorthands the differentiation rule tables (core/autodiff.ts, core/jvp.ts) build their
 * graphs with.
 *
 * @module
 */

import * as ir from "./ir.ts";
import type { Node } from "./ir.ts";

/** `a + b`. */
export const add = (a: Node, b: Node): Node => ir.binary("add", a, b);
/** `a · b`. */
export const mul = (a: Node, b: Node): Node => ir.binary("mul", a, b);
/** `-a`. */
export const neg = (a: Node): Node => ir.unary("neg", a);
/** `1 / a`. */
export const recip = (a: Node): Node => ir.unary("recip", a);
/** The constant `v` in the shape and dtype of `like`. */
export const full = (v: number, like: Node): Node => ir.constNode(v, like.shape, like.dtype);
/** The first input of `n`. */
export const x0 = (n: Node): Node => n.inputs[0];
