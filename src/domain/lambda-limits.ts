/**
 * What Lambda and ECR demand of a container image, named once.
 * Source: AWS Lambda Developer Guide, "Working with Lambda container images"
 * (https://docs.aws.amazon.com/lambda/latest/dg/images-create.html) and the Lambda/ECR API references.
 */

/**
 * Lambda's limit is "10 GB uncompressed, including all layers". The guide does not say whether GB
 * is decimal or binary, so the action uses the smaller reading: 10 × 10^9 bytes.
 */
export const MAX_UNCOMPRESSED_IMAGE_BYTES = 10_000_000_000

/** The single-image manifest media types Lambda accepts (Docker V2 schema 2, OCI image manifest). */
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json'
export const OCI_IMAGE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const LAMBDA_MANIFEST_MEDIA_TYPES: readonly string[] = [
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_MANIFEST
]

/** Multi-platform media types: Lambda refuses these ("media type ... is not supported"). */
/** The one layer media type Lambda refuses: uncompressed, typed as Docker's. Source: Lambda's
 * "ImageLayerFailure: UnsupportedImageLayerDetected" for such layers (bazel-contrib/rules_oci#645,
 * #777; aws-samples/custom-ui-tvm-amazon-q-business#2); the OCI uncompressed type is accepted. */
export const DOCKER_UNCOMPRESSED_LAYER = 'application/vnd.docker.image.rootfs.diff.tar'
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json'
export const OCI_IMAGE_INDEX = 'application/vnd.oci.image.index.v1+json'

/** Lambda's architecture names and the image platform each one needs. */
export const LAMBDA_ARCHITECTURES = ['x86_64', 'arm64'] as const
export type LambdaArchitecture = (typeof LAMBDA_ARCHITECTURES)[number]

export const IMAGE_ARCHITECTURE: Record<LambdaArchitecture, string> = {
  x86_64: 'amd64',
  arm64: 'arm64'
}

/** The platforms Lambda runs: x86_64 is linux/amd64, arm64 is linux/arm64. */
export type LambdaPlatform = 'linux/amd64' | 'linux/arm64'

export function platformFor(architecture: LambdaArchitecture): LambdaPlatform {
  return architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64'
}

export function isLambdaArchitecture(value: string): value is LambdaArchitecture {
  return (LAMBDA_ARCHITECTURES as readonly string[]).includes(value)
}

/** The two ECR actions Lambda needs on the repository to pull an image. */
export const LAMBDA_PULL_ACTIONS = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] as const

export const LAMBDA_SERVICE_PRINCIPAL = 'lambda.amazonaws.com'
