import * as core from '@actions/core'
import type { DockerEngine } from '../adapters/docker.js'
import type { ContainerRegistry } from '../adapters/ecr.js'
import { withRegistryLogin } from '../adapters/registry-login.js'
import { ActionError } from '../domain/errors.js'
import { LAMBDA_MANIFEST_MEDIA_TYPES } from '../domain/lambda-limits.js'
import type { BuiltImage } from './build-image.js'
import type { DeployTarget } from './resolve-target.js'

export interface PushedImage {
  readonly digest: string
  /** REGISTRY/NAME@sha256:...: what Lambda is given, never a tag (a tag is resolved once). */
  readonly imageUri: string
  readonly mediaType: string
}

export async function pushImage(
  built: BuiltImage,
  target: DeployTarget,
  registry: ContainerRegistry,
  docker: DockerEngine
): Promise<PushedImage> {
  const credentials = await registry.authorization(target.repository)
  const digests = await core.group(`Push to ${target.repository.uri}`, () =>
    withRegistryLogin(target.repository.registry, credentials, async configDir => {
      const pushed: string[] = []
      for (const reference of built.references) pushed.push(await docker.push(reference, configDir))
      return pushed
    })
  )
  const digest = digests[0]!
  const manifest = await registry.manifest(target.repository, digest)
  verifyManifest(manifest.mediaType, manifest.body, built.image.id, digest)
  return { digest, imageUri: `${target.repository.uri}@${digest}`, mediaType: manifest.mediaType }
}

/**
 * Reads back what ECR holds, because that, not the local image, is what Lambda will pull:
 * it must be one single-platform manifest, and its config must be the image that was checked.
 */
export function verifyManifest(
  mediaType: string,
  body: string,
  localImageId: string,
  digest: string
): void {
  if (!LAMBDA_MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new ActionError(
      'pushed-image-is-index',
      `ECR holds the pushed image as ${mediaType || 'an unknown media type'}; Lambda accepts only a single-platform image manifest (${LAMBDA_MANIFEST_MEDIA_TYPES.join(' or ')}).`,
      'The builder added attestations or several platforms: use a builder that accepts --provenance=false --sbom=false (docker buildx 0.10 or later), and build one platform.'
    )
  }
  const configDigest = (JSON.parse(body) as { config?: { digest?: string } }).config?.digest
  // The classic image store names an image by its config digest, the containerd store by its
  // manifest digest; either proves the checked image is the pushed one.
  if (localImageId !== configDigest && localImageId !== digest) {
    throw new ActionError(
      'pushed-image-differs',
      `The image in ECR (config ${configDigest ?? 'missing'}) is not the image that was built and checked (${localImageId}).`,
      'Another job may have pushed the same tag at the same time: use a unique tag (the default is the commit SHA) and run again.'
    )
  }
}
