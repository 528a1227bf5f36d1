/**
 * What Lambda gives a function's runtime, named once, for the local smoke test.
 * Sources: AWS Lambda Developer Guide, "Using the Lambda runtime API for custom runtimes"
 * (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html, OpenAPI spec runtime-api.zip,
 * version 2018-06-01), "Defined runtime environment variables"
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), "Lambda quotas"
 * (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html) and "Working with
 * Lambda container images" (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html).
 */

/** Every Runtime API path starts with the API version. */
export const RUNTIME_API_PREFIX = '/2018-06-01/runtime'

/** Response headers of `GET /runtime/invocation/next`. */
export const RUNTIME_HEADERS = {
  requestId: 'Lambda-Runtime-Aws-Request-Id',
  deadlineMs: 'Lambda-Runtime-Deadline-Ms',
  invokedFunctionArn: 'Lambda-Runtime-Invoked-Function-Arn',
  traceId: 'Lambda-Runtime-Trace-Id',
  clientContext: 'Lambda-Runtime-Client-Context',
  cognitoIdentity: 'Lambda-Runtime-Cognito-Identity',
  /** Request header of the two error paths, used when the body says no error type. */
  functionErrorType: 'Lambda-Runtime-Function-Error-Type'
} as const

/**
 * Synchronous invocations carry at most 6 MB each way ("Lambda quotas"). Read as MiB, the
 * larger reading, so that the smoke test never refuses a payload Lambda would take.
 */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024

/** The error type Lambda reports when a function's response is over the payload quota. */
export const RESPONSE_TOO_LARGE_ERROR_TYPE = 'Function.ResponseSizeTooLarge'

/** The init phase (runtime start up to its first `/next`) may take 10 seconds. */
export const INIT_TIMEOUT_SECONDS = 10

/** A function's timeout is 1 to 900 seconds; its default is 3. */
export const MAX_FUNCTION_TIMEOUT_SECONDS = 900
export const DEFAULT_FUNCTION_TIMEOUT_SECONDS = 3

/** Memory is 128 to 10,240 MB (default 128); /tmp is 512 to 10,240 MB (default 512). */
export const DEFAULT_MEMORY_MB = 128
export const MIN_MEMORY_MB = 128
export const MAX_MEMORY_MB = 10_240
export const DEFAULT_EPHEMERAL_STORAGE_MB = 512

/**
 * Lambda runs the function as a least-privileged user. On Lambda that user is `sbx_user1051`,
 * uid 993, gid 990 (what `id` prints inside a function; the stand-in base images carry the same
 * entry). Using these numbers, rather than a common 1000 or 65534, means a file that an image's
 * build made readable only to its owner (root, or a build user) fails here as it would on Lambda.
 */
export const LAMBDA_USER = { uid: 993, gid: 990 } as const

/** Directories that Lambda's own variables point at when the image does not set them. */
export const DEFAULT_TASK_ROOT = '/var/task'
export const DEFAULT_RUNTIME_DIR = '/var/runtime'
