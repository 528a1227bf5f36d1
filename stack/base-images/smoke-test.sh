#!/usr/bin/env bash
# Runs IMAGE as Lambda would: read-only root, tmpfs /tmp, non-root user, against the minimal
# Runtime API of runtime-api.mjs; prints the response to one event, fails without one.
# By default a Node.js handler is mounted on /var/task and `index.handler` passed as the command
# (for the nodejs stand-in itself); with --own-task the image's own /var/task and CMD are used.
#
#   bash stack/base-images/smoke-test.sh [--own-task] IMAGE [PLATFORM] [TIMEOUT_SECONDS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
own_task=0
if [ "${1:-}" = --own-task ]; then own_task=1; shift; fi
image=$1
platform=${2:-}
timeout=${3:-90}

dir=$(mktemp -d)
name=stand-in-smoke-$$
cleanup() {
  docker rm -f "$name" > /dev/null 2>&1 || true
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2> /dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
chmod 755 "$dir"
mkdir -m 755 "$dir/task"
cat > "$dir/task/index.mjs" << 'JS'
export const handler = async (event, context) => ({
  statusCode: 200,
  body: JSON.stringify({ echo: event, requestId: context.awsRequestId, arch: process.arch, node: process.version })
})
JS
chmod 644 "$dir/task/index.mjs"

node "$HERE/runtime-api.mjs" "$dir/port" '{"name":"smoke test"}' "$timeout" > "$dir/out" &
api_pid=$!
for _ in $(seq 50); do [ -s "$dir/port" ] && break; sleep 0.1; done
[ -s "$dir/port" ] || { echo "smoke-test: the Runtime API did not start" >&2; exit 1; }

task=(-v "$dir/task:/var/task:ro")
handler=(index.handler)
if [ "$own_task" = 1 ]; then task=() handler=(); fi
docker run -d --name "$name" ${platform:+--platform "$platform"} --network host \
  --read-only --tmpfs /tmp:size=512m --user 993:990 \
  "${task[@]}" -e AWS_LAMBDA_RUNTIME_API="127.0.0.1:$(cat "$dir/port")" \
  -e AWS_LAMBDA_FUNCTION_NAME=stand-in-smoke-test -e AWS_REGION=us-east-1 \
  -e AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128 -e AWS_LAMBDA_FUNCTION_VERSION='$LATEST' \
  "$image" "${handler[@]}" > /dev/null

status=0
wait "$api_pid" || status=$?
api_pid=
if [ "$status" != 0 ]; then
  echo "smoke-test: $image${platform:+ ($platform)} failed: $(cat "$dir/out")" >&2
  docker logs "$name" 2>&1 | tail -20 >&2
  exit 1
fi
echo "smoke-test: $image${platform:+ ($platform)} answered: $(cat "$dir/out")" >&2
