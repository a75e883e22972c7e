/**
 * A progress line for long loops a person waits for (training epochs): on a terminal it redraws
 * in place after every step (throughput, loss, time left); in a log (CI, a file, a notebook) it
 * writes one line when the loop ends.
 *
 * @module
 */

/** Options of {@link ProgressLine}. */
export interface ProgressOptions {
  /** Steps the loop will take (e.g. batches in an epoch). */
  total: number;
  /** What the line is about, at its start (e.g. `BN epoch 1/2`). */
  label?: string;
  /** Items per step (e.g. the batch size), for a throughput in items per second. */
  itemsPerStep?: number;
  /** Name of the items in the throughput (default `img`: `97 img/s`). */
  itemName?: string;
  /** Where the text goes (default: standard output). */
  write?: (text: string) => void;
  /** Whether the output is a terminal that can redraw (default: `Deno.stdout.isTerminal()`). */
  isTerminal?: boolean;
  /** A clock in milliseconds (default `performance.now`). */
  now?: () => number;
  /** When the loop began, on that clock (default: when the line is made). */
  startedAt?: number;
  /** Least time between two redraws on a terminal, in milliseconds (default 100). */
  minRedrawMs?: number;
}

/** The part of Deno's API the defaults use, typed here so browser builds need no Deno types. */
interface DenoStdout {
  stdout: { isTerminal(): boolean; writeSync(p: Uint8Array): number };
}

function denoStdout(): DenoStdout["stdout"] | undefined {
  return (globalThis as { Deno?: DenoStdout }).Deno?.stdout;
}

function defaultWrite(text: string): void {
  const out = denoStdout();
  if (out === undefined) {
    // No terminal to redraw on: lines only.
    for (const line of text.split("\n").slice(0, -1)) console.log(line);
    return;
  }
  let bytes = new TextEncoder().encode(text);
  while (bytes.length > 0) bytes = bytes.subarray(out.writeSync(bytes));
}

/** Carriage return and erase-line: the next text replaces the line the cursor is on. */
const REDRAW = "\r\x1b[2K";

/** `42 s`, `3 min 05 s`. */
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/**
 * A progress line: call {@link ProgressLine.step} after each step and {@link ProgressLine.done}
 * once at the end.
 *
 * On a terminal every step redraws the line in place (`\r` and erase-line, at most every
 * `minRedrawMs`), e.g. `BN epoch 1/2  12/30  loss 1.2345  97 img/s  ETA 14 s`, and `done`
 * replaces it with the final line. Elsewhere steps write nothing and `done` writes the final
 * line, so a log holds one line per loop.
 *
 * @example
 * ```ts
 * import { ProgressLine } from "@symgrad/symgrad/display";
 * const lines: string[] = [];
 * const write = (s: string) => void lines.push(s);
 * const bar = new ProgressLine({ total: 3, label: "epoch 1", write, isTerminal: false });
 * for (const loss of [2.3, 1.7, 1.2]) bar.step(loss);
 * bar.done("loss 1.7333");
 * console.log(lines); // [ "epoch 1  loss 1.7333\n" ]
 * ```
 */
export class ProgressLine {
  readonly #opts: ProgressOptions;
  readonly #write: (text: string) => void;
  readonly #terminal: boolean;
  readonly #now: () => number;
  readonly #start: number;
  #steps = 0;
  #lastLoss = NaN;
  #lastDraw = -Infinity;
  #finished = false;

  /** Starts the clock; nothing is written yet. */
  constructor(opts: ProgressOptions) {
    if (!(Number.isInteger(opts.total) && opts.total >= 0)) {
      throw new Error(`ProgressLine: total must be a non-negative integer, got ${opts.total}`);
    }
    this.#opts = opts;
    this.#write = opts.write ?? defaultWrite;
    this.#terminal = opts.isTerminal ?? denoStdout()?.isTerminal() ?? false;
    this.#now = opts.now ?? (() => performance.now());
    this.#start = opts.startedAt ?? this.#now();
  }

  /** Steps taken so far. */
  get steps(): number {
    return this.#steps;
  }

  /** The line as it would be drawn now: label, steps, loss, throughput and time left. */
  line(): string {
    const { total, label, itemsPerStep, itemName = "img" } = this.#opts;
    const seconds = (this.#now() - this.#start) / 1000;
    const parts = label ? [label] : [];
    parts.push(`${this.#steps}/${total}`);
    if (!Number.isNaN(this.#lastLoss)) parts.push(`loss ${this.#lastLoss.toFixed(4)}`);
    if (itemsPerStep !== undefined && seconds > 0) {
      const rate = (this.#steps * itemsPerStep) / seconds;
      parts.push(`${rate.toFixed(rate < 10 ? 1 : 0)} ${itemName}/s`);
    }
    if (this.#steps > 0) {
      parts.push(`ETA ${duration((seconds / this.#steps) * (total - this.#steps))}`);
    }
    return parts.join("  ");
  }

  /** One more step done, with its loss (if any); redraws on a terminal. */
  step(loss?: number): void {
    if (this.#finished) throw new Error("ProgressLine.step: the line is already done");
    this.#steps++;
    if (loss !== undefined) this.#lastLoss = loss;
    if (!this.#terminal) return;
    const t = this.#now();
    if (t - this.#lastDraw < (this.#opts.minRedrawMs ?? 100) && this.#steps < this.#opts.total) {
      return;
    }
    this.#lastDraw = t;
    this.#write(REDRAW + this.line());
  }

  /**
   * Ends the line: writes `label  summary` (or the progress line, without a summary) followed
   * by a newline, in place of the redrawn line on a terminal.
   */
  done(summary?: string): void {
    if (this.#finished) return;
    this.#finished = true;
    const label = this.#opts.label;
    const text = summary === undefined ? this.line() : label ? `${label}  ${summary}` : summary;
    this.#write((this.#terminal ? REDRAW : "") + text + "\n");
  }
}
