#!/usr/bin/env bash
# `npm run demo`: deploys examples/hello-node end to end against the local AWS stand-in, setting up
# whatever is missing first (npm packages, Docker engine, registries, stand-in base images).
set -euo pipefail
cd "$(dirname "$0")/.."
# The action runs on Node 24 on GitHub's runners; so does the demo.
# shellcheck source=../stack/node.sh
source stack/node.sh
[ -d node_modules/.bin ] || npm ci --no-audit --no-fund
bash stack/setup.sh
# shellcheck disable=SC1091
source /var/lib/lambda-image-deploy-stack/stack.env
export NODE_EXTRA_CA_CERTS
exec npx tsx scripts/demo.ts "$@"
