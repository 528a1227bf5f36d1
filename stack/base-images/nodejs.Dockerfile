# Stand-in for public.ecr.aws/lambda/nodejs: the provided stand-in's files (same first layer),
# then Node.js (official binary from npm) with its shared libraries (Debian packages) and AWS's
# Runtime Interface Client (npm aws-lambda-ric) as /var/runtime/bootstrap. Nothing is pulled.
FROM scratch
COPY rootfs/ /
COPY node-rootfs/ /
ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin \
    LANG=C.UTF-8 \
    LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib \
    LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
