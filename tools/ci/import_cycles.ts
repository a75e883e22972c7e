/**
 * Fails when the project's own modules import each other in a circle (type-only imports
 * included): dependencies must point one way, down towards core/.
 *
 * Usage: `deno run --allow-run --allow-read tools/ci/import_cycles.ts [entry ...]`
 *
 * @module
 */

const entries = Deno.args.length > 0
  ? Deno.args
  : ["mod.ts", "nn/mod.ts", "display/mod.ts", "onnx/mod.ts", "testing/mod.ts"];
const root = new URL("../../", import.meta.url).href;

interface InfoModule {
  specifier: string;
  dependencies?: {
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

const ours = (s: string) => s.startsWith(root) && !s.includes("/node_modules/");
const edges = new Map<string, Set<string>>();
for (const entry of entries) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
  }).output();
  if (!out.success) {
    throw new Error(
      `deno info ${entry} failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: InfoModule[];
  };
  for (const m of info.modules) {
    if (!ours(m.specifier)) continue;
    const to = edges.get(m.specifier) ?? new Set<string>();
    for (const d of m.dependencies ?? []) {
      for (const s of [d.code?.specifier, d.type?.specifier]) {
        if (s && ours(s)) to.add(s);
      }
    }
    edges.set(m.specifier, to);
  }
}

// Tarjan's strongly connected components: every component of more than one module is a circle.
const index = new Map<string, number>();
const low = new Map<string, number>();
const stack: string[] = [];
const onStack = new Set<string>();
const circles: string[][] = [];
function visit(v: string): void {
  index.set(v, index.size);
  low.set(v, index.get(v)!);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v) ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v)!, low.get(w)!));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
  }
  if (low.get(v) !== index.get(v)) return;
  const component: string[] = [];
  let w: string;
  do {
    w = stack.pop()!;
    onStack.delete(w);
    component.push(w.slice(root.length));
  } while (w !== v);
  if (component.length > 1) circles.push(component.sort());
}
for (const v of edges.keys()) if (!index.has(v)) visit(v);

if (circles.length > 0) {
  for (const c of circles) console.error(`import circle: ${c.join(" ↔ ")}`);
  Deno.exit(1);
}
console.log(`import circles: none among ${edges.size} modules`);
