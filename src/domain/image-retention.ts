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
  readonly id: 'image-deleted' | 'image-expiring'
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
      fix: 'Publish a version of an image that exists and point the aliases at it (publish: true with alias), or push the same image again.'
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
    findings.push({
      id: 'image-expiring',
      digest: use.digest,
      message: `The lifecycle policy of ${repositoryUri} would expire ${use.digest}, which ${describeUse(use)}: rule priority ${expiration.rulePriority}${description ? ` ("${description}")` : ''}. Once expired, Lambda cannot load it at the next cold start or re-optimization.`,
      fix: 'Keep deployed images out of the rule: set deployed-tag and exclude that tag from the rule (see "Expiring and deleted images" in the README), or raise its count or age.'
    })
  }
  return findings
}
