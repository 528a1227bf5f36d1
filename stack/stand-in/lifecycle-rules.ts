/**
 * How Amazon ECR applies a lifecycle policy to a repository's images: the model behind the
 * stand-in's StartLifecyclePolicyPreview. Sources, all in the ECR user guide:
 * - "Lifecycle policy properties" (lifecycle_policy_parameters.html): rulePriority (applied
 *   lowest first, unique), tagStatus tagged|untagged|any, tagPrefixList / tagPatternList (one of
 *   them, required with tagged; `*` is a wildcard in patterns), countType imageCountMoreThan |
 *   sinceImagePushed (countUnit "days"), countNumber > 0, action type "expire"; a rule with
 *   tagStatus any must have the highest priority.
 * - "How lifecycle policies work", Lifecycle policy evaluation rules (LifecyclePolicies.html):
 *   an image is expired by exactly one or zero rules; an image that matches the tagging
 *   requirements of a higher priority rule cannot be expired by a rule with a lower priority;
 *   rules never mark images marked by higher priority rules but still identify (count) them as
 *   if they had not been expired; only one rule may select untagged images; expiration is
 *   ordered by push time, older first; with tagPrefixList (and tagPatternList) an image matches
 *   when every entry of the list matches one of its tags; imageCountMoreThan keeps the newest
 *   countNumber images; sinceImagePushed expires images pushed more than countNumber days ago.
 * Archive storage class (November 2025), also "Lifecycle policy properties" and the policy
 * template in "Examples of lifecycle policies": action type "transition" with targetStorageClass
 * "archive" (the only value); selection.storageClass "standard" (the default) or "archive";
 * countType sinceImagePulled (days since the last recorded pull) and sinceImageTransitioned (days
 * in archive; only with storageClass archive, every other count type only with standard). A rule
 * acts only on images of its storage class. "Archiving an image": archived images have a 90-day
 * minimum storage duration and a policy cannot expire an image archived for less than 90 days,
 * so an expire rule counting sinceImageTransitioned below 90 is refused here. Where the guide is
 * silent, the stricter candidate is modelled: an image never pulled counts as pulled when it was
 * pushed (it can be archived by a pull-based rule as soon as it is that old).
 */

export type TagStatus = 'tagged' | 'untagged' | 'any'
export type StorageClass = 'standard' | 'archive'
export type CountType =
  'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled' | 'sinceImageTransitioned'
const AGE_COUNT_TYPES: readonly CountType[] = [
  'sinceImagePushed',
  'sinceImagePulled',
  'sinceImageTransitioned'
]
/** "Archiving an image": the minimum storage duration of an archived image, in days. */
export const ARCHIVE_MINIMUM_DAYS = 90

export interface LifecycleRule {
  readonly rulePriority: number
  readonly description?: string
  readonly tagStatus: TagStatus
  readonly tagPrefixList?: readonly string[]
  readonly tagPatternList?: readonly string[]
  readonly countType: CountType
  readonly countNumber: number
  /** The images the rule selects: those of this storage class only. */
  readonly storageClass: StorageClass
  /** expire deletes; transition moves to the archive storage class. */
  readonly action: 'expire' | 'transition'
}

export interface RepositoryImage {
  readonly digest: string
  readonly tags: readonly string[]
  /** Epoch milliseconds. */
  readonly pushedAt: number
  /** Undefined: standard. */
  readonly storageClass?: StorageClass
  /** Epoch ms of the last recorded pull; undefined when never pulled. */
  readonly lastPulledAt?: number
  /** Epoch ms of the move to archive, for an archived image. */
  readonly archivedAt?: number
}

export interface Expiration {
  readonly image: RepositoryImage
  readonly rulePriority: number
  /** What the rule does to the image: expire, or transition to archive. */
  readonly action: 'expire' | 'transition'
}

export class LifecyclePolicyError extends Error {
  override name = 'LifecyclePolicyError'
}

const DAY_MS = 24 * 60 * 60 * 1000

/** The rules of a policy text, lowest priority number first; throws on what ECR would refuse. */
export function parseLifecycleRules(text: string): LifecycleRule[] {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new LifecyclePolicyError('Lifecycle policy is not valid JSON')
  }
  const rules = (parsed as { rules?: unknown }).rules
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new LifecyclePolicyError('Lifecycle policy must contain at least one rule')
  }
  const parsedRules = rules.map(parseRule).sort((a, b) => a.rulePriority - b.rulePriority)
  const priorities = new Set(parsedRules.map(rule => rule.rulePriority))
  if (priorities.size !== parsedRules.length) {
    throw new LifecyclePolicyError('rulePriority values must be unique')
  }
  const anyRule = parsedRules.findIndex(rule => rule.tagStatus === 'any')
  if (anyRule !== -1 && anyRule !== parsedRules.length - 1) {
    throw new LifecyclePolicyError(
      'A rule with tagStatus any must have the highest rulePriority value'
    )
  }
  if (parsedRules.filter(rule => rule.tagStatus === 'untagged').length > 1) {
    throw new LifecyclePolicyError('Only one rule may select untagged images')
  }
  return parsedRules
}

function parseRule(value: unknown): LifecycleRule {
  const rule = (value ?? {}) as Record<string, unknown>
  const selection = (rule.selection ?? {}) as Record<string, unknown>
  const action = (rule.action ?? {}) as Record<string, unknown>
  const priority = rule.rulePriority
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < 1) {
    throw new LifecyclePolicyError('rulePriority must be a positive integer')
  }
  if (action.type !== 'expire' && action.type !== 'transition') {
    throw new LifecyclePolicyError(`Rule ${priority}: action type must be expire or transition`)
  }
  if (action.type === 'transition' && action.targetStorageClass !== 'archive') {
    throw new LifecyclePolicyError(
      `Rule ${priority}: a transition needs targetStorageClass archive (the only storage class)`
    )
  }
  const storageClass = selection.storageClass ?? 'standard'
  if (storageClass !== 'standard' && storageClass !== 'archive') {
    throw new LifecyclePolicyError(`Rule ${priority}: storageClass must be standard or archive`)
  }
  if (storageClass === 'archive' && action.type === 'transition') {
    throw new LifecyclePolicyError(`Rule ${priority}: archived images cannot transition to archive`)
  }
  const tagStatus = selection.tagStatus
  if (tagStatus !== 'tagged' && tagStatus !== 'untagged' && tagStatus !== 'any') {
    throw new LifecyclePolicyError(`Rule ${priority}: tagStatus must be tagged, untagged or any`)
  }
  const prefixes = stringList(selection.tagPrefixList)
  const patterns = stringList(selection.tagPatternList)
  if (prefixes && patterns) {
    throw new LifecyclePolicyError(
      `Rule ${priority}: tagPrefixList and tagPatternList cannot both be given`
    )
  }
  if (tagStatus === 'tagged' && !prefixes?.length && !patterns?.length) {
    throw new LifecyclePolicyError(
      `Rule ${priority}: tagStatus tagged needs a tagPrefixList or a tagPatternList`
    )
  }
  const countType = selection.countType
  if (countType !== 'imageCountMoreThan' && !AGE_COUNT_TYPES.includes(countType as CountType)) {
    throw new LifecyclePolicyError(
      `Rule ${priority}: countType must be imageCountMoreThan, sinceImagePushed, sinceImagePulled or sinceImageTransitioned`
    )
  }
  if ((countType === 'sinceImageTransitioned') !== (storageClass === 'archive')) {
    throw new LifecyclePolicyError(
      `Rule ${priority}: sinceImageTransitioned goes with storageClass archive, and only it`
    )
  }
  if (AGE_COUNT_TYPES.includes(countType as CountType) && selection.countUnit !== 'days') {
    throw new LifecyclePolicyError(`Rule ${priority}: ${countType as string} needs countUnit days`)
  }
  const countNumber = selection.countNumber
  if (typeof countNumber !== 'number' || !Number.isInteger(countNumber) || countNumber < 1) {
    throw new LifecyclePolicyError(`Rule ${priority}: countNumber must be a positive integer`)
  }
  if (countType === 'sinceImageTransitioned' && countNumber < ARCHIVE_MINIMUM_DAYS) {
    throw new LifecyclePolicyError(
      `Rule ${priority}: archived images cannot be expired before ${ARCHIVE_MINIMUM_DAYS} days in archive`
    )
  }
  return {
    rulePriority: priority,
    description: typeof rule.description === 'string' ? rule.description : undefined,
    tagStatus,
    tagPrefixList: tagStatus === 'tagged' ? prefixes : undefined,
    tagPatternList: tagStatus === 'tagged' ? patterns : undefined,
    countType: countType as CountType,
    countNumber,
    storageClass,
    action: action.type
  }
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  if (!Array.isArray(value) || value.some(entry => typeof entry !== 'string')) {
    throw new LifecyclePolicyError('Tag lists must be lists of strings')
  }
  return value as string[]
}

/** Whether an image meets the rule's tagging requirements (tagStatus and its tag list). */
export function selects(rule: LifecycleRule, image: RepositoryImage): boolean {
  if ((image.storageClass ?? 'standard') !== (rule.storageClass ?? 'standard')) return false
  if (rule.tagStatus === 'any') return true
  if (rule.tagStatus === 'untagged') return image.tags.length === 0
  if (image.tags.length === 0) return false
  if (rule.tagPrefixList) {
    return rule.tagPrefixList.every(prefix => image.tags.some(tag => tag.startsWith(prefix)))
  }
  const patterns = (rule.tagPatternList ?? []).map(wildcard)
  return patterns.every(pattern => image.tags.some(tag => pattern.test(tag)))
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('.*')}$`)
}

/** The images the policy expires at `now`, each with the one rule that expires it. */
export function evaluateLifecycleRules(
  rules: readonly LifecycleRule[],
  images: readonly RepositoryImage[],
  now: number
): Expiration[] {
  const ordered = [...rules].sort((a, b) => a.rulePriority - b.rulePriority)
  const newestFirst = [...images].sort((a, b) => b.pushedAt - a.pushedAt)
  const expired = new Map<string, Expiration>()
  ordered.forEach((rule, index) => {
    const higher = ordered.slice(0, index)
    // Counted: every image the rule selects, also those a higher rule expires.
    const selected = newestFirst.filter(image => selects(rule, image))
    const beyond =
      rule.countType === 'imageCountMoreThan'
        ? selected.slice(rule.countNumber)
        : selected.filter(image => now - ageFrom(rule.countType, image) > rule.countNumber * DAY_MS)
    for (const image of beyond) {
      if (expired.has(image.digest)) continue
      // Expirable: only images no higher priority rule selects.
      if (higher.some(other => selects(other, image))) continue
      expired.set(image.digest, {
        image,
        rulePriority: rule.rulePriority,
        action: rule.action ?? 'expire'
      })
    }
  })
  // Older images first, as ECR expires them.
  return [...expired.values()].sort((a, b) => a.image.pushedAt - b.image.pushedAt)
}

/** The time an age rule counts from (see the sources at the top). */
function ageFrom(countType: CountType, image: RepositoryImage): number {
  if (countType === 'sinceImagePulled') return image.lastPulledAt ?? image.pushedAt
  if (countType === 'sinceImageTransitioned') return image.archivedAt ?? image.pushedAt
  return image.pushedAt
}
