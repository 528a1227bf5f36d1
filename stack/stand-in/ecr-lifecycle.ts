import { AwsError } from './wire.js'
import {
  evaluateLifecycleRules,
  LifecyclePolicyError,
  parseLifecycleRules,
  type RepositoryImage
} from './lifecycle-rules.js'
import type { Caller } from './sigv4.js'
import type { RepositoryRecord } from './state.js'

/**
 * ECR's lifecycle policy operations: GetLifecyclePolicy, PutLifecyclePolicy,
 * StartLifecyclePolicyPreview and GetLifecyclePolicyPreview (ECR API reference, one page each).
 * The preview is asynchronous: it starts IN_PROGRESS and is COMPLETE a little later; its results
 * are the policy applied to the images as they were when it started (lifecycle-rules.ts).
 *
 * Push times: the images live in the real registry, which keeps no push time the stand-in can
 * read. An image's push time is the first time a preview (or DescribeImages) saw it, so images
 * pushed between two looks are ordered as they were pushed; tagged images only (the registry
 * lists tags).
 * Storage classes and pull times come from ecr-archive.ts and the seeded pull times; a preview
 * reports transitions to archive as well as expirations (lifecycle-rules.ts).
 */

/** How long a preview stays IN_PROGRESS: long enough that a client must poll. */
export const PREVIEW_DURATION_MS = 1_500
/** The smallest policy text StartLifecyclePolicyPreview and PutLifecyclePolicy take (API ref). */
const MIN_POLICY_LENGTH = 100
const MAX_POLICY_LENGTH = 30_720

export interface LifecycleDependencies {
  readonly repository: (input: Record<string, unknown>, caller: Caller) => RepositoryRecord
  /** The repository's images with their tags, as the registry holds them now; archivedAt for
   * an image in the archive storage class, lastPulledAt when a pull was recorded. */
  readonly images: (
    repository: RepositoryRecord
  ) => Promise<{ digest: string; tags: string[]; archivedAt?: number; lastPulledAt?: number }[]>
  readonly now?: () => number
}

export function lifecycleOperations({
  repository: requireRepository,
  images,
  now = Date.now
}: LifecycleDependencies): Record<
  string,
  (input: Record<string, unknown>, caller: Caller) => unknown
> {
  const notFound = (repository: RepositoryRecord) =>
    new AwsError(
      'LifecyclePolicyNotFoundException',
      // ECR API reference, GetLifecyclePolicy errors; the wording follows the repository
      // policy's "does not exist" message, which is quoted from real responses.
      `Lifecycle policy does not exist for the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
      400
    )
  return {
    GetLifecyclePolicy(input, caller) {
      const repository = requireRepository(input, caller)
      if (repository.lifecyclePolicyText === undefined) throw notFound(repository)
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        lifecyclePolicyText: repository.lifecyclePolicyText
      }
    },

    PutLifecyclePolicy(input, caller) {
      const repository = requireRepository(input, caller)
      const text = policyText(input.lifecyclePolicyText, true)!
      repository.lifecyclePolicyText = text
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        lifecyclePolicyText: text
      }
    },

    async StartLifecyclePolicyPreview(input, caller) {
      const repository = requireRepository(input, caller)
      const started = now()
      const running = repository.lifecyclePreview
      if (running && running.completesAt > started) {
        // API reference, StartLifecyclePolicyPreview errors.
        throw new AwsError(
          'LifecyclePolicyPreviewInProgressException',
          'The previous lifecycle policy preview request has not completed. Wait and try again.',
          400
        )
      }
      const text = policyText(input.lifecyclePolicyText, false) ?? repository.lifecyclePolicyText
      if (text === undefined) throw notFound(repository)
      const rules = parseLifecycleRules(text)
      const seen = (repository.imagePushedAt ??= {})
      const current: RepositoryImage[] = (await images(repository)).map(image => ({
        ...image,
        pushedAt: (seen[image.digest] ??= started),
        storageClass: image.archivedAt === undefined ? 'standard' : 'archive'
      }))
      repository.lifecyclePreview = {
        policyText: text,
        completesAt: started + PREVIEW_DURATION_MS,
        results: evaluateLifecycleRules(rules, current, started).map(expiration => ({
          imageDigest: expiration.image.digest,
          imageTags: [...expiration.image.tags],
          imagePushedAt: Math.floor(expiration.image.pushedAt / 1000),
          // API reference, LifecyclePolicyPreviewResult: action.type EXPIRE | TRANSITION, with
          // targetStorageClass ARCHIVE for a transition; storageClass STANDARD | ARCHIVE.
          action:
            expiration.action === 'transition'
              ? { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' }
              : { type: 'EXPIRE' },
          appliedRulePriority: expiration.rulePriority,
          storageClass: expiration.image.storageClass === 'archive' ? 'ARCHIVE' : 'STANDARD'
        }))
      }
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        lifecyclePolicyText: text,
        status: 'IN_PROGRESS'
      }
    },

    GetLifecyclePolicyPreview(input, caller) {
      const repository = requireRepository(input, caller)
      const preview = repository.lifecyclePreview
      if (!preview) {
        // API reference, GetLifecyclePolicyPreview errors; worded by the stand-in.
        throw new AwsError(
          'LifecyclePolicyPreviewNotFoundException',
          `There is no dry run for the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
          400
        )
      }
      const complete = preview.completesAt <= now()
      return {
        registryId: repository.account,
        repositoryName: repository.name,
        lifecyclePolicyText: preview.policyText,
        status: complete ? 'COMPLETE' : 'IN_PROGRESS',
        previewResults: complete ? preview.results : [],
        // API reference, LifecyclePolicyPreviewSummary: expiringImageTotalCount and
        // transitioningImageTotalCounts (one entry per target storage class).
        summary: complete ? previewSummary(preview.results) : { expiringImageTotalCount: 0 }
      }
    }
  }
}

function previewSummary(results: readonly { action: { type: string } }[]) {
  const transitioning = results.filter(result => result.action.type === 'TRANSITION').length
  return {
    expiringImageTotalCount: results.length - transitioning,
    ...(transitioning > 0
      ? {
          transitioningImageTotalCounts: [
            { targetStorageClass: 'ARCHIVE', imageTotalCount: transitioning }
          ]
        }
      : {})
  }
}

function policyText(value: unknown, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw invalid('must not be null')
    return undefined
  }
  if (typeof value !== 'string') throw invalid('must be a string')
  if (value.length < MIN_POLICY_LENGTH || value.length > MAX_POLICY_LENGTH) {
    throw invalid(`Member must have length between ${MIN_POLICY_LENGTH} and ${MAX_POLICY_LENGTH}`)
  }
  try {
    parseLifecycleRules(value)
  } catch (error) {
    if (error instanceof LifecyclePolicyError) {
      // ECR refuses such a policy with InvalidParameterException (API reference, PutLifecyclePolicy).
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: '${error.message}'`,
        400
      )
    }
    throw error
  }
  return value
}

function invalid(constraint: string): AwsError {
  return new AwsError(
    'InvalidParameterException',
    `Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: '${constraint}'`,
    400
  )
}
