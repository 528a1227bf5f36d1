import {
  BatchGetImageCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  StartLifecyclePolicyPreviewCommand
} from '@aws-sdk/client-ecr'
import type { RepositoryLocation } from '../domain/aws-names.js'
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
   * `waitMs` (or ended FAILED/EXPIRED).
   */
  previewLifecycle(
    repository: RepositoryLocation,
    waitMs: number
  ): Promise<LifecyclePreview | undefined>
}

export interface LifecyclePreview {
  /** The policy the preview evaluated (the repository's own). */
  readonly policyText: string
  readonly expiring: readonly ExpiringImage[]
}

export interface ExpiringImage {
  readonly digest: string
  readonly tags: readonly string[]
  readonly rulePriority: number
}

/** BatchGetImage takes at most 100 image ids (ECR API reference, BatchGetImage, imageIds). */
export const BATCH_GET_IMAGE_LIMIT = 100
/** How often the preview is asked for its status; AWS documents no completion time. */
const PREVIEW_POLL_MS = 1_000
/** ImageFailure.failureCode for an image the repository does not hold (API reference). */
const IMAGE_NOT_FOUND = 'ImageNotFound'

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
      const deadline = Date.now() + waitMs
      try {
        await client.send(new StartLifecyclePolicyPreviewCommand(ids(repository)))
      } catch (error) {
        // Another preview of this repository is running (another pipeline): its results are of
        // the same policy, and it is waited for like this one.
        if (errorName(error) !== 'LifecyclePolicyPreviewInProgressException') {
          throw explainAwsError(
            error,
            'ecr:StartLifecyclePolicyPreview',
            `repository ${repository.uri}`
          )
        }
      }
      try {
        for (;;) {
          const first = await client.send(
            new GetLifecyclePolicyPreviewCommand({ ...ids(repository) })
          )
          if (first.status === 'FAILED' || first.status === 'EXPIRED') return undefined
          if (first.status === 'COMPLETE') {
            const expiring: ExpiringImage[] = []
            let page = first
            for (;;) {
              for (const result of page.previewResults ?? []) {
                if (!result.imageDigest || result.action?.type !== 'EXPIRE') continue
                expiring.push({
                  digest: result.imageDigest,
                  tags: result.imageTags ?? [],
                  rulePriority: result.appliedRulePriority ?? 0
                })
              }
              if (!page.nextToken) break
              page = await client.send(
                new GetLifecyclePolicyPreviewCommand({
                  ...ids(repository),
                  nextToken: page.nextToken
                })
              )
            }
            return { policyText: first.lifecyclePolicyText ?? '', expiring }
          }
          if (Date.now() + PREVIEW_POLL_MS > deadline) return undefined
          await sleep(PREVIEW_POLL_MS)
        }
      } catch (error) {
        throw explainAwsError(
          error,
          'ecr:GetLifecyclePolicyPreview',
          `repository ${repository.uri}`
        )
      }
    }
  }
}
