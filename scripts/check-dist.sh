#!/usr/bin/env bash
# dist/ is what runners execute; it must be exactly the bundle of today's src/.
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
