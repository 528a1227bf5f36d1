#!/usr/bin/env bash
# jest on Node 24 (stack/node.sh fetches it when the machine's node is older), with the ESM flag
# ts-jest needs. `npm run test:unit` is the fast loop; `npm run test:e2e` needs the stack up
# (`npm run stack`, or one `npm test`).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=../stack/node.sh
source stack/node.sh
export NODE_OPTIONS=--experimental-vm-modules
exec npx jest "$@"
