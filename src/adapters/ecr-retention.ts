import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  StartLifecyclePolicyPreviewCommand
} from '@aws-sdk/client-ecr'
import type { RepositoryLocation } from '../domain/aws-names.js'
import type { StoredImage } from '../domain/image-retention.js'
import { errorName, explainAwsError } from './aws-errors.js'

/**
 * What ECR keeps, and for how long: whether images still exist, and what the repository's
 * lifecycle policy would expire. Reads only; kept apart from ecr.ts, which pushes and grants.
 */
export interface ImageRetention {
  /** The digests among `digests` that the repository no longer holds. */
  missingDigests(repository: RepositoryLocation, digests: readonly string[]): Promise<string[]>
  /** The lifecycle policy text, or undefined when the repository has none. */
  lifecyclePolicy(repository: RepositoryLocation): Promise<string | undefined>
  /**
   * ECR's own evaluation of the repository's lifecycle policy (StartLifecyclePolicyPreview, then
   * GetLifecyclePolicyPreview until COMPLETE). Undefined when it did not complete within
   * `waitMs` (or ended FAILED/EXPIRED). Every call, a hanging one too, ends at `waitMs`.
   */
  previewLifecycle(
    repository: RepositoryLocation,
    waitMs: number
  ): Promise<LifecyclePreview | undefined>
  /**
   * Every image of the repository, archived ones too (DescribeImages with filter imageStatus
   * ANY, every page): its storage status and the times lifecycle rules count from.
   */
  images(repository: RepositoryLocation): Promise<StoredImage[]>
}

export interface LifecyclePreview {
  /** The policy the preview evaluated (the repository's own). */
  readonly policyText: string
  /** Images a rule expires or (archive storage class) transitions to ARCHIVE. */
  readonly expiring: readonly ExpiringImage[]
}

export interface ExpiringImage {
  readonly digest: string
  readonly tags: readonly string[]
  readonly rulePriority: number
  /** LifecyclePolicyRuleAction.type EXPIRE, or TRANSITION (to ARCHIVE). */
  readonly action: 'expire' | 'transition'
}

/** BatchGetImage takes at most 100 image ids (ECR API reference, BatchGetImage, imageIds). */
export const BATCH_GET_IMAGE_LIMIT = 100
/** How often the preview is asked for its status; AWS documents no completion time. */
const PREVIEW_POLL_MS = 1_000
/** ImageFailure.failureCode for an image the repository does not hold (API reference). */
const IMAGE_NOT_FOUND = 'ImageNotFound'
/** DescribeImages maxResults may be up to 1000 (API reference, DescribeImages). */
const DESCRIBE_IMAGES_PAGE = 1000

/** Why a bounded preview gave up: its time ran out. */
class PreviewTimeUp extends Error {}

/**
 * The promise, or a PreviewTimeUp rejection as soon as the signal aborts: a call that hangs (a
 * connection that never answers) ends at the limit, whatever the SDK does with the signal.
 */
function bounded<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new PreviewTimeUp())
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(new PreviewTimeUp())
    signal.addEventListener('abort', stop, { once: true })
    promise.then(
      value => {
        signal.removeEventListener('abort', stop)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', stop)
        reject(signal.aborted ? new PreviewTimeUp() : (error as Error))
      }
    )
  })
}

export function createImageRetention(
  client: ECRClient,
  sleep: (ms: number) => Promise<void> = ms => new Promise(resolve => setTimeout(resolve, ms))
): ImageRetention {
  const ids = (repository: RepositoryLocation) => ({
    registryId: repository.account,
    repositoryName: repository.name
  })
  return {
    async missingDigests(repository, digests) {
      const missing: string[] = []
      const unique = [...new Set(digests)]
      for (let start = 0; start < unique.length; start += BATCH_GET_IMAGE_LIMIT) {
        const batch = unique.slice(start, start + BATCH_GET_IMAGE_LIMIT)
        try {
          const answer = await client.send(
            new BatchGetImageCommand({
              ...ids(repository),
              imageIds: batch.map(imageDigest => ({ imageDigest }))
            })
          )
          for (const failure of answer.failures ?? []) {
            const digest = failure.imageId?.imageDigest
            if (failure.failureCode === IMAGE_NOT_FOUND && digest) missing.push(digest)
          }
        } catch (error) {
          throw explainAwsError(error, 'ecr:BatchGetImage', `repository ${repository.uri}`)
        }
      }
      return missing
    },

    async lifecyclePolicy(repository) {
      try {
        const answer = await client.send(new GetLifecyclePolicyCommand(ids(repository)))
        return answer.lifecyclePolicyText
      } catch (error) {
        if (errorName(error) === 'LifecyclePolicyNotFoundException') return undefined
        throw explainAwsError(error, 'ecr:GetLifecyclePolicy', `repository ${repository.uri}`)
      }
    },

    async previewLifecycle(repository, waitMs) {
      // The limit holds for every call, a poll that hangs too: the signal goes to the SDK (which
      // aborts the request) and bounds the wait for its answer.
      const signal = AbortSignal.timeout(Math.max(0, waitMs))
      const deadline = Date.now() + waitMs
      try {
        try {
          await bounded(
            client.send(new StartLifecyclePolicyPreviewCommand(ids(repository)), {
              abortSignal: signal
            }),
            signal
          )
        } catch (error) {
          // Another preview of this repository is running (another pipeline): its results are
          // of the same policy, and it is waited for like this one.
          if (error instanceof PreviewTimeUp) throw error
          if (errorName(error) !== 'LifecyclePolicyPreviewInProgressException') {
            throw explainAwsError(
              error,
              'ecr:StartLifecyclePolicyPreview',
              `repository ${repository.uri}`
            )
          }
        }
        try {
          return await previewResults(repository, signal, deadline)
        } catch (error) {
          if (error instanceof PreviewTimeUp) throw error
          throw explainAwsError(
            error,
            'ecr:GetLifecyclePolicyPreview',
            `repository ${repository.uri}`
          )
        }
      } catch (error) {
        if (error instanceof PreviewTimeUp) return undefined
        throw error
      }
    },

    async images(repository) {
      const images: StoredImage[] = []
      try {
        let nextToken: string | undefined
        do {
          const page = await client.send(
            new DescribeImagesCommand({
              ...ids(repository),
              filter: { imageStatus: 'ANY' },
              maxResults: DESCRIBE_IMAGES_PAGE,
              nextToken
            })
          )
          for (const detail of page.imageDetails ?? []) {
            if (!detail.imageDigest) continue
            images.push({
              digest: detail.imageDigest,
              tags: detail.imageTags ?? [],
              status:
                detail.imageStatus === 'ARCHIVED' || detail.imageStatus === 'ACTIVATING'
                  ? detail.imageStatus
                  : 'ACTIVE',
              pushedAt: detail.imagePushedAt?.getTime(),
              lastPulledAt: detail.lastRecordedPullTime?.getTime(),
              archivedAt: detail.lastArchivedAt?.getTime()
            })
          }
          nextToken = page.nextToken
        } while (nextToken)
      } catch (error) {
        throw explainAwsError(error, 'ecr:DescribeImages', `repository ${repository.uri}`)
      }
      return images
    }
  }

  /** GetLifecyclePolicyPreview until COMPLETE, then every page of its results. */
  async function previewResults(
    repository: RepositoryLocation,
    signal: AbortSignal,
    deadline: number
  ): Promise<LifecyclePreview | undefined> {
    for (;;) {
      const first = await bounded(
        client.send(new GetLifecyclePolicyPreviewCommand({ ...ids(repository) }), {
          abortSignal: signal
        }),
        signal
      )
      if (first.status === 'FAILED' || first.status === 'EXPIRED') return undefined
      if (first.status === 'COMPLETE') {
        const expiring: ExpiringImage[] = []
        let page = first
        for (;;) {
          for (const result of page.previewResults ?? []) {
            const type = result.action?.type
            if (!result.imageDigest || (type !== 'EXPIRE' && type !== 'TRANSITION')) continue
            expiring.push({
              digest: result.imageDigest,
              tags: result.imageTags ?? [],
              rulePriority: result.appliedRulePriority ?? 0,
              action: type === 'TRANSITION' ? 'transition' : 'expire'
            })
          }
          if (!page.nextToken) break
          page = await bounded(
            client.send(
              new GetLifecyclePolicyPreviewCommand({
                ...ids(repository),
                nextToken: page.nextToken
              }),
              { abortSignal: signal }
            ),
            signal
          )
        }
        return { policyText: first.lifecyclePolicyText ?? '', expiring }
      }
      // No poll starts that the limit would cut short anyway.
      if (Date.now() + PREVIEW_POLL_MS > deadline) return undefined
      await bounded(sleep(PREVIEW_POLL_MS), signal)
    }
  }
}
