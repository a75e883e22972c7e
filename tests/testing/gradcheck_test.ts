import { strict as assert } from "node:assert";
import { customVjp, Tensor } from "../../mod.ts";
import { gradcheck } from "../../testing/mod.ts";

const f64 = (d: number[][] | number[]) =>
  Tensor.from(d, { dtype: "float64", backend: "interpreter" });

Deno.test("gradcheck: passes for correct gradients, to second order", async () => {
  const x = f64([[0.3, -0.7], [1.1, 0.2]]), y = f64([0.5, -1.5]);
  await gradcheck((x, y) => x.matmul(y).tanh(), [x, y], { order: 2 });
  // Float32 arguments are checked in float64.
  await gradcheck((x) => x.exp().sum(), [Tensor.from([0.25, 0.5], { backend: "interpreter" })]);
});

Deno.test("gradcheck: reports a wrong first-order rule with argument, index and values", async () => {
  // A square whose declared derivative is 3x instead of 2x.
  const badSquare = customVjp(
    (x: Tensor) => x.mul(x),
    (g, _out, x) => [g.mul(x).mul(3)],
  );
  await assert.rejects(
    () => gradcheck((a, b) => badSquare(b).add(a), [f64([1]), f64([0.5, 2])]),
    (e: Error) => {
      assert.match(e.message, /^gradcheck: gradient of argument 1 \(shape \[2\]\)/);
      assert.match(e.message, /at index \[\d\]: reverse mode -?[\d.e-]+, numeric -?[\d.e-]+/);
      assert.match(e.message, /2 of 2 elements differ/);
      return true;
    },
  );
});

Deno.test("gradcheck: order 2 catches a rule that is right to first order only", async () => {
  // The backward pass is correct in value but built from a detached copy of x, so its own
  // derivative (the Hessian) is wrong: only the second-order check can see it.
  const cube = customVjp(
    (x: Tensor) => x.mul(x).mul(x),
    (g, _out, x) => [g.mul(x.detach().square()).mul(3)],
  );
  const x = f64([0.5, -1.25]);
  await gradcheck(cube, [x]);
  await assert.rejects(
    () => gradcheck(cube, [x], { order: 2 }),
    /order-2 derivative of argument 0/,
  );
});

Deno.test("gradcheck: non-float arguments pass through; bad options are rejected", async () => {
  const cond = f64([1, 0]).gt(0.5);
  await gradcheck((x, c) => Tensor.where(c, x.sin(), x.cos()), [f64([0.1, 0.2]), cond]);
  await assert.rejects(() => gradcheck((c) => c.cast("float64"), [cond]), /no float arguments/);
  await assert.rejects(() => gradcheck((x) => x, [f64([1])], { order: 0 }), /order must be/);
  await assert.rejects(() => gradcheck((x) => x, [f64([1])], { eps: 0 }), /eps must be positive/);
});
