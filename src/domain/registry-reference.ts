import { ActionError } from './errors.js'

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
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', DOCKER_HUB_API])
// https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests
const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const DIGEST = /^sha256:[a-f0-9]{64}$/

export function parseRegistryImageReference(value: string): RegistryImageReference {
  const given = value.trim()
  const invalid = (why: string) =>
    new ActionError(
      'invalid-base-image-reference',
      `The base image "${value}" is not a valid image reference: ${why}.`,
      'Write it as in FROM: [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. public.ecr.aws/lambda/nodejs:22.'
    )
  let rest = given
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw invalid(`"${digest}" is not a sha256 digest`)
  }
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw invalid(`"${tag}" is not a valid tag`)
  }
  const slash = rest.indexOf('/')
  const first = slash < 0 ? '' : rest.slice(0, slash)
  // As in the Docker CLI: the first component names a registry when it has a dot or a port, or
  // is localhost; otherwise the whole name is a Docker Hub repository.
  const hasRegistry = first.includes('.') || first.includes(':') || first === 'localhost'
  let registry = hasRegistry ? first.toLowerCase() : DOCKER_HUB_API
  let repository = hasRegistry ? rest.slice(slash + 1) : rest
  if (DOCKER_HUB_ALIASES.has(registry)) {
    registry = DOCKER_HUB_API
    if (!repository.includes('/')) repository = `library/${repository}`
  }
  if (!REPOSITORY.test(repository)) throw invalid(`"${repository}" is not a repository name`)
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG
  return {
    registry,
    repository,
    ...(tag === undefined ? {} : { tag }),
    ...(digest ? { digest } : {})
  }
}
