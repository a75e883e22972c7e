// Hash-consing: structurally equal expressions are one node.

import fc from "fast-check";
import { strict as assert } from "node:assert";
import { gradients, type Tensor } from "../../mod.ts";
import { opGraph } from "../../testing/mod.ts";
import { f64, RUNS } from "./helpers.ts";

Deno.test("hash-consing: building the same expression twice gives the same node", () => {
  const x = f64([1, 2, 3]), y = f64([[4], [5]]);
  const build = () => x.mul(y).add(1).exp().sum(1).softmax().sub(x.max());
  assert.equal(build().node, build().node);
  // Two uploads of equal data are distinct leaves.
  assert.notEqual(f64([1, 2, 3]).node, x.node);
});

Deno.test("hash-consing: random graphs rebuilt on the same inputs share every node", () => {
  fc.assert(
    fc.property(opGraph({ arity: 2 }), (g) => {
      const xs = [0, 1].map(() =>
        f64(new Float64Array(g.shape.reduce((p, d) => p * d, 1)), g.shape)
      );
      assert.equal(g.apply(...xs).node, g.apply(...xs).node);
      // Gradient graphs are ordinary graphs, hash-consed the same way.
      const y = g.apply(...xs).sum();
      const [a] = gradients(y, xs);
      const [b] = gradients(g.apply(...xs).sum(), xs);
      assert.equal(a.node, b.node);
    }),
    RUNS,
  );
});

Deno.test("hash-consing: commutative ops share nodes, others do not", () => {
  const x = f64([1, 2]), y = f64([3, 4]);
  const same = (a: Tensor, b: Tensor) => assert.equal(a.node, b.node);
  same(x.add(y), y.add(x));
  same(x.mul(y), y.mul(x));
  same(x.maximum(y), y.maximum(x));
  same(x.eq(y), y.eq(x));
  same(x.minimum(y), y.minimum(x));
  assert.notEqual(x.sub(y).node, y.sub(x).node);
  assert.notEqual(x.lt(y).node, y.lt(x).node);
  same(x.lt(y), y.gt(x));
});

Deno.test("hash-consing: algebraic identities fold structurally", () => {
  const x = f64([[1, 2], [3, 4]]);
  assert.equal(x.add(0).node, x.node);
  assert.equal(x.mul(1).node, x.node);
  assert.equal(x.neg().neg().node, x.node);
  assert.equal(x.reshape([4]).reshape([2, 2]).node, x.node);
  assert.equal(x.reshape([4, 1]).reshape([1, 4]).node, x.reshape([1, 4]).node);
  assert.equal(x.permute(1, 0).permute(1, 0).node, x.node);
  assert.equal(x.expand([2, 2]).node, x.node);
  assert.equal(x.pad([[0, 0], [0, 0]]).node, x.node);
  assert.equal(x.slice([null, null]).node, x.node);
  assert.equal(x.cast("float64").node, x.node);
  // x · 0 is not folded to 0: NaN and ∞ in x must propagate.
  assert.equal(f64([1]).mul(0).node.op, "mul");
});
