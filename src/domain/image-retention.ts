/**
 * Whether the images functions run are still in ECR, and whether the repository's lifecycle
 * policy would expire them: facts in, warnings out. Lambda keeps only a digest; an image deleted
 * from ECR (by hand, or by a lifecycle rule) makes the function fail at its next cold start or
 * re-optimization ("Lambda function states": Failed with ImageDeleted;
 * aws-actions/aws-lambda-deploy#68).
 */

/** One image a function runs, or will run once this deploy is done. */
export interface ImageUse {
  readonly function: string
  readonly digest: string
  readonly kind: 'deployed' | 'current' | 'version'
  /** For a version: its number and the aliases that point at it. */
  readonly version?: string
  readonly aliases?: readonly string[]
}

export interface RuleExpiration {
  readonly digest: string
  readonly rulePriority: number
  /** The image's tags when the preview ran. */
  readonly tags: readonly string[]
  /** What the rule does: expire (delete), or transition to the archive storage class. Default
   * expire. */
  readonly action?: 'expire' | 'transition'
}

/**
 * Whether an image with these tags escapes the rule of priority `rulePriority`: that rule no
 * longer selects it (an untagged rule, once the image has a tag), or an earlier rule selects it.
 * ECR: "An image that matches the tagging requirements of a higher priority rule cannot be
 * expired by a rule with a lower priority"; with tagPrefixList / tagPatternList an image matches
 * when every entry matches one of its tags, `*` being a wildcard in patterns (ECR User Guide, "How
 * lifecycle policies work" and "Lifecycle policy properties"). Used for the one thing ECR's
 * preview cannot see: the deployed image carrying deployed-tag once the deploy is done. Only
 * selection is judged here; counts and ages stay ECR's.
 */
export function sparedWithTags(
  policyText: string,
  rulePriority: number,
  tags: readonly string[]
): boolean {
  let rules: unknown
  try {
    rules = (JSON.parse(policyText) as { rules?: unknown }).rules
  } catch {
    return false
  }
  const parsed = (Array.isArray(rules) ? rules : [])
    .map(rule => (rule ?? {}) as { rulePriority?: unknown; selection?: Record<string, unknown> })
    .filter(rule => typeof rule.rulePriority === 'number')
  const applied = parsed.find(rule => rule.rulePriority === rulePriority)
  if (applied && !selectsTags(applied.selection ?? {}, tags)) return true
  return parsed.some(
    rule => (rule.rulePriority as number) < rulePriority && selectsTags(rule.selection ?? {}, tags)
  )
}

function selectsTags(selection: Record<string, unknown>, tags: readonly string[]): boolean {
  if (selection.tagStatus === 'any') return true
  if (selection.tagStatus === 'untagged') return tags.length === 0
  if (selection.tagStatus !== 'tagged' || tags.length === 0) return false
  const prefixes = strings(selection.tagPrefixList)
  if (prefixes.length > 0) return prefixes.every(prefix => tags.some(tag => tag.startsWith(prefix)))
  const patterns = strings(selection.tagPatternList).map(wildcard)
  return patterns.length > 0 && patterns.every(pattern => tags.some(tag => pattern.test(tag)))
}

function strings(value: unknown): string[] {
  return Array.isArray(value)
    ? value.filter((entry): entry is string => typeof entry === 'string')
    : []
}

function wildcard(pattern: string): RegExp {
  const parts = pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${parts.join('.*')}$`)
}

export interface RetentionFinding {
  readonly id: 'image-deleted' | 'image-expiring' | 'image-archived' | 'image-transitioning'
  readonly digest: string
  readonly message: string
  readonly fix: string
}

/** The rules' descriptions by priority; a text that is not a policy gives none. */
export function ruleDescriptions(policyText: string): Map<number, string> {
  const descriptions = new Map<number, string>()
  try {
    const rules = (JSON.parse(policyText) as { rules?: unknown }).rules
    for (const rule of Array.isArray(rules) ? rules : []) {
      const { rulePriority, description } = (rule ?? {}) as Record<string, unknown>
      if (typeof rulePriority === 'number' && typeof description === 'string') {
        descriptions.set(rulePriority, description)
      }
    }
  } catch {
    // Only descriptions are read here; ECR itself has judged the policy.
  }
  return descriptions
}

export function describeUse(use: ImageUse): string {
  if (use.kind === 'deployed') return `this run deploys to ${use.function}`
  if (use.kind === 'current') return `${use.function} runs until this deploy replaces it`
  const aliases = use.aliases?.length ? ` (alias ${use.aliases.join(', ')})` : ''
  return `${use.function} version ${use.version}${aliases} runs`
}

/** Warnings for images in use that ECR no longer holds. */
export function deletedImageFindings(
  repositoryUri: string,
  uses: readonly ImageUse[],
  missing: ReadonlySet<string>
): RetentionFinding[] {
  const findings: RetentionFinding[] = []
  for (const use of uses) {
    if (!missing.has(use.digest) || use.kind === 'deployed') continue
    const image = `${repositoryUri}@${use.digest}`
    if (use.kind === 'current') {
      const versions = uses.filter(other => other.kind === 'version' && other.digest === use.digest)
      findings.push({
        id: 'image-deleted',
        digest: use.digest,
        message: `${use.function}'s current image ${image} is no longer in ECR (deleted, or expired by a lifecycle rule): Lambda cannot load it at the next cold start or re-optimization. This deploy replaces it for $LATEST${versions.length > 0 ? `; published version(s) ${versions.map(v => v.version).join(', ')} still run it and stay broken` : ''}.`,
        fix: 'Find what deleted it (a lifecycle rule, a cleanup job) and keep deployed images out of its reach, e.g. with the deployed-tag input.'
      })
      continue
    }
    findings.push({
      id: 'image-deleted',
      digest: use.digest,
      message: `${describeUse(use)} ${image}, which is no longer in ECR: that version fails at its next cold start, and this deploy does not change it (versions are immutable).`,
      fix: 'Publish a version of an image that exists and point the aliases at it (the alias input publishes one), or push the same image again.'
    })
  }
  return findings
}

/**
 * Warnings for images in use that the lifecycle policy would expire, naming the rule. With
 * deployed-tag, the deployed image is judged as it will be after the deploy: carrying the tag.
 */
export function expiringImageFindings(
  repositoryUri: string,
  uses: readonly ImageUse[],
  expirations: readonly RuleExpiration[],
  policyText: string,
  deployedTag?: string
): RetentionFinding[] {
  const descriptions = ruleDescriptions(policyText)
  const byDigest = new Map(expirations.map(expiration => [expiration.digest, expiration]))
  const findings: RetentionFinding[] = []
  for (const use of uses) {
    const expiration = byDigest.get(use.digest)
    if (!expiration) continue
    // The image a deploy replaces matters only while versions still run it.
    if (use.kind === 'current') continue
    if (
      use.kind === 'deployed' &&
      deployedTag &&
      sparedWithTags(policyText, expiration.rulePriority, [...expiration.tags, deployedTag])
    ) {
      continue
    }
    const description = descriptions.get(expiration.rulePriority)
    if (expiration.action === 'transition') {
      findings.push({
        id: 'image-transitioning',
        digest: use.digest,
        message: `The lifecycle policy of ${repositoryUri} would archive ${use.digest}, which ${describeUse(use)}: rule priority ${expiration.rulePriority}${description ? ` ("${description}")` : ''}. An archived image cannot be pulled, by Lambda neither, until it is restored (about 20 minutes): that ${use.kind === 'version' ? 'version' : 'function'} fails at its next cold start or re-optimization, and a rollback to it fails.`,
        fix: 'Keep deployed images out of the transition rule: set deployed-tag and exclude that tag from the rule (see "Archived images" in the README). A pull-based rule (sinceImagePulled) counts only pulls, and Lambda pulls only on create, update and re-optimization.'
      })
      continue
    }
    findings.push({
      id: 'image-expiring',
      digest: use.digest,
      message: `The lifecycle policy of ${repositoryUri} would expire ${use.digest}, which ${describeUse(use)}: rule priority ${expiration.rulePriority}${description ? ` ("${description}")` : ''}. Once expired, Lambda cannot load it at the next cold start or re-optimization.`,
      fix: 'Keep deployed images out of the rule: set deployed-tag and exclude that tag from the rule (see "Expiring and deleted images" in the README), or raise its count or age.'
    })
  }
  return findings
}

/**
 * An image as DescribeImages reports it (imageStatus ANY): the archive storage class (November
 * 2025) and the times lifecycle rules count from. ECR API reference, ImageDetail: imageStatus
 * ACTIVE | ARCHIVED | ACTIVATING, lastArchivedAt, lastRecordedPullTime, imagePushedAt.
 */
export interface StoredImage {
  readonly digest: string
  readonly tags: readonly string[]
  readonly status: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING'
  /** Epoch ms; undefined when ECR did not say. */
  readonly pushedAt?: number
  readonly lastPulledAt?: number
  readonly archivedAt?: number
}

/** Restoring an archived image takes up to 20 minutes (ECR user guide, "Restoring an image"). */
export const RESTORE_MINUTES = 20
/** Archived images are charged for at least 90 days (ECR user guide, "Archiving an image"). */
export const ARCHIVE_MINIMUM_DAYS = 90

/** The AWS CLI command that restores an archived image (API reference, UpdateImageStorageClass). */
export function restoreCommand(
  repositoryName: string,
  digest: string,
  region?: string,
  /** The registry's account: the command runs with the caller's own account otherwise. */
  account?: string
): string {
  return `aws ecr update-image-storage-class${account ? ` --registry-id ${account}` : ''} --repository-name ${repositoryName} --image-id imageDigest=${digest} --target-storage-class STANDARD${region ? ` --region ${region}` : ''}`
}

/**
 * Warnings for images in use that are archived (or being restored): Lambda cannot pull them
 * ("Archiving an image": pulls of an archived image fail), so the function or version fails at
 * its next cold start or re-optimization, and a rollback to it fails.
 */
export function archivedImageFindings(
  repository: { readonly uri: string; readonly name: string; readonly region?: string },
  uses: readonly ImageUse[],
  stored: ReadonlyMap<string, StoredImage>
): RetentionFinding[] {
  const findings: RetentionFinding[] = []
  for (const use of uses) {
    const image = stored.get(use.digest)
    if (!image || image.status === 'ACTIVE' || use.kind === 'deployed') continue
    const reference = `${repository.uri}@${use.digest}`
    const state = archivedState(image)
    const fix = restoreFix(repository, use.digest)
    if (use.kind === 'current') {
      const versions = uses.filter(other => other.kind === 'version' && other.digest === use.digest)
      findings.push({
        id: 'image-archived',
        digest: use.digest,
        message: `${use.function}'s current image ${reference} is ${state}: Lambda cannot pull it until it is restored. This deploy replaces it for $LATEST${versions.length > 0 ? `; published version(s) ${versions.map(v => v.version).join(', ')} still run it and fail at their next cold start or re-optimization` : ''}.`,
        fix
      })
      continue
    }
    findings.push({
      id: 'image-archived',
      digest: use.digest,
      message: `${describeUse(use)} ${reference}, which is ${state}: Lambda cannot pull it until it is restored, so that version fails at its next cold start or re-optimization, and a rollback to it fails.`,
      fix
    })
  }
  return findings
}

function archivedState(image: StoredImage): string {
  if (image.status === 'ACTIVATING') return 'being restored from the archive storage class'
  const since = image.archivedAt ? ` since ${new Date(image.archivedAt).toISOString()}` : ''
  return `archived (ECR archive storage class${since})`
}

/** How to restore an archived image, and what it costs. */
export function restoreFix(
  repository: { readonly name: string; readonly region?: string; readonly account?: string },
  digest: string
): string {
  return `Restore it: ${restoreCommand(repository.name, digest, repository.region, repository.account)} (takes up to ${RESTORE_MINUTES} minutes; DescribeImages shows ACTIVATING until then; archived images are charged for at least ${ARCHIVE_MINIMUM_DAYS} days), or push the image again, and keep deployed images out of the transition rule (deployed-tag).`
}

const DAY_MS = 24 * 60 * 60 * 1000

/**
 * Whether the lifecycle policy can change anything in the repository now: some rule selects an
 * image (its storage class and tags) beyond the rule's count (imageCountMoreThan) or age
 * (sinceImagePushed, sinceImagePulled, sinceImageTransitioned; ECR user guide "Lifecycle policy
 * properties"). When no rule can, ECR's preview would find nothing, so it need not run. Rule
 * priorities are not weighed (a higher rule can only spare images), so this may say yes where
 * the preview then finds nothing, never no where it would find something. A policy or a rule
 * this cannot read is left to ECR: yes.
 */
export function lifecycleCanChange(
  policyText: string,
  images: readonly StoredImage[],
  now: number
): boolean {
  let rules: unknown
  try {
    rules = (JSON.parse(policyText) as { rules?: unknown }).rules
  } catch {
    return true
  }
  if (!Array.isArray(rules)) return true
  return rules.some(value => {
    const rule = (value ?? {}) as { selection?: Record<string, unknown> }
    const selection = rule.selection ?? {}
    const storage = selection.storageClass ?? 'standard'
    if (storage !== 'standard' && storage !== 'archive') return true
    const selected = images.filter(
      image =>
        (image.status === 'ACTIVE' ? 'standard' : 'archive') === storage &&
        selectsTags(selection, image.tags)
    )
    const count = selection.countNumber
    if (typeof count !== 'number') return true
    switch (selection.countType) {
      case 'imageCountMoreThan':
        return selected.length > count
      case 'sinceImagePushed':
        return selected.some(image => olderThan(image.pushedAt, count, now))
      case 'sinceImagePulled':
        return selected.some(image => olderThan(image.lastPulledAt ?? image.pushedAt, count, now))
      case 'sinceImageTransitioned':
        return selected.some(image => olderThan(image.archivedAt, count, now))
      default:
        return true
    }
  })
}

/** Unknown times count as old enough: ECR judges those. */
function olderThan(at: number | undefined, days: number, now: number): boolean {
  return at === undefined || now - at > days * DAY_MS
}
