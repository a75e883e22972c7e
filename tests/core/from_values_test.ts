// Tensor.from rejects what is not a number or a boolean, and ragged nesting, naming the position
// and what was found (strings used to become NaN silently).

import { strict as assert } from "node:assert";
import { Tensor } from "../../mod.ts";
import type { NestedArray } from "../../mod.ts";
import { throwsWith } from "../helpers/throws_with.ts";

/** Passes values the type system rejects, as untyped callers (JSON, notebooks) can. */
const from = (v: unknown) => Tensor.from(v as NestedArray);

Deno.test("Tensor.from: non-numeric values", async (t) => {
  const cases: [string, unknown, ...string[]][] = [
    ["a string", ["a"], "element [0]", 'a string ("a")', "expected a number or a boolean"],
    ["a numeric string", [1, "2"], "element [1]", 'a string ("2")'],
    ["undefined", [[1, 2], [3, undefined]], "element [1, 1]", "undefined"],
    ["null", [null], "element [0]", "null"],
    ["an object", [[{ v: 1 }]], "element [0, 0]", "an object"],
    ["a bigint", [1, 2n], "element [1]", "a bigint (2n", "Number()"],
    ["a hole", [1, , 3], "element [1]", "undefined"],
    ["a scalar string", "x", "element []", 'a string ("x")'],
    ["a function", [() => 1], "element [0]", "a function"],
  ];
  for (const [name, v, ...frags] of cases) {
    await t.step(name, () => throwsWith(() => from(v), "Tensor.from", ...frags));
  }
});

Deno.test("Tensor.from: ragged nesting", async (t) => {
  const cases: [string, unknown, ...string[]][] = [
    ["short row", [[1, 2], [3]], "ragged", "element [1]", "array of 1", "array of 2"],
    ["long row", [[1, 2], [3, 4, 5]], "element [1]", "array of 3", "like element [0]"],
    ["number for a row", [[1, 2], 3], "element [1]", "number 3", "array of 2"],
    ["row for a number", [1, [2]], "element [1]", "is an array", "expected a number"],
    ["deep", [[[1], [2]], [[3], [4, 5]]], "element [1, 1]", "array of 2", "array of 1"],
  ];
  for (const [name, v, ...frags] of cases) {
    await t.step(name, () => throwsWith(() => from(v), "Tensor.from", ...frags));
  }
});

Deno.test("Tensor.from: valid values keep working", async (t) => {
  await t.step("booleans are 0 and 1", async () => {
    assert.deepEqual([...await Tensor.from([true, false, true]).data()], [1, 0, 1]);
    const b = Tensor.from([[true], [false]], { dtype: "bool" });
    assert.deepEqual(await b.toArray(), [[true], [false]]);
  });
  await t.step("NaN and infinities are numbers", async () => {
    const d = await Tensor.from([NaN, Infinity, -Infinity], { dtype: "float64" }).data();
    assert.ok(Number.isNaN(d[0]) && d[1] === Infinity && d[2] === -Infinity);
  });
  await t.step("empty and scalar", () => {
    assert.deepEqual(Tensor.from([]).shape, [0]);
    assert.deepEqual(Tensor.from([[], []]).shape, [2, 0]);
    assert.deepEqual(Tensor.from(3).shape, []);
  });
});
