/**
 * Lowering keys and the program cache: structurally equal graphs over different buffers share
 * one key and one `Program`; graphs a program can tell apart never share a key.
 */
import { notStrictEqual, strictEqual } from "node:assert/strict";
import { Tensor } from "../../mod.ts";
import type { Node } from "../../core/ir.ts";
import { lower } from "../../core/program.ts";

const isLeaf = (n: Node) => n.op === "buffer";
const lowered = (...ts: Tensor[]) => lower(ts.map((t) => t.node), isLeaf);
const leaf = (shape: number[], seed: number) => Tensor.randn(shape, { seed });

Deno.test("equal structures over new buffers share one key and one program", () => {
  const step = (seed: number) => {
    const x = leaf([3, 4], seed), w = leaf([4, 2], seed + 1);
    const y = x.matmul(w).relu().sum(1);
    return { lowered: lowered(y, w.mul(0.5)), x, w };
  };
  const a = step(1), b = step(10);
  strictEqual(a.lowered.program.key, b.lowered.program.key);
  strictEqual(a.lowered.program, b.lowered.program);
  // Leaves come back in slot order, so each step feeds its own buffers.
  strictEqual(a.lowered.leaves.length, 2);
  strictEqual(b.lowered.leaves.indexOf(b.x.node), a.lowered.leaves.indexOf(a.x.node));
  strictEqual(b.lowered.leaves.indexOf(b.w.node), a.lowered.leaves.indexOf(a.w.node));
});

Deno.test("commutative operands are ordered by structure, not creation order", () => {
  const first = () => {
    const x = leaf([4], 1), s = leaf([4, 1], 2);
    return x.exp().add(s.reshape([4]).sin());
  };
  const second = () => {
    // Created in the other order: the add's operands have the opposite id order.
    const s = leaf([4, 1], 3), x = leaf([4], 4);
    return x.exp().add(s.reshape([4]).sin());
  };
  const a = lowered(first()), b = lowered(second());
  strictEqual(a.program.key, b.program.key);
  // The leaf feeding the same program slot has the same role in both graphs.
  strictEqual(
    a.leaves.map((l) => l.shape.length).join(),
    b.leaves.map((l) => l.shape.length).join(),
  );
});

Deno.test("graphs a program can tell apart get different keys", () => {
  const x = leaf([2, 3], 1), y = leaf([2, 3], 2);
  const keys = [
    lowered(x.add(x)).program.key, // one input slot
    lowered(x.add(y)).program.key, // two slots
    lowered(x.mul(y)).program.key, // another op
    lowered(x.permute(1, 0)).program.key, // attributes
    lowered(x.reshape([3, 2])).program.key, // shape
    lowered(x.cast("float64")).program.key, // dtype
    lowered(x.add(y), x).program.key, // another output
    lowered(x, x.add(y)).program.key, // output order
  ];
  strictEqual(new Set(keys).size, keys.length, keys.join("\n"));
  const xx = lowered(x.add(x));
  strictEqual(xx.leaves.length, 1);
  notStrictEqual(xx.program, lowered(x.add(y)).program);
  strictEqual(lowered(x.add(y)).program.inputs.length, 2);
});
