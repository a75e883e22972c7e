/**
 * Executes every notebook under `examples/notebooks/` with `jupyter nbconvert --execute` and
 * Deno's kernel (kernelspec written by `kernelspec.ts` into `.jupyter-data/`), then checks that
 * no cell failed, that the outputs include the expected MIME types, and that every picture
 * survives the export to HTML (`export_check.ts`). Exits non-zero on failure.
 *
 * Usage: `deno task notebooks [notebook.ipynb ...]`
 *
 * @module
 */

import { checkNotebook, type Notebook } from "./check_outputs.ts";
import { checkExportedHtml, checkPictureOutputs, exportHtml } from "./export_check.ts";
import { DEFAULT_DATA_DIR, writeKernelspec } from "./kernelspec.ts";

const root = new URL("../../", import.meta.url).pathname;
const here = new URL(".", import.meta.url).pathname;
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
/** Runs `path` once; returns the problems found (empty on success) and a summary. */
async function execute(path: string, name: string): Promise<{ problems: string[]; note: string }> {
  const run = await new Deno.Command(jupyter, {
    args: [
      "nbconvert",
      "--to",
      "notebook",
      // nbconvert's executor, waiting past each cell's idle status for late outputs.
      '--NotebookExporter.preprocessors=["late_outputs.LateOutputExecutePreprocessor"]',
      "--LateOutputExecutePreprocessor.enabled=True",
      "--LateOutputExecutePreprocessor.timeout=600",
      "--LateOutputExecutePreprocessor.kernel_name=deno",
      "--output-dir",
      outDir,
      path,
    ],
    env: { JUPYTER_DATA_DIR: DEFAULT_DATA_DIR, PYTHONPATH: here },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(run.stderr);
  for (const line of stderr.split("\n")) {
    if (/arrived after its idle/.test(line)) console.warn(line);
  }
  if (!run.success) {
    const log = stderr.split("\n").slice(-40).join("\n");
    return { problems: [`nbconvert exited with ${run.code}:\n${log}`], note: "" };
  }
  const executed = JSON.parse(await Deno.readTextFile(`${outDir}/${name}`)) as Notebook;
  const report = checkNotebook(executed);
  const problems = [...report.problems, ...checkPictureOutputs(executed)];
  // The export is checked once every picture is there (a lost output is retried first).
  if (problems.length === 0) {
    const exported = await exportHtml(jupyter, `${outDir}/${name}`, outDir);
    if ("error" in exported) problems.push(exported.error);
    else problems.push(...checkExportedHtml(executed, exported.html));
  }
  const note =
    `${report.codeCells} code cells, outputs ${[...report.mimeTypes].sort().join(", ")}` +
    (problems.length === 0 ? "; every picture survives the HTML export" : "");
  return { problems, note };
}

// Deno's kernel can report a cell idle before its execute_result reaches nbconvert, which then
// drops that output (a kernel-side ordering race; interactive front ends still show it).
// late_outputs.py waits for such outputs; a run that still misses one is retried, while a
// failing cell fails at once.
const ATTEMPTS = 3;
let failed = 0;
for (const path of await notebooks()) {
  const name = path.split("/").pop()!;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const start = performance.now();
    const { problems, note } = await execute(path, name);
    const seconds = ((performance.now() - start) / 1000).toFixed(1);
    const onlyMissing = problems.length > 0 &&
      problems.every((p) => /^no (picture )?output/.test(p));
    if (problems.length === 0) {
      console.log(`ok   ${name} (${seconds} s): ${note}`);
    } else if (onlyMissing && attempt < ATTEMPTS) {
      console.warn(`retry ${name} (${seconds} s): ${problems.join("; ")}`);
      continue;
    } else {
      failed++;
      console.error(`FAIL ${name} (${seconds} s):\n  ${problems.join("\n  ")}`);
    }
    break;
  }
}
if (failed > 0) Deno.exit(1);
