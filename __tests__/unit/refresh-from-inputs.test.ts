import { describe, expect, it } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { StoredManifest } from '../../src/adapters/ecr.js'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
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

const CONFIG_DIGEST = `sha256:${'c'.repeat(64)}`
const manifest = (digest: string): StoredManifest => ({
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  body: JSON.stringify({ schemaVersion: 2, config: { digest: CONFIG_DIGEST }, layers: [] })
})

/** A registry whose image config carries `labels` (or fails with `labels`), recording what was read. */
function httpWith(labels: Record<string, string> | Error) {
  const read: string[] = []
  const http = {
    readImageConfigBlob: (reference: string, configDigest: string) => {
      read.push(`${reference} ${configDigest}`)
      if (labels instanceof Error) return Promise.reject(labels)
      return Promise.resolve({ configDigest, labels, diffIds: [], requests: 1 })
    }
  } as unknown as RegistryHttp
  return { http, read }
}
const LABELLED = httpWith({
  'io.github.lambda-image-deploy.inputs-digest': FINGERPRINT.digest
}).http

describe('refreshFromInputs', () => {
  it('decides "no rebuild" when the function runs the image the inputs tag names', async () => {
    const { aws, asked } = awsWith(manifest(DEPLOYED))
    const decision = await refreshFromInputs(
      FINGERPRINT,
      target(`${REPOSITORY.uri}@${DEPLOYED}`),
      BASE,
      aws,
      LABELLED
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
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws, LABELLED)
    ).resolves.toBeUndefined()
  })

  it.each([
    ['runs an image by tag only', `${REPOSITORY.uri}:latest`],
    ['runs an image of another repository', `${REPOSITORY.registry}/other@${DEPLOYED}`],
    ['runs no image', '']
  ])('asks nothing when the function %s', async (_case, imageUri) => {
    const { aws, asked } = awsWith(manifest(DEPLOYED))
    await expect(
      refreshFromInputs(FINGERPRINT, target(imageUri), BASE, aws, LABELLED)
    ).resolves.toBe(undefined)
    expect(asked).toEqual([])
  })

  it('passes on errors that are not the action’s own', async () => {
    const { aws } = awsWith(new TypeError('a defect'))
    await expect(
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws, LABELLED)
    ).rejects.toThrow('a defect')
  })

  it('reads the config of the deployed image, the one the tag names', async () => {
    const { aws } = awsWith(manifest(DEPLOYED))
    const { http, read } = httpWith({
      'io.github.lambda-image-deploy.inputs-digest': FINGERPRINT.digest
    })
    await refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws, http)
    expect(read).toEqual([`${REPOSITORY.uri}@${DEPLOYED} ${CONFIG_DIGEST}`])
  })

  it.each([
    ['carries no inputs label', {}],
    [
      'carries the label of other inputs',
      { 'io.github.lambda-image-deploy.inputs-digest': `sha256:${'0'.repeat(64)}` }
    ],
    ['carries an empty inputs label', { 'io.github.lambda-image-deploy.inputs-digest': '' }]
  ])(
    'leaves the decision to the labels when the image the tag names %s (a moved tag)',
    async (_case, labels: Record<string, string>) => {
      const { aws } = awsWith(manifest(DEPLOYED))
      await expect(
        refreshFromInputs(
          FINGERPRINT,
          target(`${REPOSITORY.uri}@${DEPLOYED}`),
          BASE,
          aws,
          httpWith(labels).http
        )
      ).resolves.toBeUndefined()
    }
  )

  it('leaves the decision to the labels when the config cannot be read', async () => {
    const { aws } = awsWith(manifest(DEPLOYED))
    const { http } = httpWith(new ActionError('registry-denied', 'denied', 'allow it'))
    await expect(
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws, http)
    ).resolves.toBeUndefined()
  })

  it('leaves the decision to the labels when the tag names an index (no config)', async () => {
    const { aws } = awsWith({
      digest: DEPLOYED,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      body: JSON.stringify({ schemaVersion: 2, manifests: [] })
    })
    const { http, read } = httpWith({})
    await expect(
      refreshFromInputs(FINGERPRINT, target(`${REPOSITORY.uri}@${DEPLOYED}`), BASE, aws, http)
    ).resolves.toBeUndefined()
    expect(read).toEqual([])
  })
})
