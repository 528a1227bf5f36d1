import { ActionError } from './errors.js'

/**
 * An image reference as written in a Dockerfile (`alpine`, `public.ecr.aws/lambda/nodejs:22`,
 * `registry:5000/team/app@sha256:...`), normalized the way docker does: Docker Hub is the default
 * registry and its official images live under `library/`.
 * Grammar: https://github.com/distribution/reference/blob/main/reference.go
 */
export interface ImageName {
  /** Registry host (and port), `docker.io` when none is written. */
  readonly registry: string
  /** Repository path inside the registry, e.g. `library/alpine` or `lambda/nodejs`. */
  readonly repository: string
  /** The tag as written, or null. */
  readonly tag: string | null
  /** The digest as written (`sha256:...`), or null when the image is not pinned. */
  readonly digest: string | null
  /** Fully qualified: registry/repository, then :tag (`latest` if neither tag nor digest), @digest. */
  readonly canonical: string
}

export const DOCKER_HUB = 'docker.io'
// Docker Hub's legacy name; docker rewrites it to docker.io.
const LEGACY_DOCKER_HUB = 'index.docker.io'
const OFFICIAL_IMAGES = 'library/'
const MAX_NAME_LENGTH = 255

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`
)
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/
const TAG = /^[\w][\w.-]{0,127}$/
const DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/
const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/

export function parseImageName(value: string): ImageName {
  const invalid = (problem: string): ActionError =>
    new ActionError(
      'invalid-image-reference',
      `"${value}" is not a valid image reference: ${problem}.`,
      'Write it as [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST], in lower case.'
    )
  let rest = value
  let digest: string | null = null
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (!DIGEST.test(digest)) throw invalid(`"${digest}" is not a digest`)
    if (digest.startsWith('sha256:') && !SHA256_DIGEST.test(digest)) {
      throw invalid('a sha256 digest is 64 lower-case hex digits')
    }
  }
  let tag: string | null = null
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!TAG.test(tag)) throw invalid(`"${tag}" is not a tag`)
  }
  if (rest.length > MAX_NAME_LENGTH) throw invalid(`the name is over ${MAX_NAME_LENGTH} characters`)

  // The first component is a registry if it looks like a host: a dot, a port, localhost, or
  // upper case (which a repository cannot have). Otherwise the image is on Docker Hub.
  const slash = rest.indexOf('/')
  const first = slash < 0 ? '' : rest.slice(0, slash)
  const isHost =
    slash >= 0 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first !== first.toLowerCase())
  let registry = isHost ? first : DOCKER_HUB
  let repository = isHost ? rest.slice(slash + 1) : rest
  if (isHost && !DOMAIN.test(registry)) throw invalid(`"${registry}" is not a registry host`)
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB
  if (repository === '') throw invalid('the repository is empty')
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        component !== component.toLowerCase()
          ? 'repository names must be lower case'
          : `"${component}" is not a repository path component`
      )
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/'))
    repository = OFFICIAL_IMAGES + repository

  let canonical = `${registry}/${repository}`
  if (tag !== null) canonical += `:${tag}`
  else if (digest === null) canonical += ':latest'
  if (digest !== null) canonical += `@${digest}`
  return { registry, repository, tag, digest, canonical }
}
