#!/usr/bin/env bash
# `npm test`: sets up whatever is missing (npm packages, Docker engine, registries, stand-in base
# images), checks the bundle, types and lint, runs the unit tests once, then the end-to-end tests
# once per image store of Debian sid's Docker engine: classic (GitHub's ubuntu-24.04 runners) and
# containerd (Docker 29 installs, Docker Desktop, ubuntu-26.04 runners).
#   LAMBDA_STACK_IMAGE_STORE=classic npm test     the e2e tests on one store only
#   LAMBDA_STACK_ENGINE=system npm test           on the engine that already answers, as it is
set -euo pipefail
cd "$(dirname "$0")/.."

[ -d node_modules/.bin ] || npm ci --no-audit --no-fund

if [ "${LAMBDA_STACK_ENGINE:-sid}" = system ]; then
  stores=(as-found)
else
  read -r -a stores <<< "${LAMBDA_STACK_IMAGE_STORE:-classic containerd}"
fi
state_dir=$(node -p 'require("./stack/topology.json").stateDir')

# Brings the stack up on one store (nothing to do when it already runs that store).
stack_on() {
  if [ "$1" = as-found ]; then
    (unset LAMBDA_STACK_IMAGE_STORE; bash stack/setup.sh)
  else
    LAMBDA_STACK_IMAGE_STORE=$1 bash stack/setup.sh
  fi
  # shellcheck disable=SC1091
  source "$state_dir/stack.env"
}

stack_on "${stores[0]}"

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
for store in "${stores[@]}"; do
  stack_on "$store"
  echo "== end-to-end tests on $(docker version --format 'Docker {{.Server.Version}}'), $LAMBDA_STACK_IMAGE_STORE image store (real engine, registry and AWS stand-in)"
  # --forceExit: once every test has finished, a handle left open (a server or socket some
  # suite did not close; seen once, on the containerd store) must not hold CI until its time-out.
  NODE_OPTIONS=--experimental-vm-modules npx jest --selectProjects e2e --runInBand --forceExit \
    --json --outputFile "$results/e2e-$LAMBDA_STACK_IMAGE_STORE.json" || status=1
done

# One line per run, then one closing line over all of them, in the plain form CI reads.
node -e '
  const fs = require("fs");
  const path = require("path");
  let passed = 0, failed = 0, skipped = 0;
  const files = fs.readdirSync(process.argv[1]).sort().map(f => path.join(process.argv[1], f));
  if (!files.some(f => f.endsWith("unit.json"))) failed += 1;
  for (const file of files) {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    const f = r.numFailedTests + r.numRuntimeErrorTestSuites;
    const s = r.numPendingTests + r.numTodoTests;
    console.log(`   ${path.basename(file, ".json")} = ${r.numPassedTests} passed, ${f} failed` + (s ? `, ${s} skipped` : ""));
    passed += r.numPassedTests; failed += f; skipped += s;
  }
  console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$results"
rm -rf "$results"
exit $status
