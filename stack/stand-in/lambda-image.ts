import {
  DOCKER_UNCOMPRESSED_LAYER,
  LAMBDA_MESSAGES,
  SINGLE_IMAGE_MEDIA_TYPES
} from './aws-wording.js'
import { pullRefused } from './ecr-archive.js'
import { parseImageUri } from './image-reference.js'
import { arnOf } from './lambda-model.js'
import { RegistryUnavailableError, type ImageRegistry } from './registry-client.js'
import { lambdaMayPull } from './repository-access.js'
import { recordKey, type FunctionRecord, type StandInState } from './state.js'
import { registryEndpoint } from './topology.js'
import { lambdaError } from './wire.js'

/**
 * What Lambda does with an ImageUri before it accepts a code update: the repository must be in
 * the function's region, Lambda must be allowed to pull from it, the image must exist, and it
 * must be one single-image manifest. A tag is resolved to the digest it names now.
 */

export interface ResolvedImage {
  readonly digest: string
  /** `REPOSITORY@sha256:...`, what GetFunction reports as ResolvedImageUri. */
  readonly resolvedImageUri: string
  /** The image config's architecture (amd64/arm64), when it could be read. */
  readonly imageArchitecture?: string
  /** The first layer Lambda cannot use (uncompressed, Docker-typed); the update fails later. */
  readonly unsupportedLayer?: string
}

export async function resolveFunctionImage(
  state: StandInState,
  registry: ImageRegistry,
  fn: FunctionRecord,
  imageUri: string
): Promise<ResolvedImage> {
  const invalid = () =>
    lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.sourceImageInvalid(imageUri))
  const image = parseImageUri(imageUri)
  // Lambda only reads images from ECR in its own region ("Working with Lambda container images").
  if (!image || image.region !== fn.region) throw invalid()
  const repository = state.repositories.get(
    recordKey(image.account, image.region, image.repository)
  )
  if (!repository) {
    throw lambdaError(
      'InvalidParameterValueException',
      LAMBDA_MESSAGES.sourceImageMissing(imageUri)
    )
  }
  const allowed = lambdaMayPull({
    functionArn: arnOf(fn),
    functionAccount: fn.account,
    repositoryAccount: image.account,
    policyText: repository.policyText
  })
  if (!allowed) throw lambdaError('AccessDeniedException', LAMBDA_MESSAGES.imageAccessDenied)

  const endpoint = registryEndpoint(image.account, image.region)
  if (!endpoint) throw invalid()
  try {
    const manifest = await registry.manifest(endpoint, image.repository, image.reference)
    // An archived image cannot be pulled, by Lambda neither (ecr-archive.ts).
    if (
      !manifest ||
      (image.digest && manifest.digest !== image.digest) ||
      pullRefused(repository, manifest.digest)
    ) {
      throw lambdaError(
        'InvalidParameterValueException',
        LAMBDA_MESSAGES.sourceImageMissing(imageUri)
      )
    }
    if (!SINGLE_IMAGE_MEDIA_TYPES.includes(manifest.mediaType)) {
      throw lambdaError(
        'InvalidParameterValueException',
        LAMBDA_MESSAGES.mediaTypeNotSupported(imageUri)
      )
    }
    const config = await registry.imageConfig(endpoint, image.repository, manifest)
    return {
      digest: manifest.digest,
      resolvedImageUri: `${image.repositoryUri}@${manifest.digest}`,
      imageArchitecture: config?.architecture,
      unsupportedLayer: unsupportedLayerOf(manifest.body)
    }
  } catch (error) {
    if (error instanceof RegistryUnavailableError)
      throw lambdaError('ServiceException', error.message)
    throw error
  }
}

/** Lambda takes gzip (Docker or OCI) layers and the OCI uncompressed type, but fails an update
 * whose image has a layer typed `application/vnd.docker.image.rootfs.diff.tar` (sources in
 * aws-wording.ts). */
function unsupportedLayerOf(manifestBody: string): string | undefined {
  const layers = (
    JSON.parse(manifestBody) as { layers?: { mediaType?: string; digest?: string }[] }
  ).layers
  return layers?.find(layer => layer.mediaType === DOCKER_UNCOMPRESSED_LAYER)?.digest
}
