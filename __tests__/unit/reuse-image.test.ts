import { describe, expect, it } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { StoredManifest } from '../../src/adapters/ecr.js'
import type { RegistryHttp } from '../../src/adapters/registry-http.js'
import { MUTABLE_TAGS, type TagMutability } from '../../src/domain/tag-mutability.js'
import type { DeployPlan, DeployTarget } from '../../src/steps/resolve-target.js'
import {
  adoptImmutableInputsImage,
  findReusableImage,
  type BuildFingerprint
} from '../../src/steps/reuse-image.js'

const LABEL = 'io.github.lambda-image-deploy.inputs-digest'
const REPOSITORY = {
  account: '111111111111',
  region: 'us-east-1',
  registry: '111111111111.dkr.ecr.us-east-1.amazonaws.com',
  name: 'orders',
  uri: '111111111111.dkr.ecr.us-east-1.amazonaws.com/orders'
}
const INPUTS = `sha256:${'e'.repeat(64)}`
const FINGERPRINT: BuildFingerprint = {
  digest: INPUTS,
  tag: `inputs-${'e'.repeat(64)}`,
  label: `${LABEL}=${INPUTS}`
}
const TAGGED = `sha256:${'a'.repeat(64)}`
const TAGGED_CONFIG = `sha256:${'c'.repeat(64)}`
const BUILT_CONFIG = `sha256:${'b'.repeat(64)}`
const IMMUTABLE: TagMutability = { setting: 'IMMUTABLE', exclusions: [] }
const MAX_BYTES = 10 * 1024 ** 3

const PLAN: DeployPlan = {
  architecture: 'x86_64',
  repositories: [REPOSITORY],
  targets: [
    {
      region: REPOSITORY.region,
      repository: REPOSITORY,
      function: { name: 'orders' }
    } as unknown as DeployTarget
  ]
}

/** A manifest ECR holds under the inputs tag: one gzip layer of 1 MiB, config `config`. */
function stored(config = TAGGED_CONFIG): StoredManifest {
  return {
    digest: TAGGED,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    body: JSON.stringify({
      schemaVersion: 2,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: `sha256:${'1'.repeat(64)}`,
          size: 1024 * 1024
        }
      ]
    })
  }
}

/** ECR answering the inputs tag with `tagged`, and a registry whose config has these labels. */
function services(
  tagged: StoredManifest | undefined,
  labels: Record<string, string>,
  architecture = 'amd64'
) {
  const asked: string[] = []
  const aws = {
    registry: () => ({
      findTagged: (_repository: unknown, tag: string) => {
        asked.push(tag)
        return Promise.resolve(tagged)
      }
    })
  } as unknown as AwsServices
  const http = {
    readImageConfigBlob: (_reference: string, configDigest: string) =>
      Promise.resolve({ configDigest, labels, os: 'linux', architecture, diffIds: [], requests: 1 })
  } as unknown as RegistryHttp
  return { aws, http, asked }
}

describe('findReusableImage', () => {
  it('reuses the image the inputs tag names when its inputs label names these inputs', async () => {
    const { aws, http } = services(stored(), { [LABEL]: INPUTS })
    const reusable = await findReusableImage(FINGERPRINT, PLAN, aws, http, MAX_BYTES)
    expect(reusable?.images.get(REPOSITORY.uri)?.pushed.digest).toBe(TAGGED)
    expect(reusable?.tag).toBe(FINGERPRINT.tag)
  })

  it.each([
    ['no inputs label (an image pushed by other means)', {}],
    ['the label of other inputs', { [LABEL]: `sha256:${'0'.repeat(64)}` }]
  ])('builds when the tagged image carries %s: the tag was moved', async (_case, labels) => {
    const { aws, http } = services(stored(), labels)
    await expect(
      findReusableImage(FINGERPRINT, PLAN, aws, http, MAX_BYTES)
    ).resolves.toBeUndefined()
  })

  it('builds when the repository holds no inputs tag', async () => {
    const { aws, http } = services(undefined, { [LABEL]: INPUTS })
    await expect(
      findReusableImage(FINGERPRINT, PLAN, aws, http, MAX_BYTES)
    ).resolves.toBeUndefined()
  })
})

describe('adoptImmutableInputsImage', () => {
  const adopt = (
    tagged: StoredManifest | undefined,
    labels: Record<string, string>,
    mutability: TagMutability = IMMUTABLE,
    architecture = 'amd64'
  ) => {
    const { aws, http, asked } = services(tagged, labels, architecture)
    const result = adoptImmutableInputsImage(
      FINGERPRINT,
      REPOSITORY,
      mutability,
      BUILT_CONFIG,
      PLAN,
      aws,
      http,
      MAX_BYTES
    )
    return { result, asked }
  }

  it('takes the image of these inputs that another run put under the immutable inputs tag', async () => {
    const { result } = adopt(stored(), { [LABEL]: INPUTS })
    const adopted = await result
    expect(adopted?.pushed).toEqual({
      digest: TAGGED,
      imageUri: `${REPOSITORY.uri}@${TAGGED}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json'
    })
    expect(adopted?.findings).toEqual([])
  })

  it('returns the findings of the tagged image, for the run to apply its finding policy', async () => {
    const { result } = adopt(stored(), { [LABEL]: INPUTS }, IMMUTABLE, 'arm64')
    const adopted = await result
    expect(adopted?.findings.map(finding => finding.severity)).toContain('error')
  })

  it('leaves a tag that names an image of other inputs to the immutable-tag check', async () => {
    const { result } = adopt(stored(), { [LABEL]: `sha256:${'0'.repeat(64)}` })
    await expect(result).resolves.toBeUndefined()
  })

  it('leaves a tag that names the built image itself to be kept', async () => {
    const { result } = adopt(stored(BUILT_CONFIG), { [LABEL]: INPUTS })
    await expect(result).resolves.toBeUndefined()
  })

  it('pushes the build when the repository holds no inputs tag yet', async () => {
    const { result } = adopt(undefined, { [LABEL]: INPUTS })
    await expect(result).resolves.toBeUndefined()
  })

  it.each<[string, TagMutability]>([
    ['MUTABLE', MUTABLE_TAGS],
    [
      'IMMUTABLE_WITH_EXCLUSION inputs-*',
      { setting: 'IMMUTABLE_WITH_EXCLUSION', exclusions: ['inputs-*'] }
    ]
  ])(
    'asks nothing where the inputs tag is mutable (%s): the push moves it',
    async (_case, mutability) => {
      const { result, asked } = adopt(stored(), { [LABEL]: INPUTS }, mutability)
      await expect(result).resolves.toBeUndefined()
      expect(asked).toEqual([])
    }
  )
})
