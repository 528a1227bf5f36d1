#!/bin/sh
# /lambda-entrypoint.sh of the LOCAL STAND-IN Lambda base images (see /etc/lambda-stand-in).
# Like AWS's: CMD is the handler, exported as _HANDLER, then the runtime's bootstrap is exec'd.
# Unlike AWS's: there is no Runtime Interface Emulator (aws-lambda-rie) in this image, so a
# Runtime API must be given in AWS_LAMBDA_RUNTIME_API (host:port).
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  echo "lambda-entrypoint.sh: AWS_LAMBDA_RUNTIME_API is not set, and this stand-in base image has" \
    "no Runtime Interface Emulator; run it against a Runtime API (host:port)" 1>&2
  exit 1
fi

for RUNTIME_ENTRYPOINT in "${LAMBDA_RUNTIME_DIR:-/var/runtime}/bootstrap" \
  "${LAMBDA_TASK_ROOT:-/var/task}/bootstrap" /opt/bootstrap; do
  if [ -f "$RUNTIME_ENTRYPOINT" ]; then
    exec "$RUNTIME_ENTRYPOINT"
  fi
done
echo "lambda-entrypoint.sh: no bootstrap in ${LAMBDA_RUNTIME_DIR:-/var/runtime}," \
  "${LAMBDA_TASK_ROOT:-/var/task} or /opt" 1>&2
exit 127
