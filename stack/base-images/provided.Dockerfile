# Stand-in for public.ecr.aws/lambda/provided (OS-only base): a static busybox, the Lambda
# directory layout and an AWS-like /lambda-entrypoint.sh. Built by stack/base-images.sh from a
# prepared root file system; nothing is pulled.
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
