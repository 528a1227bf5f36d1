#!/bin/sh
# /var/runtime/bootstrap of the LOCAL STAND-IN nodejs image: AWS's own Runtime Interface Client
# (npm aws-lambda-ric) on Node.js, with the handler (module.function) that the entrypoint exported.
export NODE_PATH="/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"
RIC=/var/runtime/node_modules/aws-lambda-ric/bin/index.mjs
if [ ! -f "$RIC" ]; then
  echo "bootstrap: this stand-in nodejs image for $(uname -m) carries Node.js but not" \
    "aws-lambda-ric (see /etc/lambda-stand-in)" 1>&2
  exit 1
fi
cd "${LAMBDA_TASK_ROOT:-/var/task}" || exit 1
exec /var/lang/bin/node "$RIC" "$_HANDLER"
