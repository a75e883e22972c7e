/**
 * Writes a Jupyter kernelspec for Deno's kernel under a data directory of our choosing (default
 * `.jupyter-data/` in the checkout), instead of `deno jupyter --install`, which writes into the
 * home folder. Jupyter finds it through `JUPYTER_DATA_DIR`.
 *
 * Usage: `deno run --allow-read --allow-write --allow-env tools/jupyter/kernelspec.ts [dataDir]`
 *
 * @module
 */

/** The kernel name notebooks refer to in `metadata.kernelspec.name`. */
export const KERNEL_NAME = "deno";

/** The default data directory: `.jupyter-data/` at the root of the checkout. */
export const DEFAULT_DATA_DIR: string = new URL("../../.jupyter-data/", import.meta.url).pathname;

/** Writes `<dataDir>/kernels/deno/kernel.json` running this Deno binary; returns its path. */
export async function writeKernelspec(
  dataDir: string = DEFAULT_DATA_DIR,
  denoPath: string = Deno.execPath(),
): Promise<string> {
  const dir = `${dataDir.replace(/\/$/, "")}/kernels/${KERNEL_NAME}`;
  await Deno.mkdir(dir, { recursive: true });
  const spec = {
    argv: [denoPath, "jupyter", "--kernel", "--conn", "{connection_file}"],
    display_name: "Deno",
    language: "typescript",
    // Keeps the "unstable" banner and colors out of captured outputs.
    env: { NO_COLOR: "1" },
  };
  const path = `${dir}/kernel.json`;
  await Deno.writeTextFile(path, JSON.stringify(spec, null, 2) + "\n");
  return path;
}

if (import.meta.main) {
  console.log(`wrote ${await writeKernelspec(Deno.args[0])}`);
}
