import assert from "node:assert/strict";
import { checkNotebook, type Notebook } from "../../tools/jupyter/check_outputs.ts";
import { KERNEL_NAME, writeKernelspec } from "../../tools/jupyter/kernelspec.ts";

const cell = (outputs: NonNullable<Notebook["cells"][number]["outputs"]>) => ({
  cell_type: "code",
  source: ["const x = 1;\n", "x"],
  outputs,
});

Deno.test("notebook checks", async (t) => {
  await t.step("passes when the outputs hold every required MIME type", () => {
    const report = checkNotebook({
      cells: [
        { cell_type: "markdown", source: "# title" },
        cell([{ output_type: "execute_result", data: { "text/html": "<b/>", "text/plain": "" } }]),
        cell([{ output_type: "display_data", data: { "image/svg+xml": "<svg/>" } }]),
      ],
    });
    assert.deepEqual(report.problems, []);
    assert.equal(report.codeCells, 2);
  });

  await t.step("reports failing cells and missing MIME types", () => {
    const report = checkNotebook({
      cells: [cell([{ output_type: "error", ename: "TypeError", evalue: "x is not a function" }])],
    });
    assert.deepEqual(report.problems, [
      "cell 0 (const x = 1;) raised TypeError: x is not a function",
      "no output of MIME type text/html",
      "no output of MIME type image/svg+xml",
    ]);
  });

  await t.step("the tour notebook asks for the Deno kernel and has code cells", async () => {
    const url = new URL("../../examples/notebooks/rbn_tour.ipynb", import.meta.url);
    const nb = JSON.parse(await Deno.readTextFile(url));
    assert.equal(nb.metadata.kernelspec.name, KERNEL_NAME);
    assert.ok(nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code").length >= 5);
  });

  await t.step("the kernelspec runs this Deno binary's kernel", async () => {
    const dir = await Deno.makeTempDir({ dir: "/tmp" });
    try {
      const path = await writeKernelspec(dir, "/opt/deno");
      assert.equal(path, `${dir}/kernels/${KERNEL_NAME}/kernel.json`);
      const spec = JSON.parse(await Deno.readTextFile(path));
      assert.deepEqual(spec.argv, [
        "/opt/deno",
        "jupyter",
        "--kernel",
        "--conn",
        "{connection_file}",
      ]);
      assert.equal(spec.language, "typescript");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
