#!/usr/bin/env bash
# `npm run bench`: the performance figures of the issue "Performance" (see bench/RESULTS.md),
# against the local AWS stand-in, then the scaling figures of issue 18 (check phase on big task
# roots). `npm run bench -- --only main` or `--only scale` runs one part. Sets up what is missing
# first: npm packages, the stack (Docker engine, buildx, registries, stand-in base images), the
# bundle and Debian's awscli, which the baseline (the hand-written deploy) uses.
set -euo pipefail
cd "$(dirname "$0")/.."
# Node 24, as GitHub runs the action (fetched when the machine's node is older): the bench runs
# the action and the bare-node start-up floor with the node it runs on.
# shellcheck source=../stack/node.sh
source stack/node.sh
only=""
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only="${2:-}"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
case "$only" in
  "" | main | scale) ;;
  *) echo "--only takes main or scale, not '$only'" >&2; exit 2 ;;
esac
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash stack/setup.sh
# shellcheck disable=SC1091
source /var/lib/lambda-image-deploy-stack/stack.env
export NODE_EXTRA_CA_CERTS
status=0
if [ "$only" != scale ]; then
  [ -f dist/index.js ] || npm run package
  if [ ! -x /usr/bin/aws ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli > /dev/null
  fi
  npx tsx scripts/bench.ts "${args[@]}" || status=1
fi
if [ "$only" = main ]; then
  # scripts/bench.ts rewrites bench/RESULTS.md; put the last scaling figures back.
  npx tsx scripts/bench-scale.ts --render || status=1
else
  npx tsx scripts/bench-scale.ts || status=1
fi
# The reports are committed, and the test command checks every file's format.
npx prettier --write bench/RESULTS.md bench/results.json bench/scale-results.json > /dev/null || status=1
exit $status
