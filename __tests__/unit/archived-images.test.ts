import { describe, expect, it } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { ImageRetention } from '../../src/adapters/ecr-retention.js'
import type { VersionReader } from '../../src/adapters/lambda-versions.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'
import type { CurrentAlias } from '../../src/domain/function-changes.js'
import type { StoredImage } from '../../src/domain/image-retention.js'
import { checkRetention } from '../../src/steps/check-retention.js'
import {
  checkRolloutImagesActive,
  explainArchivedImage
} from '../../src/steps/check-archived-images.js'
import type { PushedImage } from '../../src/steps/push-image.js'
import type { DeployPlan, DeployTarget } from '../../src/steps/resolve-target.js'

/**
 * Images in ECR's archive storage class (issue 26 item 3) and the lifecycle preview only where
 * it can find something (issue 25 item 4), with the reads replaced by fakes that record calls.
 */

const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const FN_ARN = 'arn:aws:lambda:us-east-1:111111111111:function:api'
const hex = (c: string) => c.repeat(64)
const target = {
  function: {
    name: 'api',
    arn: FN_ARN,
    codeSha256: hex('c'),
    imageUri: `${repository.uri}@sha256:${hex('c')}`
  },
  region: 'us-east-1',
  account: '111111111111',
  repository,
  overrides: {}
} as unknown as DeployTarget
const plan = { targets: [target], repositories: [repository] } as unknown as DeployPlan
const deployed: PushedImage = {
  digest: `sha256:${hex('d')}`,
  imageUri: `${repository.uri}@sha256:${hex('d')}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json'
}
const versions: VersionReader = {
  publishedVersions: () =>
    Promise.resolve([
      { version: '1', codeSha256: hex('a'), aliases: [] },
      { version: '2', codeSha256: hex('c'), aliases: ['live'] }
    ])
}

function fakeRetention(stored: StoredImage[], policy: string | undefined) {
  const calls: string[] = []
  const retention: ImageRetention = {
    missingDigests: (_repository, digests) => {
      calls.push('missingDigests')
      // The stricter model: an archived image is not returned by BatchGetImage either.
      return Promise.resolve(
        digests.filter(digest => stored.find(image => image.digest === digest)?.status !== 'ACTIVE')
      )
    },
    lifecyclePolicy: () => {
      calls.push('lifecyclePolicy')
      return Promise.resolve(policy)
    },
    previewLifecycle: () => {
      calls.push('previewLifecycle')
      return Promise.resolve({ policyText: policy ?? '', expiring: [] })
    },
    images: () => {
      calls.push('images')
      return Promise.resolve(stored)
    }
  }
  return { retention, calls }
}

const awsWith = (retention: ImageRetention) =>
  ({ retention: () => retention, versions: () => versions }) as unknown as AwsServices

const image = (c: string, status: StoredImage['status'], tags: string[] = []): StoredImage => ({
  digest: `sha256:${hex(c)}`,
  tags,
  status,
  pushedAt: Date.now() - 60_000
})

const countRule = (countNumber: number) =>
  JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber },
        action: { type: 'transition', targetStorageClass: 'archive' }
      }
    ]
  })

describe('the retention check and archived images', () => {
  it('reports an archived image a version serves as archived, not as deleted', async () => {
    const { retention } = fakeRetention(
      [image('a', 'ACTIVE'), image('c', 'ARCHIVED'), image('d', 'ACTIVE')],
      undefined
    )
    const [report] = await checkRetention(plan, () => deployed, awsWith(retention))
    expect(report?.missing).toEqual([])
    expect(report?.archived).toEqual([`sha256:${hex('c')}`])
    expect(report?.findings.map(finding => finding.id)).toEqual([
      'image-archived',
      'image-archived'
    ])
    expect(report?.findings[1]?.message).toContain('api version 2 (alias live) runs')
  })

  it('starts no lifecycle preview when the repository has no policy', async () => {
    const { retention, calls } = fakeRetention([image('c', 'ACTIVE')], undefined)
    const [report] = await checkRetention(plan, () => deployed, awsWith(retention))
    expect(report?.lifecycle).toBe('no-policy')
    expect(calls).not.toContain('previewLifecycle')
  })

  it('starts no lifecycle preview when no rule of the policy can change anything now', async () => {
    const { retention, calls } = fakeRetention(
      [image('a', 'ACTIVE'), image('c', 'ACTIVE')],
      countRule(5)
    )
    const [report] = await checkRetention(plan, () => deployed, awsWith(retention))
    expect(report?.lifecycle).toBe('unchanged')
    expect(calls).not.toContain('previewLifecycle')
  })

  it('previews the policy when a rule can change something', async () => {
    const { retention, calls } = fakeRetention(
      [image('a', 'ACTIVE'), image('c', 'ACTIVE')],
      countRule(1)
    )
    const [report] = await checkRetention(plan, () => deployed, awsWith(retention))
    expect(report?.lifecycle).toBe('previewed')
    expect(calls).toContain('previewLifecycle')
  })
})

const readers = (
  releases: Pick<import('../../src/adapters/lambda-releases.js').ReleaseService, 'alias'>,
  retention: ImageRetention
) =>
  ({
    releases: () => releases,
    versions: () => versions,
    retention: () => retention
  }) as unknown as AwsServices

describe('a rollout and archived images', () => {
  const alias = (
    functionVersion: string
  ): Pick<import('../../src/adapters/lambda-releases.js').ReleaseService, 'alias'> => ({
    alias: () =>
      Promise.resolve({ functionVersion, weights: {}, revisionId: 'r' } satisfies CurrentAlias)
  })

  it('is refused before any change when the version the alias serves (the rollback) is archived', async () => {
    const { retention } = fakeRetention([image('c', 'ARCHIVED'), image('d', 'ACTIVE')], undefined)
    const error = await checkRolloutImagesActive(
      target,
      deployed,
      'live',
      readers(alias('2'), retention)
    ).catch((e: unknown) => e as { id: string; reason: string; fix: string })
    expect(error).toMatchObject({ id: 'image-archived' })
    const { reason, fix } = error as { reason: string; fix: string }
    expect(reason).toContain(`version 2, which alias live serves now and a rollback goes back to,`)
    expect(reason).toContain(`${repository.uri}@sha256:${hex('c')}, which is archived`)
    expect(reason).toContain('api was not changed')
    expect(fix).toContain(
      `aws ecr update-image-storage-class --registry-id 111111111111 --repository-name app --image-id imageDigest=sha256:${hex('c')} --target-storage-class STANDARD`
    )
  })

  it('is refused when the image being rolled out is archived', async () => {
    const { retention } = fakeRetention([image('c', 'ACTIVE'), image('d', 'ACTIVATING')], undefined)
    const error = await checkRolloutImagesActive(
      target,
      deployed,
      'live',
      readers(alias('2'), retention)
    ).catch((e: unknown) => e as { reason: string })
    expect((error as { reason: string }).reason).toContain('the image this rollout deploys runs')
    expect((error as { reason: string }).reason).toContain('still being restored')
  })

  it('lets a rollout go when every image it can serve is active', async () => {
    const { retention } = fakeRetention([image('a', 'ARCHIVED'), image('c', 'ACTIVE')], undefined)
    // Version 1's image is archived, but the alias does not serve version 1.
    await expect(
      checkRolloutImagesActive(target, deployed, 'live', readers(alias('2'), retention))
    ).resolves.toBeUndefined()
  })
})

describe('a deploy-only image that is archived', () => {
  const missing = new ActionError(
    'pushed-image-missing',
    'ECR does not return the pushed image (ImageNotFound: Requested image not found).',
    'Check the push output above.'
  )

  it('fails naming the archive and the restore command, by digest or by tag', async () => {
    const { retention } = fakeRetention([{ ...image('c', 'ARCHIVED'), tags: ['v1'] }], undefined)
    for (const reference of [
      { repository, digest: `sha256:${hex('c')}` },
      { repository, tag: 'v1' }
    ]) {
      const error = (await explainArchivedImage(missing, reference, retention)) as ActionError
      expect(error.id).toBe('image-archived')
      expect(error.reason).toContain(`${repository.uri}@sha256:${hex('c')}`)
      expect(error.reason).toContain("is in ECR's archive storage class")
      expect(error.fix).toContain('--target-storage-class STANDARD')
    }
  })

  it('gives back any other error, and the error of an image that is not archived', async () => {
    const { retention } = fakeRetention([image('c', 'ACTIVE')], undefined)
    const other = new Error('network')
    expect(await explainArchivedImage(other, { repository, tag: 'v1' }, retention)).toBe(other)
    expect(
      await explainArchivedImage(missing, { repository, digest: `sha256:${hex('c')}` }, retention)
    ).toBe(missing)
  })
})
