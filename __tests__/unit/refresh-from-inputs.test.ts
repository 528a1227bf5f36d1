import { describe, expect, it } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { StoredManifest } from '../../src/adapters/ecr.js'
import { ActionError } from '../../src/domain/errors.js'
import type { ResolvedBase } from '../../src/steps/base-image.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'
import { refreshFromInputs, type BuildFingerprint } from '../../src/steps/reuse-image.js'

const REPOSITORY = {
  account: '111111111111',
  region: 'us-east-1',
  registry: '111111111111.dkr.ecr.us-east-1.amazonaws.com',
  name: 'orders',
  uri: '111111111111.dkr.ecr.us-east-1.amazonaws.com/orders'
}
const DEPLOYED = `sha256:${'d'.repeat(64)}`
const BASE_DIGEST = `sha256:${'b'.repeat(64)}`
const FINGERPRINT: BuildFingerprint = {
  digest: 'e'.repeat(64),
  tag: `inputs-${'e'.repeat(64)}`,
  label: `io.github.lambda-image-deploy.inputs-digest=${'e'.repeat(64)}`
}
const BASE = {
  base: { reference: { canonical: 'public.ecr.aws/lambda/nodejs:22' } },
  digest: BASE_DIGEST,
  requests: 2
} as unknown as ResolvedBase

function target(imageUri: string): DeployTarget {
  return {
    function: { name: 'orders', imageUri },
    repository: REPOSITORY
  } as unknown as DeployTarget
}

/** AWS whose ECR answers BatchGetImage of the inputs tag with `answer`, counting the asks. */
function awsWith(answer: StoredManifest | undefined | Error) {
  const asked: string[] = []
  const aws = {
    registry: () => ({
      findTagged: (_repository: unknown, tag: string) => {
        asked.push(tag)
        if (answer instanceof Error) return Promise.reject(answer)
        return Promise.resolve(answer)
      }
    })
  } as unknown as AwsServices
  return { aws, asked }
}

const manifest = (digest: string): StoredManifest => ({
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  body: '{}'
})

describe('refreshFromInputs', () => {
  it('decides "no rebuild" when the function runs the image the inputs tag names', async () => {
    const { aws, asked } = awsWith(manifest(DEPLOYED))
    const decision = await refreshFromInputs(
      FINGERPRINT,
      target(`${REPOSITORY.uri}@${DEPLOYED}`),
      BASE,
      aws
    )
    expect(asked).toEqual([FINGERPRINT.tag])
    expect(decision).toMatchObject({
      rebuild: false,
      baseImageUpdated: false,
      currentDigest: BASE_DIGEST,
      deployedDigest: BASE_DIGEST
    })
    expect(decision?.reason).toContain('has not been updated')
  })

  it.each([
    ['the tag names another image', manifest(`sha256:${'f'.repeat(64)}`)],
    ['the repository has no such tag', undefined],
    [
      'the image cannot be read',
      new ActionError('access-denied', 'not authorized to BatchGetImage', 'allow it')
    ]
  ])('leaves the decision to the labels when %s', async (_case, answer) => {
    const { aws } = awsWith(answer)
    await expect(
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws)
    ).resolves.toBeUndefined()
  })

  it.each([
    ['runs an image by tag only', `${REPOSITORY.uri}:latest`],
    ['runs an image of another repository', `${REPOSITORY.registry}/other@${DEPLOYED}`],
    ['runs no image', '']
  ])('asks nothing when the function %s', async (_case, imageUri) => {
    const { aws, asked } = awsWith(manifest(DEPLOYED))
    await expect(refreshFromInputs(FINGERPRINT, target(imageUri), BASE, aws)).resolves.toBe(
      undefined
    )
    expect(asked).toEqual([])
  })

  it('passes on errors that are not the action’s own', async () => {
    const { aws } = awsWith(new TypeError('a defect'))
    await expect(
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws)
    ).rejects.toThrow('a defect')
  })
})
