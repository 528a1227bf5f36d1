import { ActionError, isActionError } from './errors.js'
import { DOCKER_HUB, parseImageName, type ImageName } from './image-name.js'

/**
 * An image name as `FROM` and `docker pull` read it, normalised the way the Docker CLI does
 * (distribution/reference `ParseNormalizedNamed`): a name without a registry part is on Docker
 * Hub, whose API host is registry-1.docker.io, and a one-component Hub name is under `library/`.
 */
export interface RegistryImageReference {
  /** The API host (and port), e.g. `public.ecr.aws`, `registry-1.docker.io`, `localhost:5000`. */
  readonly registry: string
  /** The repository path inside the registry, e.g. `lambda/nodejs`, `library/alpine`. */
  readonly repository: string
  /** The tag, or undefined when the reference is pinned by digest only. */
  readonly tag?: string
  readonly digest?: string
}

/** What the registry's manifest endpoint takes: the digest when pinned, else the tag. */
export function manifestReference(image: RegistryImageReference): string {
  return image.digest ?? image.tag ?? DEFAULT_TAG
}

/** The reference as people write it, with Docker Hub's API host shown as `docker.io`. */
export function formatImageReference(image: RegistryImageReference): string {
  const host = image.registry === DOCKER_HUB_API ? 'docker.io' : image.registry
  const tag = image.tag === undefined ? '' : `:${image.tag}`
  const digest = image.digest === undefined ? '' : `@${image.digest}`
  return `${host}/${image.repository}${tag}${digest}`
}

const DEFAULT_TAG = 'latest'
// https://docs.docker.com/docker-hub/ : the names docker.io and index.docker.io are aliases; the
// registry API itself is served by registry-1.docker.io.
const DOCKER_HUB_API = 'registry-1.docker.io'

/**
 * The name as the registry API needs it: parsed by the same grammar as FROM (image-name.ts),
 * with Docker Hub addressed through its API host.
 */
export function parseRegistryImageReference(value: string): RegistryImageReference {
  let name: ImageName
  try {
    name = parseImageName(value.trim())
  } catch (error) {
    if (!isActionError(error)) throw error
    throw new ActionError(
      'invalid-base-image-reference',
      `The base image ${error.reason}`,
      'Write it as in FROM: [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. public.ecr.aws/lambda/nodejs:22.'
    )
  }
  const onHub = name.registry === DOCKER_HUB || name.registry === DOCKER_HUB_API
  const repository =
    onHub && !name.repository.includes('/') ? `library/${name.repository}` : name.repository
  const tag = name.tag ?? (name.digest === null ? DEFAULT_TAG : undefined)
  return {
    registry: onHub ? DOCKER_HUB_API : name.registry.toLowerCase(),
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(name.digest === null ? {} : { digest: name.digest })
  }
}
