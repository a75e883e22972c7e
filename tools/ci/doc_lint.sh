#!/usr/bin/env bash
# `deno doc --lint` over every entry point in deno.json's exports. Findings inside third-party
# declarations (fast-check's types, which the testing module re-exports) are reported but do not
# fail the check: only findings in this repository's own files do.
set -uo pipefail
cd "$(dirname "$0")/../.."
mapfile -t entries < <(deno eval --quiet \
  'for (const p of Object.values(JSON.parse(Deno.readTextFileSync("deno.json")).exports)) console.log(p)')
out=$(NO_COLOR=1 deno doc --lint "${entries[@]}" 2>&1)
status=$?
locations=$(printf '%s\n' "$out" | grep -E '^ *--> ' | sed -E 's/^ *--> //')
ours=$(printf '%s\n' "$locations" | grep -F "$PWD/" | grep -v '/node_modules/' || true)
if [ -n "$ours" ]; then
  printf '%s\n' "$out"
  echo "doc lint: problems in this repository's files:" >&2
  printf '  %s\n' $ours >&2
  exit 1
fi
if [ "$status" -ne 0 ] && [ -z "$locations" ]; then
  printf '%s\n' "$out"
  exit "$status"
fi
n=$(printf '%s\n' "$locations" | grep -c . || true)
echo "doc lint: ${#entries[@]} entry points clean (${n} findings in third-party declarations ignored)"
