#!/usr/bin/env bash
# `npm run bench`: the performance figures of the issue "Performance" (see bench/RESULTS.md),
# against the local AWS stand-in. Sets up what is missing first: npm packages, the stack
# (Docker engine, buildx, registries, stand-in base images), the bundle and Debian's awscli,
# which the baseline (the hand-written deploy) uses.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash stack/setup.sh
# shellcheck disable=SC1091
source /var/lib/lambda-image-deploy-stack/stack.env
export NODE_EXTRA_CA_CERTS
[ -f dist/index.js ] || npm run package
if [ ! -x /usr/bin/aws ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends awscli > /dev/null
fi
exec npx tsx scripts/bench.ts "$@"
