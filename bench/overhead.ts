/**
 * Fixed costs of the CPU backend: the first RBN training step (trace, lower, schedule, render,
 * instantiate, first run) and a cached step's overhead over its kernels.
 *
 * Usage: `deno task bench:overhead [--runs 5] [--shape 32,64,32,32] [--json]`.
 *
 * A first step happens once per process, so each first-step figure is the median over `--runs`
 * fresh processes: one kind times `jit`'s first call as a whole, the other the same work phase
 * by phase (each phase the first time this process does it). Cached steps are timed in this
 * process, as medians of batches: the graph build alone, the kernels alone (the compiled
 * program run on prepared buffers) and the whole step; the rest is realize's overhead.
 *
 * @module
 */

import { backendStats, getBackend, jit, type Tensor } from "../mod.ts";
import type { Backend } from "../core/backend.ts";
import { renderKernel } from "../backends/cpu/render.ts";
import type { Node } from "../core/ir.ts";
import { lower } from "../core/program.ts";
import { isRealized, storageOf } from "../core/realize.ts";
import { schedule } from "../core/schedule.ts";
import { rbnForwardBackward, type RbnInputs, rbnInputs } from "./rbn_model.ts";

const BACKEND = "cpu";

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const nodesOf = (ts: readonly Tensor[]): Node[] => ts.map((t) => t.node);

/** Buffers and compiled program of one step graph, to run its kernels without realize. */
async function prepared(backend: Backend, outs: readonly Tensor[]) {
  const { program, leaves } = lower(nodesOf(outs), isRealized);
  const exe = backend.compile(program);
  const inputs = await Promise.all(leaves.map((l) => storageOf(l)!.bufferOn(backend)));
  const outputs = outs.map((t) => backend.alloc(t.dtype, t.size));
  return {
    run: () => exe.run(inputs, outputs),
    free: () => outputs.forEach((b) => backend.free(b)),
  };
}

/** First step, phase by phase, in this (fresh) process; milliseconds. */
async function firstStepPhases(shape: number[]): Promise<Record<string, number>> {
  const backend = await getBackend(BACKEND);
  const inputs = await rbnInputs(shape, BACKEND);
  let t = performance.now();
  const lap = () => {
    const now = performance.now(), dt = now - t;
    t = now;
    return dt;
  };
  const outs = rbnForwardBackward(inputs);
  const trace = lap();
  const { program } = lower(nodesOf(outs), isRealized);
  const lowerMs = lap();
  const sched = schedule(program);
  const scheduleMs = lap();
  const sources = sched.kernels.map((k) => renderKernel(k, sched.buffers));
  const render = lap();
  for (const src of sources) new Function("bufs", "start", "end", src);
  const instantiate = lap();
  // The backend's own compile repeats schedule and render (now warm) and instantiates.
  const step = await prepared(backend, outs);
  const compile = lap();
  await step.run();
  const run = lap();
  step.free();
  return {
    trace,
    lower: lowerMs,
    schedule: scheduleMs,
    render,
    instantiate,
    "backend compile (warm)": compile,
    "first run": run,
    kernels: sched.kernels.length,
  };
}

/** The first `jit` call as a whole, in this (fresh) process; milliseconds. */
async function firstStepWhole(shape: number[]): Promise<Record<string, number>> {
  const inputs = await rbnInputs(shape, BACKEND);
  const before = (await backendStats(BACKEND)).kernelsCompiled;
  const step = jit(() => rbnForwardBackward(inputs));
  const t0 = performance.now();
  const outs = await step();
  const total = performance.now() - t0;
  for (const o of outs) o.dispose();
  return { total, compiled: (await backendStats(BACKEND)).kernelsCompiled - before };
}

/**
 * Median milliseconds per call of each of `fns`, over `batches` rounds of `n` calls each; the
 * functions take turns within a round, so load that changes over time hits them alike.
 */
async function perCall(fns: (() => unknown)[], n: number, batches = 15): Promise<number[]> {
  const times: number[][] = fns.map(() => []);
  for (let b = 0; b < batches; b++) {
    for (let f = 0; f < fns.length; f++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fns[f]();
      times[f].push((performance.now() - t0) / n);
    }
  }
  return times.map(median);
}

/** A cached step split into graph build, kernels and realize overhead; milliseconds. */
async function cachedStep(shape: number[], n: number): Promise<Record<string, number>> {
  const backend = await getBackend(BACKEND);
  const inputs: RbnInputs = await rbnInputs(shape, BACKEND);
  const step = jit(() => rbnForwardBackward(inputs));
  const whole = async () => {
    for (const o of await step()) o.dispose();
  };
  const kernels = await prepared(backend, rbnForwardBackward(inputs));
  const build = () => rbnForwardBackward(inputs);
  // Warm up every path (V8 optimizes the hot functions; workers start).
  const warm = performance.now();
  while (performance.now() - warm < 1500) await perCall([whole, kernels.run, build], 1, 1);
  const [total, buildMs, run] = await perCall([whole, build, kernels.run], n);
  kernels.free();
  return { total, build: buildMs, kernels: run, "realize overhead": total - buildMs - run };
}

async function child(mode: string, shape: number[]): Promise<Record<string, number>> {
  const self = new URL(import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", self, "--child", mode, "--shape", shape.join()],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`bench/overhead: the ${mode} child failed`);
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

function medians(rows: Record<string, number>[]): Record<string, number> {
  return Object.fromEntries(Object.keys(rows[0]).map((k) => [k, median(rows.map((r) => r[k]))]));
}

function show(title: string, row: Record<string, number>, digits = 2): void {
  console.log(title);
  for (const [k, v] of Object.entries(row)) {
    console.log(`  ${k.padEnd(24)} ${v.toFixed(Number.isInteger(v) ? 0 : digits).padStart(10)}`);
  }
}

if (import.meta.main) {
  const shape = (arg("shape") ?? "32,64,32,32").split(",").map(Number);
  const childMode = arg("child");
  if (childMode !== undefined) {
    const row = childMode === "phases" ? await firstStepPhases(shape) : await firstStepWhole(shape);
    console.log(JSON.stringify(row));
  } else {
    const runs = Number(arg("runs") ?? 5);
    const whole: Record<string, number>[] = [], phases: Record<string, number>[] = [];
    for (let i = 0; i < runs; i++) {
      whole.push(await child("whole", shape));
      phases.push(await child("phases", shape));
    }
    const result = {
      shape,
      runs,
      firstStep: medians(whole),
      firstStepPhases: medians(phases),
      cachedTiny: await cachedStep([2, 2, 2, 2], 200),
      cachedLarge: await cachedStep(shape, 3),
    };
    if (Deno.args.includes("--json")) console.log(JSON.stringify(result));
    else {
      const s = shape.join("·");
      console.log(`RBN forward+backward, float32, ${BACKEND}; medians (ms) of ${runs} processes`);
      show(`first step at ${s} (jit, fresh process)`, result.firstStep, 1);
      show(`first step at ${s}, phase by phase (fresh process)`, result.firstStepPhases, 1);
      show("cached step at 2·2·2·2", result.cachedTiny, 4);
      show(`cached step at ${s}`, result.cachedLarge, 2);
    }
  }
}
