#!/usr/bin/env bash
# `npm test`: sets up whatever is missing (Node 24, npm packages, Docker engine, registries, stand-in
# base images), checks the bundle, types and lint, runs the unit tests once, then the end-to-end
# tests on each image store of Debian sid's Docker engine: classic (GitHub's ubuntu-24.04 runners)
# and containerd (Docker 29 installs, Docker Desktop, ubuntu-26.04 runners).
#
# The e2e suites say by where they live what they depend on (jest.config.js): engine/ and serial/
# run on every store, aws/ once, on the first store. serial/ suites change something machine-wide
# and run one at a time; the others run in parallel, LAMBDA_E2E_WORKERS at once (default 3).
# Jest's JSON for each run, the assertion counts and the phase times stay in test-results/, and
# the end of the output has the phase times and the ten slowest suites.
#   LAMBDA_STACK_IMAGE_STORE=classic npm test     the e2e tests on one store only
#   LAMBDA_STACK_ENGINE=system npm test           on the engine that already answers, as it is
set -euo pipefail
cd "$(dirname "$0")/.."
results=$PWD/test-results
rm -rf "$results"
mkdir -p "$results"
export LAMBDA_E2E_ASSERTIONS_DIR=$results
workers=${LAMBDA_E2E_WORKERS:-3}

# phase NAME COMMAND...: runs COMMAND, records how long it took; a failure is counted, not fatal.
status=0
phase() {
  local name=$1 started=$SECONDS code=0
  shift
  "$@" || code=$?
  printf '%s\t%s\t%s\n' "$name" $((SECONDS - started)) "$code" >> "$results/phases.tsv"
  [ "$code" -eq 0 ] || status=1
  return 0
}

set_up() {
  # shellcheck source=../stack/node.sh
  source stack/node.sh
  [ -d node_modules/.bin ] || npm ci --no-audit --no-fund
  stack_on "${stores[0]}"
}

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

echo "== set-up"
phase set-up set_up
[ "$status" -eq 0 ] || { echo "set-up failed" >&2; exit 1; }
node --version > "$results/node-version"
echo "== tests run on Node $(node --version)"

static_checks() {
  echo "== dist/ matches src/"
  bash scripts/check-dist.sh
  echo "== typecheck, lint and format"
  npx tsc --noEmit
  npx eslint .
  npx prettier --check --log-level warn .
}
phase static-checks static_checks

jest() {
  NODE_OPTIONS=--experimental-vm-modules npx jest "$@"
}
echo "== unit tests"
phase unit jest --selectProjects unit --json --outputFile "$results/unit.json"

e2e_on() {
  local store=$1 first=$2
  stack_on "$store"
  store=$LAMBDA_STACK_IMAGE_STORE
  echo "== end-to-end tests on $(docker version --format 'Docker {{.Server.Version}}'), $store image store (real engine, registry and AWS stand-in)"
  export LAMBDA_E2E_STORE=$store
  # Machine-wide suites first, alone; then the rest side by side.
  local code=0
  jest --selectProjects e2e-serial --runInBand \
    --json --outputFile "$results/e2e-$store-serial.json" || code=1
  local projects=(e2e-engine)
  [ "$first" = yes ] && projects+=(e2e-aws)
  jest --selectProjects "${projects[@]}" --maxWorkers "$workers" \
    --json --outputFile "$results/e2e-$store-parallel.json" || code=1
  return $code
}
first=yes
for store in "${stores[@]}"; do
  phase "e2e $store" e2e_on "$store" "$first"
  first=no
done

node scripts/test-report.mjs "$results"
exit $status
