import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  PutImageCommand,
  PutImageTagMutabilityCommand,
  type ECRClient
} from '@aws-sdk/client-ecr'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { immutableTagRefusal } from '../../stack/stand-in/registry-tag-guard.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { createState, recordKey } from '../../stack/stand-in/state.js'
import { tagIsImmutable, wildcardMatches } from '../../stack/stand-in/tag-mutability.js'

/** The stand-in's ECR tag mutability: the setting and its exclusion filters, PutImage, and the
 * registry's refusal of a manifest PUT under an existing immutable tag. */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const ENDPOINT = { account: ACCOUNT, region: REGION, host: HOST }

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a failure')
}

describe('exclusion filters', () => {
  it.each([
    ['dev-*', 'dev-1', true],
    ['dev-*', 'prod-1', false],
    ['*-cache', 'buildcache-x86_64', false],
    ['buildcache-*', 'buildcache-x86_64', true],
    ['v1.2', 'v1x2', false],
    ['latest', 'latest', true],
    ['*', 'anything', true]
  ])('%s matches %s: %s', (filter, tag, expected) => {
    expect(wildcardMatches(filter, tag)).toBe(expected)
  })

  it('turns the setting over for the tags a filter matches', () => {
    const filters = [{ filter: 'dev-*', filterType: 'WILDCARD' as const }]
    const immutable = {
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' as const,
      imageTagMutabilityExclusionFilters: filters
    }
    const mutable = {
      imageTagMutability: 'MUTABLE_WITH_EXCLUSION' as const,
      imageTagMutabilityExclusionFilters: filters
    }
    expect([tagIsImmutable(immutable, 'dev-1'), tagIsImmutable(immutable, 'v1')]).toEqual([
      false,
      true
    ])
    expect([tagIsImmutable(mutable, 'dev-1'), tagIsImmutable(mutable, 'v1')]).toEqual([true, false])
  })
})

describe('the ECR API', () => {
  let standIn: StandIn
  let control: StandInControl
  let registry: MemoryRegistry
  let ecr: ECRClient

  beforeAll(async () => {
    registry = new MemoryRegistry('the-registry-password')
    standIn = await startStandIn({ port: 0, registry })
    control = new StandInControl(standIn.url)
    ecr = clientsFor(standIn.url, ACCOUNT).ecr
  })

  afterAll(async () => {
    await standIn.close()
  })

  beforeEach(async () => {
    await control.reset()
  })

  const describeOne = async (name: string) =>
    (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]

  it('creates a repository with the tag mutability and filters it is given, and describes them', async () => {
    const filters = [{ filter: 'dev-*', filterType: 'WILDCARD' as const }]
    const created = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'app',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: filters
      })
    )
    expect(created.repository?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION')
    const described = await describeOne('app')
    expect(described?.imageTagMutability).toBe('IMMUTABLE_WITH_EXCLUSION')
    expect(described?.imageTagMutabilityExclusionFilters).toEqual(filters)
  })

  it('describes a repository created without a setting as MUTABLE, without filters', async () => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'app' }))
    const described = await describeOne('app')
    expect(described?.imageTagMutability).toBe('MUTABLE')
    expect(described?.imageTagMutabilityExclusionFilters).toBeUndefined()
  })

  it.each([
    [
      'a filter outside the allowed characters',
      'IMMUTABLE_WITH_EXCLUSION',
      [{ filter: 'dev/*', filterType: 'WILDCARD' }]
    ],
    [
      'a filter type other than WILDCARD',
      'IMMUTABLE_WITH_EXCLUSION',
      [{ filter: 'dev-*', filterType: 'REGEX' }]
    ],
    [
      'more than 5 filters',
      'IMMUTABLE_WITH_EXCLUSION',
      ['a', 'b', 'c', 'd', 'e', 'f'].map(filter => ({ filter, filterType: 'WILDCARD' }))
    ],
    ['an exclusion setting without filters', 'IMMUTABLE_WITH_EXCLUSION', undefined],
    [
      'filters on a setting without exclusions',
      'IMMUTABLE',
      [{ filter: 'dev-*', filterType: 'WILDCARD' }]
    ],
    ['an unknown setting', 'FROZEN', undefined]
  ])('refuses %s with InvalidParameterException', async (_case, setting, filters) => {
    const error = await caught(
      ecr.send(
        new CreateRepositoryCommand({
          repositoryName: 'app',
          imageTagMutability: setting as 'IMMUTABLE',
          imageTagMutabilityExclusionFilters: filters as never
        })
      )
    )
    expect(error.name).toBe('InvalidParameterException')
    expect(await caught(describeOne('app'))).toHaveProperty('name', 'RepositoryNotFoundException')
  })

  it('changes the setting with PutImageTagMutability', async () => {
    await control.createRepository({ account: ACCOUNT, region: REGION, name: 'app' })
    const answer = await ecr.send(
      new PutImageTagMutabilityCommand({ repositoryName: 'app', imageTagMutability: 'IMMUTABLE' })
    )
    expect(answer.imageTagMutability).toBe('IMMUTABLE')
    expect((await describeOne('app'))?.imageTagMutability).toBe('IMMUTABLE')
  })

  it('refuses a seed with a setting ECR would refuse', async () => {
    await expect(
      control.createRepository({
        account: ACCOUNT,
        region: REGION,
        name: 'app',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION'
      })
    ).rejects.toThrow(/exclusion filter/)
  })

  describe('PutImage', () => {
    const put = async (tag: string, digest: string) => {
      const stored = (await registry.manifest(ENDPOINT, 'app', digest))!
      return ecr.send(
        new PutImageCommand({
          repositoryName: 'app',
          imageManifest: stored.body,
          imageManifestMediaType: stored.mediaType,
          imageTag: tag
        })
      )
    }

    it('refuses to move an existing tag of an immutable repository, in ECR’s words', async () => {
      await control.createRepository({
        account: ACCOUNT,
        region: REGION,
        name: 'app',
        imageTagMutability: 'IMMUTABLE'
      })
      const first = registry.pushImage(HOST, 'app', { tag: 'v1', label: 'first' })
      const second = registry.pushImage(HOST, 'app', { label: 'second' })
      const error = await caught(put('v1', second))
      expect(error.name).toBe('ImageTagAlreadyExistsException')
      expect(error.message).toBe(
        "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the tag is immutable."
      )
      expect((await registry.manifest(ENDPOINT, 'app', 'v1'))?.digest).toBe(first)
      // A new tag is no overwrite.
      await put('v2', second)
      expect((await registry.manifest(ENDPOINT, 'app', 'v2'))?.digest).toBe(second)
    })

    it('moves a tag an exclusion filter makes mutable', async () => {
      await control.createRepository({
        account: ACCOUNT,
        region: REGION,
        name: 'app',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filter: 'dev-*', filterType: 'WILDCARD' }]
      })
      registry.pushImage(HOST, 'app', { tag: 'dev-1', label: 'first' })
      const second = registry.pushImage(HOST, 'app', { label: 'second' })
      await put('dev-1', second)
      expect((await registry.manifest(ENDPOINT, 'app', 'dev-1'))?.digest).toBe(second)
    })
  })
})

describe('the registry’s manifest PUT', () => {
  const request = (path: string, method = 'PUT') => ({ token: 'unused', host: HOST, method, path })

  const setUp = (
    imageTagMutability: string,
    filters: { filter: string; filterType: 'WILDCARD' }[] = []
  ) => {
    const state = createState()
    state.repositories.set(recordKey(ACCOUNT, REGION, 'app'), {
      account: ACCOUNT,
      region: REGION,
      name: 'app',
      createdAt: 0,
      tagMutability: {
        imageTagMutability: imageTagMutability as 'IMMUTABLE',
        imageTagMutabilityExclusionFilters: filters
      }
    })
    const registry = new MemoryRegistry('the-registry-password')
    const digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
    return { state, registry, digest }
  }

  it('refuses an existing immutable tag with TAG_INVALID, also for the manifest it names already', async () => {
    const { state, registry } = setUp('IMMUTABLE')
    expect(await immutableTagRefusal(request('/v2/app/manifests/v1'), state, registry)).toEqual({
      allowed: false,
      status: 400,
      code: 'TAG_INVALID',
      message:
        "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the tag is immutable."
    })
  })

  it('lets a new tag, a push by digest and a read pass', async () => {
    const { state, registry, digest } = setUp('IMMUTABLE')
    expect(
      await immutableTagRefusal(request('/v2/app/manifests/v2'), state, registry)
    ).toBeUndefined()
    expect(
      await immutableTagRefusal(request(`/v2/app/manifests/${digest}`), state, registry)
    ).toBeUndefined()
    expect(
      await immutableTagRefusal(request('/v2/app/manifests/v1', 'GET'), state, registry)
    ).toBeUndefined()
  })

  it('lets an existing tag pass on a mutable repository, or where an exclusion filter matches it', async () => {
    const mutable = setUp('MUTABLE')
    expect(
      await immutableTagRefusal(request('/v2/app/manifests/v1'), mutable.state, mutable.registry)
    ).toBeUndefined()
    const excluded = setUp('IMMUTABLE_WITH_EXCLUSION', [{ filter: 'v*', filterType: 'WILDCARD' }])
    expect(
      await immutableTagRefusal(request('/v2/app/manifests/v1'), excluded.state, excluded.registry)
    ).toBeUndefined()
  })
})
