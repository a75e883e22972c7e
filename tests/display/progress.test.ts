import assert from "node:assert/strict";
import { ProgressLine, type ProgressOptions } from "../../display/progress.ts";

/** A progress line writing into an array, on a clock advanced by hand. */
function harness(opts: Partial<ProgressOptions> & { isTerminal: boolean }) {
  const out: string[] = [];
  let ms = 0;
  const line = new ProgressLine({
    total: 4,
    label: "BN epoch 1/2",
    itemsPerStep: 64,
    write: (s) => out.push(s),
    now: () => ms,
    ...opts,
  });
  return { out, line, advance: (d: number) => (ms += d) };
}

Deno.test("ProgressLine", async (t) => {
  await t.step("on a terminal each step redraws the line in place", () => {
    const { out, line, advance } = harness({ isTerminal: true });
    for (const loss of [2.5, 2, 1.5]) advance(500), line.step(loss);
    assert.equal(out.length, 3);
    for (const s of out) assert.ok(s.startsWith("\r\x1b[2K") && !s.includes("\n"), s);
    // 3 steps of 64 images in 1.5 s: 128 img/s; 0.5 s per step, one step left.
    assert.equal(out[2], "\r\x1b[2KBN epoch 1/2  3/4  loss 1.5000  128 img/s  ETA 1 s");
    advance(500), line.step(1);
    line.done("loss 1.7500  test acc 80.00%");
    assert.equal(out.at(-1), "\r\x1b[2KBN epoch 1/2  loss 1.7500  test acc 80.00%\n");
    assert.equal(out.join("").split("\n").length, 2); // one line in the end
  });

  await t.step("in a log steps write nothing and done writes one line", () => {
    const { out, line, advance } = harness({ isTerminal: false });
    for (let i = 0; i < 4; i++) advance(250), line.step(1);
    assert.deepEqual(out, []);
    line.done("loss 1.0000");
    line.done("twice");
    assert.deepEqual(out, ["BN epoch 1/2  loss 1.0000\n"]);
  });

  await t.step("redraws at most every minRedrawMs, and always on the last step", () => {
    const { out, line, advance } = harness({ isTerminal: true, minRedrawMs: 100, total: 10 });
    for (let i = 0; i < 10; i++) advance(30), line.step();
    // Drawn at 30, 150, 270 ms (gaps of at least 100 ms), and at step 10.
    assert.deepEqual(out.map((s) => s.split("  ")[1]), ["1/10", "5/10", "9/10", "10/10"]);
  });

  await t.step("without a summary the final line is the progress line; ETA in minutes", () => {
    const { out, line, advance } = harness({ isTerminal: false, total: 100, itemsPerStep: 1 });
    advance(5000), line.step(0.25);
    assert.equal(line.line(), "BN epoch 1/2  1/100  loss 0.2500  0.2 img/s  ETA 8 min 15 s");
    line.done();
    assert.deepEqual(out, [line.line() + "\n"]);
    assert.throws(() => line.step(), /already done/);
  });

  await t.step("throughput and time left count from startedAt", () => {
    const { line, advance } = harness({ isTerminal: false, startedAt: -1000 });
    advance(1000), line.step(); // 64 images in 2 s since the loop began
    assert.equal(line.line(), "BN epoch 1/2  1/4  32 img/s  ETA 6 s");
  });

  await t.step("rejects a bad total", () => {
    assert.throws(() => new ProgressLine({ total: -1 }), /total must be a non-negative integer/);
  });
});
