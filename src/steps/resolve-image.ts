import * as core from '@actions/core'
import type { ContainerRegistry, StoredManifest } from '../adapters/ecr.js'
import type { RegistryHttp } from '../adapters/registry-http.js'
import { regionMismatch } from '../inputs.js'
import type { ImageReference } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import {
  checkImage,
  checkLayerMediaTypes,
  describeImageSize,
  exactBytes,
  formatBytes,
  registryImageSize,
  type Finding,
  type ImageSize,
  type ManifestLayer
} from '../domain/image-checks.js'
import { LAMBDA_MANIFEST_MEDIA_TYPES } from '../domain/lambda-limits.js'
import type { PushedImage } from './push-image.js'
import type { DeployPlan } from './resolve-target.js'

export interface ExistingImage {
  readonly pushed: PushedImage
  readonly findings: readonly Finding[]
  /** Sum of the layers' sizes in the manifest (compressed, for compressed layers). */
  readonly compressedBytes: number
  /**
   * Uncompressed, as Lambda's limit counts it: exact only when every layer is an uncompressed
   * tar; else a lower bound from the compressed sizes, marked as not measured.
   */
  readonly size: ImageSize
  /** The image config's labels, as the registry holds them. */
  readonly labels: Readonly<Record<string, string>>
}

/**
 * Deploy-only: the image is in ECR already. Its manifest and config are read from the registry
 * (no pull) and checked like a built image, as far as a manifest and config tell.
 */
export async function resolveExistingImage(
  reference: ImageReference,
  plan: DeployPlan,
  registry: ContainerRegistry,
  http: RegistryHttp,
  maxImageBytes: number,
  /** The manifest `reference` names, when the caller has read it from ECR already. */
  known?: StoredManifest
): Promise<ExistingImage> {
  const repository = reference.repository
  for (const target of plan.targets) {
    if (target.region !== repository.region) throw regionMismatch(repository, target.region)
  }
  const manifest =
    known ?? (await registry.manifest(repository, reference.digest ?? reference.tag!))
  if (!LAMBDA_MANIFEST_MEDIA_TYPES.includes(manifest.mediaType)) {
    throw new ActionError(
      'image-is-index',
      `${repository.uri}@${manifest.digest} is ${manifest.mediaType || 'not an image manifest'}; Lambda deploys only a single-platform image manifest.`,
      'Deploy the digest of the platform manifest inside the index (docker buildx imagetools inspect shows them), or rebuild with one --platform and --provenance=false.'
    )
  }
  if (reference.tag) core.info(`${repository.uri}:${reference.tag} is ${manifest.digest}`)
  const parsed = JSON.parse(manifest.body) as {
    config?: { digest?: string }
    layers?: (ManifestLayer & { size?: number })[]
  }
  const compressedBytes = (parsed.layers ?? []).reduce((sum, layer) => sum + (layer.size ?? 0), 0)
  const size = registryImageSize(parsed.layers ?? [])

  // The manifest is in hand from ECR; only the config blob is read from the registry.
  const config = parsed.config?.digest
    ? await http.readImageConfigBlob(`${repository.uri}@${manifest.digest}`, parsed.config.digest)
    : await http.readImageConfig(`${repository.uri}@${manifest.digest}`)
  const findings = checkImage(
    {
      os: config.os ?? '',
      architecture: config.architecture ?? '',
      ...size,
      layers: [],
      entrypoint: [],
      cmd: [],
      workingDir: '',
      env: [],
      user: ''
    },
    { architecture: plan.architecture, maxImageBytes }
  )
  const layerFinding = checkLayerMediaTypes(parsed.layers ?? [])
  if (layerFinding) findings.push(layerFinding)
  core.info(
    `${repository.uri}@${manifest.digest}: ${config.os}/${config.architecture}, ${formatBytes(compressedBytes)} in the registry (${exactBytes(compressedBytes)}); size: ${describeImageSize(size, maxImageBytes)}`
  )
  return {
    pushed: {
      digest: manifest.digest,
      imageUri: `${repository.uri}@${manifest.digest}`,
      mediaType: manifest.mediaType
    },
    findings,
    compressedBytes,
    size,
    labels: config.labels
  }
}
