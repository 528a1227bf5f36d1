#!/usr/bin/env bash
# dist/ is what runners execute; it must be exactly the bundle of today's src/: index.js plus the
# parts it loads when a run needs them (NNN.index.js, split off at import() calls in src/), and
# the same for dist/cli/. Compared as whole folders, so a stale or missing part fails too (ncc
# does not empty its output folder, so `npm run package` removes dist/ first).
set -euo pipefail
cd "$(dirname "$0")/.."
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
npx ncc build src/index.ts -o "$fresh" --license licenses.txt --minify --quiet
npx ncc build src/cli.ts -o "$fresh/cli" --license licenses.txt --minify --quiet
if ! diff -r -q dist "$fresh" >/dev/null; then
  diff -r -q dist "$fresh" || true
  echo "dist/ is not the bundle of src/: run 'npm run package' and commit dist/." >&2
  exit 1
fi
echo "dist/ is up to date"
