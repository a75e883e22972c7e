/**
 * Hash-consing keeps constants apart that differ only where JSON cannot tell them apart: -0 and
 * 0, NaN and ±Infinity. Conflating them made a gradient's zero come out as -0 (it reused an
 * earlier -0 constant) and could turn an -Infinity fill into NaN.
 *
 * @module
 */

import assert from "node:assert/strict";
import * as ir from "../../core/ir.ts";

Deno.test("constNode: -0, 0, NaN, Infinity and -Infinity are distinct nodes", () => {
  const values = [-0, 0, NaN, Infinity, -Infinity];
  const nodes = values.map((v) => ir.constNode(v, [3], "float32"));
  assert.equal(new Set(nodes).size, values.length);
  for (const [i, n] of nodes.entries()) {
    assert.ok(Object.is((n.attrs as { value: number }).value, values[i]), `value ${values[i]}`);
    assert.equal(ir.constNode(values[i], [3], "float32"), n, `${values[i]} interns to one node`);
  }
});
