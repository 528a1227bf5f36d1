import { ActionError } from './errors.js'

/**
 * ECR image tag mutability (ECR User Guide, "Preventing image tags from being overwritten";
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_PutImageTagMutability.html).
 * On an immutable tag ECR refuses every write once the tag exists, even of the manifest it names
 * already: a docker push of an unchanged image fails with `tag invalid: ... cannot be overwritten
 * because the tag is immutable.` (moby/buildkit#3776). So a run decides per tag, before it pushes
 * anything, whether to write it, leave it alone, or stop.
 */

export type TagMutabilitySetting =
  'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION'

export interface TagMutability {
  readonly setting: TagMutabilitySetting
  /** WILDCARD exclusion filters: the tags that take the opposite setting. */
  readonly exclusions: readonly string[]
}

/** ECR's default, and what a run assumes when it cannot read the setting. */
export const MUTABLE_TAGS: TagMutability = { setting: 'MUTABLE', exclusions: [] }

const SETTINGS: readonly string[] = [
  'MUTABLE',
  'IMMUTABLE',
  'MUTABLE_WITH_EXCLUSION',
  'IMMUTABLE_WITH_EXCLUSION'
]

/** The setting as DescribeRepositories reports it; an unknown (newer) value counts as IMMUTABLE,
 * the reading that never overwrites a tag the repository protects. */
export function tagMutabilityOf(
  setting: string | undefined,
  exclusions: readonly string[]
): TagMutability {
  if (setting === undefined) return MUTABLE_TAGS
  if (!SETTINGS.includes(setting)) return { setting: 'IMMUTABLE', exclusions: [] }
  return { setting: setting as TagMutabilitySetting, exclusions }
}

/** True when the repository refuses to write `tag` again once it exists. */
export function isTagImmutable(mutability: TagMutability, tag: string): boolean {
  const excluded = mutability.exclusions.some(filter => wildcardMatches(filter, tag))
  switch (mutability.setting) {
    case 'MUTABLE':
      return false
    case 'IMMUTABLE':
      return true
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded
  }
}

/** A WILDCARD filter (API_ImageTagMutabilityExclusionFilter): `*` is any run of characters. */
export function wildcardMatches(filter: string, tag: string): boolean {
  const pattern = filter
    .split('*')
    .map(part => part.replace(/[.\\+?^${}()|[\]-]/g, '\\$&'))
    .join('.*')
  return new RegExp(`^${pattern}$`).test(tag)
}

/** The image a tag names in the repository now. */
export interface TaggedImage {
  readonly digest: string
  /** The config digest of a single-image manifest; undefined for an index. */
  readonly configDigest?: string
}

/**
 * The image about to be published: a build (known by its config digest, because the manifest
 * digest exists only once docker pushed it) or an image the repository holds (by its digest).
 * One config digest is one image: the config lists every layer's content digest.
 */
export type ImageIdentity =
  | { readonly configDigest: string; readonly digest?: undefined }
  | { readonly digest: string; readonly configDigest?: undefined }

export type TagDecision =
  | { readonly tag: string; readonly action: 'write' }
  /** The tag is immutable and names this image already: writing it again would be refused. */
  | { readonly tag: string; readonly action: 'keep'; readonly digest: string }

/**
 * Per tag: write it, or keep it as it is. Throws `image-tag-immutable`, naming every tag at
 * fault, when an immutable tag names another image: nothing may be pushed then, because the
 * run would end half-published.
 */
export function decideTagWrites(
  repositoryUri: string,
  mutability: TagMutability,
  image: ImageIdentity,
  existing: ReadonlyMap<string, TaggedImage | undefined>,
  tags: readonly string[]
): TagDecision[] {
  const decisions: TagDecision[] = []
  const conflicts: { tag: string; holds: TaggedImage }[] = []
  for (const tag of tags) {
    const holds = existing.get(tag)
    if (!holds || !isTagImmutable(mutability, tag)) {
      decisions.push({ tag, action: 'write' })
    } else if (isSameImage(image, holds)) {
      decisions.push({ tag, action: 'keep', digest: holds.digest })
    } else {
      conflicts.push({ tag, holds })
    }
  }
  if (conflicts.length > 0) {
    const named = conflicts.map(({ tag, holds }) => `${repositoryUri}:${tag} (${holds.digest})`)
    throw new ActionError(
      'image-tag-immutable',
      `${named.join(', ')} ${conflicts.length === 1 ? 'names' : 'name'} another image than this run's, and the repository's tags are immutable (${mutability.setting}${mutability.exclusions.length > 0 ? `, exclusions ${mutability.exclusions.join(', ')}` : ''}), so ECR would refuse the push; nothing was pushed.`,
      "Use a tag that is new for every image, such as the commit SHA (the default tags); or add an exclusion filter for tags that move (aws ecr put-image-tag-mutability --image-tag-mutability IMMUTABLE_WITH_EXCLUSION --image-tag-mutability-exclusion-filters filterType=WILDCARD,filter='latest'); or make the repository's tags MUTABLE."
    )
  }
  return decisions
}

function isSameImage(image: ImageIdentity, holds: TaggedImage): boolean {
  if (image.digest !== undefined) return image.digest === holds.digest
  return holds.configDigest !== undefined && holds.configDigest === image.configDigest
}

/** The config digest of a single-image manifest; undefined for an index or anything else. */
export function configDigestOf(manifestBody: string): string | undefined {
  try {
    const parsed = JSON.parse(manifestBody) as { config?: { digest?: unknown } }
    return typeof parsed.config?.digest === 'string' ? parsed.config.digest : undefined
  } catch {
    return undefined
  }
}
