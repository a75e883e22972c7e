/**
 * An assertion for error messages: `fn` throws an `Error` whose message contains every
 * fragment (in any order).
 *
 * @module
 */

import { strict as assert } from "node:assert";

/** Asserts that `fn` throws an `Error` whose message contains each of `fragments`. */
export function throwsWith(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof Error, "expected an Error");
    for (const f of fragments) {
      assert.ok(e.message.includes(f), `message ${JSON.stringify(e.message)} lacks ${f}`);
    }
    return true;
  });
}
