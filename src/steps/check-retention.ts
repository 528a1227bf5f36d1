import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import { isActionError } from '../domain/errors.js'
import {
  archivedImageFindings,
  deletedImageFindings,
  expiringImageFindings,
  lifecycleCanChange,
  type ImageUse,
  type RetentionFinding,
  type RuleExpiration,
  type StoredImage
} from '../domain/image-retention.js'
import type { PushedImage } from './push-image.js'
import type { DeployPlan, DeployTarget } from './resolve-target.js'

/** What a repository's check found; `lifecycle` says how far the lifecycle check got. */
export interface RetentionReport {
  readonly repository: string
  readonly uses: readonly ImageUse[]
  /** In-use digests the repository no longer holds. */
  readonly missing: readonly string[]
  /** In-use digests in the archive storage class (ARCHIVED, or ACTIVATING: being restored). */
  readonly archived: readonly string[]
  /** unchanged: the policy can change nothing now (no rule reaches its count or age), so ECR's
   * preview was not started. */
  readonly lifecycle: 'no-policy' | 'unchanged' | 'previewed' | 'not-evaluated' | 'not-checked'
  /** Why the lifecycle policy or the images could not be checked, in words. */
  readonly notes: readonly string[]
  /** In-use digests the lifecycle policy would expire or archive (RuleExpiration.action). */
  readonly expiring: readonly RuleExpiration[]
  readonly findings: readonly RetentionFinding[]
}

/**
 * How long the lifecycle policy preview is waited for. ECR documents no completion time; a
 * preview of a small repository completes in seconds, and a deploy should not wait minutes
 * for a warning.
 */
export const LIFECYCLE_PREVIEW_WAIT_SECONDS = 30

/**
 * Before the functions are updated (and after the push, so ECR's preview sees the image being
 * deployed): are the images the functions run still in ECR, and would the repository's lifecycle
 * policy expire any of them? Only warns; a refused read is a notice.
 */
export async function checkRetention(
  plan: DeployPlan,
  imageFor: (target: DeployTarget) => PushedImage,
  aws: AwsServices,
  deployedTag?: string,
  previewWaitSeconds = LIFECYCLE_PREVIEW_WAIT_SECONDS
): Promise<RetentionReport[]> {
  const reports: RetentionReport[] = []
  for (const repository of plan.repositories) {
    const targets = plan.targets.filter(target => target.repository === repository)
    const notes: string[] = []
    const uses: ImageUse[] = []
    for (const target of targets) {
      uses.push({
        function: target.function.name,
        digest: imageFor(target).digest,
        kind: 'deployed'
      })
      uses.push(...(await imagesInUse(target, aws, notes)))
    }
    const retention = aws.retention(repository.region)
    const others = uses.filter(use => use.kind !== 'deployed').map(use => use.digest)
    // Independent reads, in parallel: which images are gone, which are archived (and what the
    // repository holds, for the lifecycle decision), and the lifecycle policy.
    const [gone, stored, policy] = await Promise.all([
      others.length > 0
        ? refusedAsNote(notes, () => retention.missingDigests(repository, others), [])
        : Promise.resolve([]),
      refusedAsNote(notes, () => retention.images(repository), null),
      refusedAsNote(notes, () => retention.lifecyclePolicy(repository), null)
    ])
    const storedByDigest = new Map((stored ?? []).map(image => [image.digest, image]))
    const archived = [...new Set(others)].filter(digest => isArchived(storedByDigest.get(digest)))
    // An archived image cannot be pulled, so BatchGetImage may not return it: it is archived, not
    // deleted.
    const missing = gone.filter(digest => !archived.includes(digest))
    const findings = [
      ...deletedImageFindings(repository.uri, uses, new Set(missing)),
      ...archivedImageFindings(repository, uses, storedByDigest)
    ]
    let lifecycle: RetentionReport['lifecycle'] = 'not-checked'
    let expiring: RuleExpiration[] = []
    if (policy === undefined) lifecycle = 'no-policy'
    else if (
      policy !== null &&
      stored !== null &&
      !lifecycleCanChange(policy, stored, Date.now())
    ) {
      lifecycle = 'unchanged'
    } else if (policy !== null) {
      const preview = await refusedAsNote(
        notes,
        () => retention.previewLifecycle(repository, previewWaitSeconds * 1000),
        null
      )
      if (preview === undefined) {
        lifecycle = 'not-evaluated'
        notes.push(
          `ECR's lifecycle policy preview of ${repository.uri} did not complete within ${previewWaitSeconds} s, so it is not known whether the policy would expire or archive the images in use.`
        )
      } else if (preview !== null) {
        lifecycle = 'previewed'
        const inUse = new Set(uses.map(use => use.digest))
        expiring = preview.expiring
          .filter(image => inUse.has(image.digest))
          .map(image => ({
            digest: image.digest,
            rulePriority: image.rulePriority,
            tags: image.tags,
            action: image.action
          }))
        const warned = expiringImageFindings(
          repository.uri,
          uses,
          expiring,
          preview.policyText || policy,
          deployedTag
        )
        findings.push(...warned)
        // Reported: what is warned about (not the image being replaced, nor a deployed image
        // that deployed-tag will protect).
        expiring = expiring.filter(image => warned.some(finding => finding.digest === image.digest))
      }
    }
    for (const finding of findings) {
      core.warning(`${finding.message} Fix: ${finding.fix}`, {
        title: `${finding.id} (images in ECR)`
      })
    }
    for (const note of notes) core.notice(note)
    reports.push({
      repository: repository.uri,
      uses,
      missing,
      archived,
      lifecycle,
      notes,
      expiring,
      findings
    })
  }
  return reports
}

/** ARCHIVED, or ACTIVATING (being restored: still not pullable, "Restoring an image"). */
function isArchived(image: StoredImage | undefined): boolean {
  return image !== undefined && image.status !== 'ACTIVE'
}

/** The image the function runs now, and those of its published versions (same repository). */
async function imagesInUse(
  target: DeployTarget,
  aws: AwsServices,
  notes: string[]
): Promise<ImageUse[]> {
  const fn = target.function
  // Lambda's ImageUri names the repository; a function moved between repositories keeps its
  // old images elsewhere, which this repository's checks cannot speak for.
  if (
    !fn.codeSha256 ||
    (!fn.imageUri.startsWith(`${target.repository.uri}@`) &&
      !fn.imageUri.startsWith(`${target.repository.uri}:`))
  ) {
    return []
  }
  const uses: ImageUse[] = [
    { function: fn.name, digest: `sha256:${fn.codeSha256}`, kind: 'current' }
  ]
  const versions = await refusedAsNote(
    notes,
    () => aws.versions(target.region, target.roleArn).publishedVersions(fn.arn),
    []
  )
  for (const version of versions) {
    if (!version.codeSha256) continue
    uses.push({
      function: fn.name,
      digest: `sha256:${version.codeSha256}`,
      kind: 'version',
      version: version.version,
      aliases: version.aliases
    })
  }
  return uses
}

/**
 * The read's answer, or `fallback` with a note when AWS refused it or failed (access denied,
 * throttling after the SDK's retries): these checks only warn, so they never stop a deploy.
 */
async function refusedAsNote<T, F>(
  notes: string[],
  read: () => Promise<T>,
  fallback: F
): Promise<T | F> {
  try {
    return await read()
  } catch (error) {
    if (!isActionError(error)) throw error
    notes.push(`${error.reason} The images in ECR were not fully checked. ${error.fix}`)
    return fallback
  }
}
