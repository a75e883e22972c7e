// Every error path: the message names the op, the shapes or dtypes involved, and what was
// expected.

import { strict as assert } from "node:assert";
import { getBackend, grad, setBackend, Tensor, vjp } from "../../mod.ts";
import * as ir from "../../core/ir.ts";
import { BACKEND, f64 } from "./helpers.ts";

/** Asserts that `fn` throws an error whose message contains every fragment, in order. */
function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, "expected an Error");
    let at = 0;
    for (const f of fragments) {
      const i = e.message.indexOf(f, at);
      assert.ok(i >= 0, `message ${JSON.stringify(e.message)} lacks ${JSON.stringify(f)}`);
      at = i + f.length;
    }
    return true;
  });
}

/** Like {@link throwsWith} for a promise. */
async function rejectsWith(p: () => Promise<unknown>, ...fragments: string[]): Promise<void> {
  let caught: unknown;
  try {
    await p();
  } catch (e) {
    caught = e;
  }
  throwsWith(() => {
    if (caught !== undefined) throw caught;
  }, ...fragments);
}

const m23 = () => f64([[1, 2, 3], [4, 5, 6]]);

Deno.test("errors: binary ops", async (t) => {
  await t.step("shape mismatch at the IR level", () =>
    throwsWith(
      () => ir.binary("mul", f64([1, 2]).node, f64([1, 2, 3]).node),
      "mul",
      "[2]",
      "[3]",
      "expected equal shapes",
    ));
  await t.step("dtype mismatch at the IR level", () =>
    throwsWith(
      () => ir.binary("add", f64([1]).node, Tensor.from([1], { backend: BACKEND }).node),
      "add",
      "float64",
      "float32",
      "expected equal dtypes",
    ));
  await t.step("broadcast failure", () =>
    throwsWith(
      () => m23().add(f64([1, 2])),
      "add",
      "[2, 3]",
      "[2]",
      "axis -1",
      "expected equal extents or a 1",
    ));
  await t.step(
    "broadcast failure names the user-facing op",
    () =>
      throwsWith(
        () => m23().maximum(f64([[1], [2], [3]])),
        "maximum",
        "[2, 3]",
        "[3, 1]",
        "expected",
      ),
  );
});

Deno.test("errors: movement ops", async (t) => {
  await t.step(
    "reshape size mismatch",
    () =>
      throwsWith(() => m23().reshape([4]), "reshape", "[2, 3]", "6 elements", "[4]", "expected"),
  );
  await t.step(
    "reshape with -1 that does not divide",
    () => throwsWith(() => m23().reshape([-1, 4]), "reshape", "[2, 3]", "[-1, 4]", "expected"),
  );
  await t.step(
    "bad permutation",
    () => throwsWith(() => m23().permute(1, 1), "permute", "[1,1]", "[2, 3]", "expected"),
  );
  await t.step(
    "permutation of the wrong length",
    () => throwsWith(() => m23().permute(0), "permute", "[0]", "[2, 3]", "expected"),
  );
  await t.step(
    "bad expand: incompatible extents",
    () => throwsWith(() => m23().expand([2, 4]), "expand", "[2, 3]", "[2, 4]", "expected"),
  );
  await t.step(
    "bad expand: lower rank",
    () => throwsWith(() => m23().expand([3]), "expand", "[2, 3]", "[3]", "expected"),
  );
  await t.step(
    "bad pad: negative widths",
    () =>
      throwsWith(() => m23().pad([[0, 0], [-1, 0]]), "pad", "[2, 3]", "expected", "non-negative"),
  );
  await t.step(
    "bad pad: wrong number of pairs",
    () => throwsWith(() => m23().pad([[1, 1]]), "pad", "rank 2", "expected one per axis"),
  );
  await t.step(
    "slice index out of range",
    () =>
      throwsWith(() => m23().slice([null, 3]), "slice", "index 3", "[2, 3]", "expected", "[-3, 2]"),
  );
  await t.step(
    "slice with too many specs",
    () =>
      throwsWith(() => m23().slice([0, 0, 0]), "slice", "3 specs", "[2, 3]", "expected at most 2"),
  );
  await t.step("slice with a zero or negative step", () => {
    throwsWith(() => m23().slice([null, [0, 3, 0]]), "slice", "steps=[1,0]", "[2, 3]", "step >= 1");
    throwsWith(() => m23().slice([null, [0, 3, -1]]), "slice", "steps=[1,-1]", "step >= 1");
  });
  await t.step("concat of mismatched shapes", () =>
    throwsWith(
      () => Tensor.concat([m23(), f64([[1, 2]])], 0),
      "concat",
      "[2, 3]",
      "[1, 2]",
      "expected",
    ));
  await t.step(
    "squeeze of an axis that is not 1",
    () => throwsWith(() => m23().squeeze(0), "squeeze", "[2, 3]", "expected 1"),
  );
});

Deno.test("errors: reductions, where, matmul, conv2d", async (t) => {
  await t.step("reduce axis out of range", () => {
    throwsWith(() => m23().sum(2), "sum", "axis 2", "rank 2", "expected", "[-2, 1]");
    throwsWith(() => m23().max(-3), "max", "axis -3", "expected");
    throwsWith(
      () => ir.reduce("reduce_sum", m23().node, [2]),
      "reduce_sum",
      "axis 2",
      "[2, 3]",
      "expected 0 <= axis < 2",
    );
  });
  await t.step(
    "where with a non-bool condition",
    () =>
      throwsWith(() => Tensor.where(f64([1, 0]), f64([1, 2]), 0), "where", "bool", "float64[2]"),
  );
  await t.step("matmul inner mismatch", () =>
    throwsWith(
      () => m23().matmul(f64([[1, 2], [3, 4]])),
      "matmul",
      "[2, 3]",
      "[2, 2]",
      "3 vs 2",
      "expected equal contraction extents",
    ));
  await t.step("conv2d channel mismatch", () =>
    throwsWith(
      () =>
        Tensor.zeros([1, 3, 4, 4], { backend: BACKEND }).conv2d(
          Tensor.zeros([2, 2, 2, 2], { backend: BACKEND }),
        ),
      "conv2d",
      "3 channels",
      "[2, 2, 2, 2]",
      "groups=1",
      "expected",
    ));
  await t.step("conv2d kernel larger than the input", () =>
    throwsWith(
      () =>
        Tensor.zeros([1, 1, 2, 2], { backend: BACKEND }).conv2d(
          Tensor.zeros([1, 1, 3, 3], { backend: BACKEND }),
        ),
      "conv2d",
      "[3, 3]",
      "[2, 2]",
      "expected a kernel that fits",
    ));
});

Deno.test("errors: transforms, disposal and backends", async (t) => {
  await t.step(
    "grad of a non-scalar",
    () =>
      throwsWith(() => grad((x: Tensor) => x.mul(2))(f64([1, 2])), "grad", "one element", "[2]"),
  );
  await t.step("vjp cotangent of the wrong shape", () => {
    const [, pullback] = vjp((x: Tensor) => x.mul(2), f64([1, 2]));
    throwsWith(() => pullback(f64([1, 2, 3])), "vjp", "[3]", "expected [2]");
  });
  await t.step("using a disposed tensor", async () => {
    const x = f64([1, 2]);
    const y = x.add(1);
    x.dispose();
    throwsWith(() => x.mul(2), "mul", "disposed");
    await rejectsWith(() => y.data(), "disposed");
  });
  await t.step("unknown backend", async () => {
    throwsWith(
      () => setBackend("nope"),
      "setBackend",
      '"nope"',
      "expected one of",
      '"interpreter"',
    );
    await rejectsWith(() => getBackend("nope"), "getBackend", '"nope"', "expected one of");
    await rejectsWith(
      () => Tensor.from([1], { backend: "nope" }).data(),
      "unknown backend",
      '"nope"',
      "expected one of",
    );
  });
});
