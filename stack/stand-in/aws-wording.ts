/**
 * Every name, number and sentence the stand-in borrows from AWS, each once, with where it comes
 * from. Messages quoted from real responses (seen in public bug reports) say so; the few the
 * stand-in had to word itself say that instead, so nobody mistakes them for AWS's text.
 */

// ---------------------------------------------------------------------------------------------
// Wire protocols
// ---------------------------------------------------------------------------------------------

/** ECR speaks JSON 1.1; the operation is named in X-Amz-Target as `<prefix>.<Operation>`.
 * Source: the ECR API reference ("Making API requests") and the SDK's protocolSettings. */
export const ECR_TARGET_PREFIX = 'AmazonEC2ContainerRegistry_V20150921'
export const ECR_CONTENT_TYPE = 'application/x-amz-json-1.1'

/** Lambda speaks REST-JSON under one dated prefix. Source: Lambda API reference, every operation. */
export const LAMBDA_PATH_PREFIX = '/2015-03-31/functions/'

/** STS speaks the Query protocol (form-encoded POST, XML answer). Source: STS API reference. */
export const STS_VERSION = '2011-06-15'
export const STS_XML_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/'

/** Signing names in the credential scope. Source: the SDKs' `signingName` for each service
 * (CloudWatch's is `monitoring`, its endpoint prefix). */
export const SIGNING_NAMES = {
  ecr: 'ecr',
  lambda: 'lambda',
  sts: 'sts',
  cloudwatch: 'monitoring'
} as const
export type ServiceName = keyof typeof SIGNING_NAMES

/** SigV4 allows 15 minutes of clock skew. Source: "Signature Version 4 signing process",
 * "Elements of an AWS API request signature". */
export const SIGNATURE_MAX_SKEW_MS = 15 * 60 * 1000

/** ECR authorization tokens last 12 hours. Source: GetAuthorizationToken API reference. */
export const ECR_TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000

// ---------------------------------------------------------------------------------------------
// Image media types. Source: OCI image-spec and Docker "Image Manifest V2, Schema 2"; Lambda
// accepts only the two single-image manifests ("Working with Lambda container images").
// ---------------------------------------------------------------------------------------------
export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json'
} as const

export const SINGLE_IMAGE_MEDIA_TYPES: readonly string[] = [
  MEDIA_TYPES.dockerManifest,
  MEDIA_TYPES.ociManifest
]
export const ALL_MANIFEST_MEDIA_TYPES: readonly string[] = Object.values(MEDIA_TYPES)

// ---------------------------------------------------------------------------------------------
// Signature and authentication failures
// ---------------------------------------------------------------------------------------------

/** Error codes for the same failure differ by protocol: JSON services (ECR, Lambda) use the
 * `...Exception` names, the Query protocol (STS) the older short ones. Source: "Common Errors"
 * in each API reference; STS's list names InvalidClientTokenId and SignatureDoesNotMatch. */
export const AUTH_ERROR_CODES = {
  json: {
    missing: 'MissingAuthenticationTokenException',
    incomplete: 'IncompleteSignatureException',
    unknownKey: 'UnrecognizedClientException',
    badSignature: 'InvalidSignatureException',
    expiredToken: 'ExpiredTokenException'
  },
  query: {
    missing: 'MissingAuthenticationToken',
    incomplete: 'IncompleteSignature',
    unknownKey: 'InvalidClientTokenId',
    badSignature: 'SignatureDoesNotMatch',
    expiredToken: 'ExpiredToken'
  }
} as const

/** HTTP status of an authentication failure: JSON 1.1 services answer 400, REST-JSON and Query
 * services 403. Source: real responses (ECR's `400 Bad Request` with UnrecognizedClientException,
 * Lambda's `StatusCode: 403` with the same error, STS's 403 InvalidClientTokenId). */
export const AUTH_ERROR_STATUS = { json: 400, 'rest-json': 403, query: 403 } as const

export const AUTH_MESSAGES = {
  // Quoted from real responses.
  missing: 'Missing Authentication Token',
  unknownKey: 'The security token included in the request is invalid.',
  badSignature:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  wrongService: (expected: string) =>
    `Credential should be scoped to correct service: '${expected}'. `,
  wrongRegion: (region: string) =>
    `Credential should be scoped to a valid region, not '${region}'. `,
  expired: (signed: string, earliest: string, now: string) =>
    `Signature expired: ${signed} is now earlier than ${earliest} (${now} - 15 min.)`,
  notYetCurrent: (signed: string, latest: string, now: string) =>
    `Signature not yet current: ${signed} is still later than ${latest} (${now} + 15 min.)`,
  expiredToken: 'The security token included in the request is expired',
  // Worded by the stand-in, after AWS's "Authorization header requires '...' parameter."
  incomplete: (what: string) => `Authorization header requires '${what}' parameter.`
} as const

// ---------------------------------------------------------------------------------------------
// ECR errors and messages. Source: ECR API reference, "Errors" of each operation; the messages
// are quoted from real responses.
// ---------------------------------------------------------------------------------------------
export const ECR_MESSAGES = {
  repositoryNotFound: (name: string, registryId: string) =>
    `The repository with name '${name}' does not exist in the registry with id '${registryId}'`,
  repositoryExists: (name: string, registryId: string) =>
    `The repository with name '${name}' already exists in the registry with id '${registryId}'`,
  policyNotFound: (name: string, registryId: string) =>
    `Repository policy does not exist for the repository with name '${name}' in the registry with id '${registryId}'`,
  imageNotFound: (
    digest: string | undefined,
    tag: string | undefined,
    name: string,
    registryId: string
  ) =>
    `The image with imageId {imageDigest:'${digest ?? 'null'}', imageTag:'${tag ?? 'null'}'} does not exist within the repository with name '${name}' in the registry with id '${registryId}'`,
  invalidParameter: (name: string, constraint: string) =>
    `Invalid parameter at '${name}' failed to satisfy constraint: '${constraint}'`,
  invalidPolicyConstraint: 'Invalid repository policy provided',
  missingDigestAndTagFailure: 'Invalid request parameters: both tag and digest cannot be null',
  throttled: 'Rate exceeded',
  // PutImage of a tag that already names the same manifest: quoted from a real response in
  // buildkite-plugins/ecr-buildkite-plugin#111 (the API reference: "The specified image has
  // already been pushed, and there were no changes to the manifest or image tag").
  imageAlreadyExists: (digest: string, tag: string, name: string, registryId: string) =>
    `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${name}' in registry with id '${registryId}'`,
  // An existing tag on an immutable repository: ImageTagAlreadyExistsException from PutImage, and
  // the registry's TAG_INVALID answer to a docker push (docker prints "tag invalid: ..."). Quoted
  // from real answers as public projects' troubleshooting notes record them (docker push and
  // `docker buildx imagetools create` refusals, 2025-2026), which end "...because the tag is
  // immutable."; older answers ended "because the repository is immutable." (moby/buildkit#3776,
  // aws/containers-roadmap#862), before ECR had exclusion filters.
  tagImmutable: (tag: string, name: string) =>
    `The image tag '${tag}' already exists in the '${name}' repository and cannot be overwritten because the tag is immutable.`,
  // Worded by the stand-in after the API reference's descriptions of these PutImage errors.
  imageDigestMismatch: (given: string, actual: string) =>
    `The specified image digest '${given}' does not match the digest of the manifest, '${actual}'.`,
  layersNotFound: (name: string) =>
    `The image manifest refers to layers or a config that are not in the repository with name '${name}'.`,
  // Worded by the stand-in.
  unknownOperation: (target: string) => `Unknown operation ${target}`,
  notJson: 'The request body is not valid JSON.',
  // BatchGetImage failure reasons.
  imageNotFoundFailure: 'Requested image not found',
  // Worded by the stand-in: the API reference documents no reason text for this failure.
  unsupportedImageTypeFailure: 'The image manifest media type is not among acceptedMediaTypes'
} as const

/** BatchGetImage `failureCode` values (ECR API reference, ImageFailure). The reference lists no
 * code for "stored manifest type not in acceptedMediaTypes"; the stand-in answers
 * UnsupportedImageType there, which the SDK passes through as a plain string. */
export const ECR_FAILURE_CODES = {
  imageNotFound: 'ImageNotFound',
  unsupportedImageType: 'UnsupportedImageType',
  missingDigestAndTag: 'MissingDigestAndTag'
} as const

// ---------------------------------------------------------------------------------------------
// Lambda errors and messages. Source: Lambda API reference, "Errors" of each operation; HTTP
// statuses and the member that carries the message (`message` or `Message`) from the service
// model, as the SDK's schemas show them.
// ---------------------------------------------------------------------------------------------
export const LAMBDA_ERRORS = {
  InvalidParameterValueException: { status: 400, messageMember: 'message' },
  InvalidRequestContentException: { status: 400, messageMember: 'message' },
  ValidationException: { status: 400, messageMember: 'message' },
  AccessDeniedException: { status: 403, messageMember: 'Message' },
  ResourceNotFoundException: { status: 404, messageMember: 'Message' },
  ResourceConflictException: { status: 409, messageMember: 'message' },
  PreconditionFailedException: { status: 412, messageMember: 'message' },
  TooManyRequestsException: { status: 429, messageMember: 'message' },
  ServiceException: { status: 500, messageMember: 'Message' },
  UnknownOperationException: { status: 404, messageMember: 'message' }
} as const
export type LambdaErrorCode = keyof typeof LAMBDA_ERRORS

export const LAMBDA_MESSAGES = {
  // CreateFunction of a name in use, 409: quoted from real responses (hashicorp/terraform#15929,
  // "ResourceConflictException: Function already exist: NAME ... status code: 409";
  // danilop/multimodal-chat#10).
  functionExists: (name: string) => `Function already exist: ${name}`,
  // Lambda's refusal of a role that does not exist or does not trust lambda.amazonaws.com
  // (InvalidParameterValueException; widely quoted, e.g. in the Lambda developer guide's
  // "Troubleshoot deployment issues"). The stand-in has no roles: see lambda-create.ts.
  roleCannotBeAssumed: 'The role defined for the function cannot be assumed by Lambda.',
  // CreateFunction's Role pattern (Lambda API reference, CreateFunction, Role).
  rolePattern: 'arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+',
  // Worded by the stand-in after UpdateFunctionCode's imageUriMissing (not recorded for create).
  createImageUriMissing: 'Please provide ImageUri when creating a function with packageType Image.',
  // Quoted from real responses.
  functionNotFound: (arn: string) => `Function not found: ${arn}`,
  // AWS-validated LocalStack snapshot test_lambda_api TestLambdaAlias::
  // test_notfound_and_invalid_routingconfigs ("alias_does_not_exist_esc").
  aliasNotFound: (arn: string) => `Cannot find alias arn: ${arn}`,
  aliasExists: (arn: string) => `Alias already exists: ${arn}`,
  updateInProgress: (arn: string) =>
    `The operation cannot be performed at this time. An update is in progress for resource: ${arn}`,
  imageUriForZip: "Please don't provide ImageUri when updating a function with packageType Zip.",
  imageUriMissing: 'Please provide ImageUri when updating a function with packageType Image.',
  // Public bug reports quoting Lambda (aws/aws-cdk#24648, aws/aws-sdk-go#3736) for an image
  // that is not in the repository.
  sourceImageMissing: (uri: string) =>
    `Source image ${uri} does not exist. Provide a valid source image.`,
  // Lambda developer guide, "Troubleshoot invocation issues" (ResourceConflictException), and
  // "Lambda function states": no update or publish while the function is Pending.
  functionInState: (state: string) =>
    `The operation cannot be performed at this time. The function is currently in the following state: ${state}`,
  // The routing-config answers of the AWS-validated LocalStack snapshot test_lambda_api
  // TestLambdaAlias::test_notfound_and_invalid_routingconfigs.
  oneAdditionalVersion: 'Number of items in AdditionalVersionWeights cannot be greater than 1',
  noWeightsOnLatest: '$LATEST is not supported for an alias pointing to more than 1 version',
  additionalVersionIsPrimary: (version: string) =>
    `Invalid function version ${version}. Function version ${version} is already included in routing configuration.`,
  weightOutOfRange: (weights: string) =>
    `1 validation error detected: Value '${weights}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]`,
  weightKeyNotAVersion: (weights: string) =>
    `1 validation error detected: Value '${weights}' at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map keys must satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [0-9]+]`,
  // Same snapshots (TestLambdaVersions::test_publish_with_wrong_sha256).
  codeShaMismatch: (given: string, current: string) =>
    `CodeSHA256 (${given}) is different from current CodeSHA256 in $LATEST (${current}). Please try again with the CodeSHA256 in $LATEST.`,
  sourceImageInvalid: (uri: string) =>
    `Source image ${uri} is not valid. Provide a valid source image.`,
  mediaTypeNotSupported: (uri: string) =>
    `The image manifest, config or layer media type for the source image ${uri} is not supported.`,
  imageAccessDenied:
    'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
  revisionMismatch:
    'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id',
  derivedQualifierMismatch:
    'The derived qualifier from the function name does not match the specified qualifier.',
  invalidJson: 'Could not parse request body into json',
  accessDenied: (principal: string, action: string, arn: string) =>
    `User: ${principal} is not authorized to perform: ${action} on resource: ${arn} because no resource-based policy allows the ${action} action`,
  throttled: 'Rate exceeded',
  // PutImage of a tag that already names the same manifest: quoted from a real response in
  // buildkite-plugins/ecr-buildkite-plugin#111 (the API reference: "The specified image has
  // already been pushed, and there were no changes to the manifest or image tag").
  imageAlreadyExists: (digest: string, tag: string, name: string, registryId: string) =>
    `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${name}' in registry with id '${registryId}'`,
  // Worded by the stand-in after the API reference's descriptions of these PutImage errors.
  imageDigestMismatch: (given: string, actual: string) =>
    `The specified image digest '${given}' does not match the digest of the manifest, '${actual}'.`,
  layersNotFound: (name: string) =>
    `The image manifest refers to layers or a config that are not in the repository with name '${name}'.`,
  serviceError: 'An error occurred and the request cannot be processed.',
  // After the model's validation wording ("1 validation error detected: ...").
  validation: (value: string, member: string, constraint: string) =>
    `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${constraint}`,
  // Worded by the stand-in.
  unknownOperation: (method: string, path: string) =>
    `No Lambda operation answers ${method} ${path}`,
  weightsNotAMap: 'AdditionalVersionWeights must be a map of version to weight.'
} as const

/**
 * State, StateReason and StateReasonCode, and what an update in progress reports. Source: the
 * AWS-validated LocalStack snapshots (test_lambda_api, TestLambdaImages::test_lambda_image_crud:
 * a new function is Pending "The function is being created." / Creating, and an update in
 * progress reports LastUpdateStatusReason and ReasonCode the same way); reason codes from the
 * Lambda API reference (FunctionConfiguration.StateReasonCode: Idle, Creating, Restoring,
 * ImageDeleted, ImageAccessDenied, InvalidImage, ...). The reasons for Inactive and Restoring
 * are worded by the stand-in: no recorded response was found.
 */
export const FUNCTION_STATE_REASONS = {
  creating: { reason: 'The function is being created.', reasonCode: 'Creating' },
  restoring: { reason: 'The function is being restored.', reasonCode: 'Restoring' },
  idle: { reason: 'The function is inactive because it has not been used.', reasonCode: 'Idle' }
} as const

/**
 * An uncompressed layer typed as Docker's makes the update fail after it was accepted:
 * LastUpdateStatus Failed, reason code InvalidImage, reason naming the layer. Source: Lambda's
 * words as quoted in aws-samples/custom-ui-tvm-amazon-q-business#2 and bazel-contrib/rules_oci#645
 * and #777 ("ImageLayerFailure: UnsupportedImageLayerDetected - Layer Digest sha256:...").
 */
export const DOCKER_UNCOMPRESSED_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
export const UNSUPPORTED_LAYER_FAILURE = {
  reasonCode: 'InvalidImage',
  reason: (digest: string) =>
    `ImageLayerFailure: UnsupportedImageLayerDetected - Layer Digest ${digest}`
} as const

/** TooManyRequestsException carries a Reason. Source: Lambda API reference, ThrottleReason. */
export const LAMBDA_THROTTLE_REASON = 'CallerRateLimitExceeded'

/** LastUpdateStatusReasonCode for an image Lambda could not use. Source: Lambda API reference,
 * FunctionConfiguration.LastUpdateStatusReasonCode ("InvalidImage"). */
export const DEFAULT_FAILED_UPDATE_REASON_CODE = 'InvalidImage'

/** The two architectures and their image platforms. Source: Lambda "Lambda instruction set
 * architectures"; the image config's `architecture` uses Go's names. */
export const LAMBDA_ARCHITECTURES = ['x86_64', 'arm64'] as const
export const IMAGE_ARCHITECTURE_OF = { x86_64: 'amd64', arm64: 'arm64' } as const

/** What Lambda needs granted on a repository to pull an image. Source: Lambda "Amazon ECR
 * permissions" (configuration-images.html#configuration-images-permissions). */
export const LAMBDA_PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] as const
export const LAMBDA_SERVICE_PRINCIPAL = 'lambda.amazonaws.com'

/** Defaults of a new function. Source: CreateFunction API reference (Timeout 3, MemorySize 128,
 * EphemeralStorage 512, TracingConfig PassThrough, Architectures x86_64). */
export const FUNCTION_DEFAULTS = {
  timeout: 3,
  memorySize: 128,
  ephemeralStorageMb: 512,
  tracingMode: 'PassThrough',
  architectures: ['x86_64']
} as const

// ---------------------------------------------------------------------------------------------
// STS
// ---------------------------------------------------------------------------------------------
export const STS_MESSAGES = {
  // Quoted from real responses.
  unknownAction: (action: string) =>
    `Could not find operation ${action} for version ${STS_VERSION}`,
  throttled: 'Rate exceeded',
  // PutImage of a tag that already names the same manifest: quoted from a real response in
  // buildkite-plugins/ecr-buildkite-plugin#111 (the API reference: "The specified image has
  // already been pushed, and there were no changes to the manifest or image tag").
  imageAlreadyExists: (digest: string, tag: string, name: string, registryId: string) =>
    `Image with digest '${digest}' and tag '${tag}' already exists in the repository with name '${name}' in registry with id '${registryId}'`,
  // Worded by the stand-in after the API reference's descriptions of these PutImage errors.
  imageDigestMismatch: (given: string, actual: string) =>
    `The specified image digest '${given}' does not match the digest of the manifest, '${actual}'.`,
  layersNotFound: (name: string) =>
    `The image manifest refers to layers or a config that are not in the repository with name '${name}'.`,
  // Worded by the stand-in.
  internalFailure: 'The request processing has failed because of an unknown error.'
} as const
