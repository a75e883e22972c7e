import assert from "node:assert/strict";
import { grad, Tensor } from "../../mod.ts";
import { toposort } from "../../core/ir.ts";
import { graphDot, graphPicture, renderDot, schedulePicture } from "../../display/graph_svg.ts";
import { lower } from "../../core/program.ts";
import { isRealized } from "../../core/realize.ts";
import { schedule } from "../../core/schedule.ts";

Deno.test("graph pictures", async (t) => {
  const x = Tensor.from([1, 2, 3]);
  const f = (x: Tensor) => x.sin().mul(x).sum();
  const y = f(x), dy = grad(f)(x);
  const order = toposort([y.node, dy.node]);

  await t.step("DOT has one vertex per node and one edge per operand", () => {
    const dot = graphDot({ y, dy }, { inputs: { x } });
    for (const n of order) assert.match(dot, new RegExp(`\\bn${n.id} \\[label=`));
    const operandEdges = order.reduce((k, n) => k + n.inputs.length, 0);
    assert.equal(dot.match(/ -> n\d+;/g)?.length, operandEdges);
    assert.match(dot, /label="x\\nfloat32\[3\]"/);
    assert.match(dot, /out0 \[label="y"/);
  });

  await t.step("clusters wrap their nodes", () => {
    const members = toposort([y.node]).filter((n) => n.op === "sin");
    assert.equal(members.length, 1);
    const dot = graphDot([y], { clusters: [{ label: "kernel 0", nodes: members }] });
    const cluster = dot.slice(dot.indexOf("subgraph cluster_0"));
    assert.match(cluster, /label="kernel 0"/);
    for (const n of members) assert.ok(cluster.includes(`n${n.id} [label=`));
  });

  await t.step("Graphviz lays it out: one SVG group per vertex", async () => {
    const fig = await graphPicture({ y, dy }, { inputs: { x } });
    const groups = fig.svg.match(/<g id="node\d+" class="node">/g)?.length;
    assert.equal(groups, order.length + 2); // graph nodes plus the two output labels
    const bundle = fig.toMimeBundle();
    assert.deepEqual(Object.keys(bundle).sort(), [
      "image/svg+xml",
      "text/plain",
      "text/vnd.graphviz",
    ]);
    assert.match(bundle["text/plain"], /^a = buffer/);
  });

  await t.step("the schedule picture has one box per kernel holding its fused nodes", async () => {
    const a = Tensor.rand([4, 8], { seed: 1 }), w = Tensor.rand([8, 3], { seed: 2 });
    const out = a.matmul(w).relu().sum(1).add(1);
    const fig = await schedulePicture({ out }, { inputs: { a, w } });
    const { program } = lower([out.node], isRealized);
    const kernels = schedule(program).kernels;
    assert.ok(kernels.length >= 2);
    assert.equal(fig.svg.match(/class="cluster"/g)?.length, kernels.length);
    for (const k of kernels) {
      const body = fig.dot.split(`subgraph cluster_k${k.id} {`)[1].split("\n  }")[0];
      for (const i of k.nodes) {
        if (program.nodes[i].op !== "input") assert.match(body, new RegExp(`k${k.id}_${i} \\[`));
      }
    }
    assert.match(fig.dot, /label="a\\nfloat32\[4,8\]"/);
    assert.equal(fig.text.split("\n").length, kernels.length);
  });

  await t.step("renderDot reports Graphviz errors", async () => {
    await assert.rejects(renderDot("digraph { a -> }"), /renderDot: Graphviz rejected/);
  });
});
