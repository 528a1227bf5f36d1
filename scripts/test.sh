#!/usr/bin/env bash
# `npm test`: sets up whatever is missing (npm packages, Docker engine, registries, stand-in base
# images), checks the bundle, types and lint, then runs the unit and the end-to-end tests.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/.bin ] || npm ci --no-audit --no-fund

bash stack/setup.sh
# shellcheck disable=SC1091
source /var/lib/lambda-image-deploy-stack/stack.env

echo "== dist/ matches src/"
bash scripts/check-dist.sh
echo "== typecheck and lint"
npx tsc --noEmit
npx eslint .

results=$(mktemp -d)
status=0
echo "== unit tests"
NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects unit \
  --json --outputFile "$results/unit.json" || status=1
echo "== end-to-end tests (real Docker engine, registry and AWS stand-in)"
NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects e2e --runInBand \
  --json --outputFile "$results/e2e.json" || status=1

# One closing line over both runs, in the plain form CI reads.
node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, skipped = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { failed += 1; continue }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
    skipped += r.numPendingTests + r.numTodoTests;
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results/unit.json" "$results/e2e.json"
rm -rf "$results"
exit $status
