/**
 * Executes every notebook under `examples/notebooks/` with `jupyter nbconvert --execute` and
 * Deno's kernel (kernelspec written by `kernelspec.ts` into `.jupyter-data/`), then checks that
 * no cell failed and that the outputs include the expected MIME types. Exits non-zero on failure.
 *
 * Usage: `deno task notebooks [notebook.ipynb ...]`
 *
 * @module
 */

import { checkNotebook, type Notebook } from "./check_outputs.ts";
import { DEFAULT_DATA_DIR, writeKernelspec } from "./kernelspec.ts";

const root = new URL("../../", import.meta.url).pathname;
const jupyter = Deno.env.get("JUPYTER") ?? "/usr/bin/jupyter";

async function notebooks(): Promise<string[]> {
  if (Deno.args.length > 0) return [...Deno.args];
  const dir = `${root}examples/notebooks`;
  const found: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name.endsWith(".ipynb")) found.push(`${dir}/${e.name}`);
  }
  return found.sort();
}

await writeKernelspec(DEFAULT_DATA_DIR);
const outDir = `${DEFAULT_DATA_DIR}executed`;
await Deno.mkdir(outDir, { recursive: true });
let failed = 0;
for (const path of await notebooks()) {
  const name = path.split("/").pop()!;
  const start = performance.now();
  const run = await new Deno.Command(jupyter, {
    args: [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.timeout=600",
      "--ExecutePreprocessor.kernel_name=deno",
      "--output-dir",
      outDir,
      path,
    ],
    env: { JUPYTER_DATA_DIR: DEFAULT_DATA_DIR },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = ((performance.now() - start) / 1000).toFixed(1);
  if (!run.success) {
    failed++;
    console.error(
      `FAIL ${name} (${seconds} s): nbconvert exited with ${run.code}`,
    );
    console.error(
      new TextDecoder().decode(run.stderr).split("\n").slice(-40).join("\n"),
    );
    continue;
  }
  const executed = JSON.parse(
    await Deno.readTextFile(`${outDir}/${name}`),
  ) as Notebook;
  const report = checkNotebook(executed);
  if (report.problems.length > 0) {
    failed++;
    console.error(
      `FAIL ${name} (${seconds} s):\n  ${report.problems.join("\n  ")}`,
    );
  } else {
    console.log(
      `ok   ${name} (${seconds} s): ${report.codeCells} code cells, outputs ${
        [...report.mimeTypes].sort().join(", ")
      }`,
    );
  }
}
if (failed > 0) Deno.exit(1);
