import { BASE_IMAGE_DIGEST_LABEL, BASE_IMAGE_NAME_LABEL, REVISION_LABEL } from './oci-labels.js'
import { formatImageReference, parseRegistryImageReference } from './registry-reference.js'

/**
 * Whether a scheduled refresh rebuilds the function's image: always, or only when the base image
 * it was built FROM now points at another digest for the function's platform. The deployed image
 * says what it was built from in its config labels (OCI annotation keys used as labels):
 * https://github.com/opencontainers/image-spec/blob/main/annotations.md#pre-defined-annotation-keys
 */

/**
 * if-inputs-changed (the default): build unless the repository holds an image built from the
 * same inputs (src/domain/build-inputs.ts); always: build on every run; if-base-changed: a
 * scheduled refresh, which builds only when the deployed image's base moved.
 */
export const REBUILD_MODES = ['if-inputs-changed', 'always', 'if-base-changed'] as const
export type RebuildMode = (typeof REBUILD_MODES)[number]

export interface RefreshFacts {
  readonly mode: RebuildMode
  /** The config labels of the image the function runs now; undefined when it runs none we can read. */
  readonly deployedLabels: Readonly<Record<string, string>> | undefined
  /**
   * The base image the Dockerfile being built now starts FROM (final stage), when known; it wins
   * over the deployed label for what to resolve, and a change of name is a reason to rebuild.
   */
  readonly dockerfileBase?: string
  /** The digest the base image's tag points at now, for the function's platform. */
  readonly currentDigest: string | undefined
  /** The commit being built, to warn when it is not the one the function runs. */
  readonly checkedOutRevision?: string
}

export interface RefreshDecision {
  readonly rebuild: boolean
  /** One sentence for the log and the summary. */
  readonly reason: string
  /** The base image compared (the Dockerfile's, else the deployed label's), if any. */
  readonly baseImage: string | undefined
  readonly currentDigest: string | undefined
  readonly deployedDigest: string | undefined
  /** True when the base's digest differs from the deployed one; undefined when unknown. */
  readonly baseImageUpdated: boolean | undefined
  readonly deployedRevision: string | undefined
  /** Things the user should know that do not change the decision (missing labels, drift). */
  readonly notices: readonly string[]
}

/** Which base image to resolve: the Dockerfile's when known, else what the deployed image says. */
export function baseImageToResolve(
  deployedLabels: Readonly<Record<string, string>> | undefined,
  dockerfileBase: string | undefined
): string | undefined {
  return nonEmpty(dockerfileBase) ?? nonEmpty(deployedLabels?.[BASE_IMAGE_NAME_LABEL])
}

export function decideRefresh(facts: RefreshFacts): RefreshDecision {
  const labels = facts.deployedLabels
  const deployedBase = nonEmpty(labels?.[BASE_IMAGE_NAME_LABEL])
  const deployedDigest = nonEmpty(labels?.[BASE_IMAGE_DIGEST_LABEL])
  const deployedRevision = nonEmpty(labels?.[REVISION_LABEL])
  const baseImage = baseImageToResolve(labels, facts.dockerfileBase)
  const currentDigest = nonEmpty(facts.currentDigest)
  const notices: string[] = []

  if (
    facts.checkedOutRevision !== undefined &&
    deployedRevision !== undefined &&
    facts.checkedOutRevision !== deployedRevision
  ) {
    notices.push(
      `The function runs an image built from ${deployedRevision}, but ${facts.checkedOutRevision} is checked out; a rebuild deploys that revision's code too.`
    )
  }
  const baseImageUpdated =
    currentDigest !== undefined && deployedDigest !== undefined
      ? currentDigest !== deployedDigest
      : undefined
  const decision = (rebuild: boolean, reason: string): RefreshDecision => ({
    rebuild,
    reason,
    baseImage,
    currentDigest,
    deployedDigest,
    baseImageUpdated,
    deployedRevision,
    notices
  })

  const missing = [
    labels === undefined ? 'the deployed image has no readable config' : undefined,
    labels !== undefined && deployedBase === undefined
      ? `label ${BASE_IMAGE_NAME_LABEL}`
      : undefined,
    labels !== undefined && deployedDigest === undefined
      ? `label ${BASE_IMAGE_DIGEST_LABEL}`
      : undefined
  ].filter((text): text is string => text !== undefined)

  if (facts.mode === 'always') {
    const what =
      baseImageUpdated === true
        ? `; its base ${baseImage} has also changed since the deploy`
        : baseImageUpdated === false
          ? `; its base ${baseImage} is unchanged`
          : ''
    return decision(true, `Rebuilding because rebuild is "always"${what}.`)
  }
  if (missing.length > 0) {
    notices.push(
      `Cannot tell whether the base image changed: ${missing.join(', ')} ${missing.length > 1 || labels === undefined ? 'are' : 'is'} missing from the deployed image, so it is rebuilt. Images this action builds carry these labels; the next refresh can compare.`
    )
    return decision(
      true,
      `Rebuilding because the deployed image does not record its base image digest (${missing.join(', ')}).`
    )
  }
  if (!sameImage(deployedBase, baseImage)) {
    return decision(
      true,
      `Rebuilding because the Dockerfile now starts FROM ${baseImage}, and the deployed image was built FROM ${deployedBase}.`
    )
  }
  if (currentDigest === undefined) {
    return decision(
      true,
      `Rebuilding because the current digest of ${baseImage} could not be determined.`
    )
  }
  if (baseImageUpdated === true) {
    return decision(
      true,
      `Rebuilding because ${baseImage} now points at ${currentDigest}; the deployed image was built on ${deployedDigest}.`
    )
  }
  return decision(
    false,
    `Not rebuilding: ${baseImage} still points at ${currentDigest}, the base of the deployed image.`
  )
}

/** `node:22` and `docker.io/library/node:22` are the same image. */
function sameImage(a: string | undefined, b: string | undefined): boolean {
  const normal = (name: string | undefined) => {
    if (name === undefined) return undefined
    try {
      return formatImageReference(parseRegistryImageReference(name))
    } catch {
      return name
    }
  }
  return normal(a) === normal(b)
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed ? trimmed : undefined
}
