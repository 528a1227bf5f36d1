import { describe, expect, it } from '@jest/globals'
import {
  BASE_DIGEST_LABEL,
  BASE_NAME_LABEL,
  REVISION_LABEL,
  decideRefresh,
  type RefreshFacts
} from '../../src/domain/refresh-decision.js'
import type { PlatformDigest } from '../../src/adapters/registry-http.js'
import { ActionError } from '../../src/domain/errors.js'
import { decideRefreshStep, type BaseDigestResolver } from '../../src/steps/decide-refresh.js'

const OLD = `sha256:${'1'.repeat(64)}`
const NEW = `sha256:${'2'.repeat(64)}`
const BASE = 'public.ecr.aws/lambda/nodejs:22'
const labels = (overrides: Record<string, string | undefined> = {}) => {
  const all: Record<string, string | undefined> = {
    [BASE_NAME_LABEL]: BASE,
    [BASE_DIGEST_LABEL]: OLD,
    [REVISION_LABEL]: 'abc123',
    ...overrides
  }
  return Object.fromEntries(
    Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined)
  )
}

describe('decideRefresh', () => {
  it.each<[string, RefreshFacts, boolean, boolean | undefined, RegExp]>([
    [
      'if-base-changed, same digest: no rebuild',
      { mode: 'if-base-changed', deployedLabels: labels(), currentDigest: OLD },
      false,
      false,
      /^Not rebuilding: .*still points at/
    ],
    [
      'if-base-changed, new digest: rebuild',
      { mode: 'if-base-changed', deployedLabels: labels(), currentDigest: NEW },
      true,
      true,
      /now points at sha256:2+; the deployed image was built on sha256:1+/
    ],
    [
      'always, same digest: rebuild, saying the base is unchanged',
      { mode: 'always', deployedLabels: labels(), currentDigest: OLD },
      true,
      false,
      /"always"; its base .* is unchanged/
    ],
    [
      'always, new digest: rebuild, saying the base changed too',
      { mode: 'always', deployedLabels: labels(), currentDigest: NEW },
      true,
      true,
      /has also changed/
    ],
    [
      'always, no labels: rebuild',
      { mode: 'always', deployedLabels: undefined, currentDigest: undefined },
      true,
      undefined,
      /"always"\.$/
    ],
    [
      'if-base-changed, digest label missing: rebuild',
      {
        mode: 'if-base-changed',
        deployedLabels: labels({ [BASE_DIGEST_LABEL]: undefined }),
        currentDigest: NEW
      },
      true,
      undefined,
      /does not record its base image digest \(label org\.opencontainers\.image\.base\.digest\)/
    ],
    [
      'if-base-changed, name label missing: rebuild',
      {
        mode: 'if-base-changed',
        deployedLabels: labels({ [BASE_NAME_LABEL]: undefined }),
        currentDigest: undefined
      },
      true,
      undefined,
      /label org\.opencontainers\.image\.base\.name/
    ],
    [
      'if-base-changed, an empty label counts as missing',
      {
        mode: 'if-base-changed',
        deployedLabels: labels({ [BASE_DIGEST_LABEL]: ' ' }),
        currentDigest: OLD
      },
      true,
      undefined,
      /does not record/
    ],
    [
      'if-base-changed, no readable deployed config: rebuild',
      { mode: 'if-base-changed', deployedLabels: undefined, currentDigest: OLD },
      true,
      undefined,
      /no readable config/
    ],
    [
      'if-base-changed, the Dockerfile moved to another base: rebuild',
      {
        mode: 'if-base-changed',
        deployedLabels: labels(),
        dockerfileBase: 'public.ecr.aws/lambda/nodejs:24',
        currentDigest: NEW
      },
      true,
      true,
      /now starts FROM public\.ecr\.aws\/lambda\/nodejs:24.*built FROM public\.ecr\.aws\/lambda\/nodejs:22/
    ],
    [
      'if-base-changed, the same Docker Hub base written two ways: compared by digest',
      {
        mode: 'if-base-changed',
        deployedLabels: labels({ [BASE_NAME_LABEL]: 'node:22' }),
        dockerfileBase: 'docker.io/library/node:22',
        currentDigest: OLD
      },
      false,
      false,
      /^Not rebuilding/
    ],
    [
      'if-base-changed, current digest unknown: rebuild',
      { mode: 'if-base-changed', deployedLabels: labels(), currentDigest: undefined },
      true,
      undefined,
      /could not be determined/
    ]
  ])('%s', (_name, facts, rebuild, updated, reason) => {
    const decision = decideRefresh(facts)
    expect(decision.rebuild).toBe(rebuild)
    expect(decision.baseImageUpdated).toBe(updated)
    expect(decision.reason).toMatch(reason)
  })

  it('reports the base image, both digests and the deployed revision', () => {
    expect(
      decideRefresh({ mode: 'if-base-changed', deployedLabels: labels(), currentDigest: NEW })
    ).toMatchObject({
      baseImage: BASE,
      currentDigest: NEW,
      deployedDigest: OLD,
      deployedRevision: 'abc123',
      notices: []
    })
  })

  it('adds a notice naming the missing label when it rebuilds for want of one', () => {
    const decision = decideRefresh({
      mode: 'if-base-changed',
      deployedLabels: labels({ [BASE_DIGEST_LABEL]: undefined }),
      currentDigest: NEW
    })
    expect(decision.notices).toEqual([
      expect.stringContaining(`label ${BASE_DIGEST_LABEL} is missing from the deployed image`)
    ])
  })

  it('adds a notice when the checked-out revision is not the deployed one, without rebuilding', () => {
    const decision = decideRefresh({
      mode: 'if-base-changed',
      deployedLabels: labels(),
      currentDigest: OLD,
      checkedOutRevision: 'def456'
    })
    expect(decision.rebuild).toBe(false)
    expect(decision.notices).toEqual([expect.stringMatching(/built from abc123, but def456/)])
  })
})

describe('decideRefreshStep', () => {
  const resolver = (digest: string, seen: string[] = []): BaseDigestResolver => ({
    resolvePlatformDigest: (reference, platform) => {
      seen.push(`${reference} ${platform}`)
      return Promise.resolve<PlatformDigest>({
        image: reference,
        platform,
        digest,
        requests: 2,
        tokenRequests: 0
      })
    }
  })
  const failing: BaseDigestResolver = {
    resolvePlatformDigest: () =>
      Promise.reject(new ActionError('registry-unreachable', 'No network.', 'Retry.'))
  }

  it.each([
    ['x86_64', 'linux/amd64'],
    ['arm64', 'linux/arm64']
  ] as const)('resolves the base for %s as %s', async (architecture, platform) => {
    const seen: string[] = []
    const plan = await decideRefreshStep(
      { mode: 'if-base-changed', architecture, deployedLabels: labels() },
      resolver(OLD, seen)
    )
    expect(seen).toEqual([`${BASE} ${platform}`])
    expect(plan).toMatchObject({ rebuild: false, platform, registryRequests: 2 })
  })

  it("resolves the Dockerfile's base rather than the deployed label's when given", async () => {
    const seen: string[] = []
    await decideRefreshStep(
      {
        mode: 'if-base-changed',
        architecture: 'x86_64',
        deployedLabels: labels(),
        dockerfileBase: 'public.ecr.aws/lambda/provided:al2023'
      },
      resolver(OLD, seen)
    )
    expect(seen).toEqual(['public.ecr.aws/lambda/provided:al2023 linux/amd64'])
  })

  it('asks the registry nothing when no base image is known', async () => {
    const seen: string[] = []
    const plan = await decideRefreshStep(
      { mode: 'if-base-changed', architecture: 'x86_64', deployedLabels: {} },
      resolver(OLD, seen)
    )
    expect(seen).toEqual([])
    expect(plan.rebuild).toBe(true)
  })

  it('stops an if-base-changed run when the base cannot be resolved', async () => {
    await expect(
      decideRefreshStep(
        { mode: 'if-base-changed', architecture: 'x86_64', deployedLabels: labels() },
        failing
      )
    ).rejects.toMatchObject({ id: 'registry-unreachable' })
  })

  it('rebuilds with a notice in always mode when the base cannot be resolved', async () => {
    const plan = await decideRefreshStep(
      { mode: 'always', architecture: 'x86_64', deployedLabels: labels() },
      failing
    )
    expect(plan.rebuild).toBe(true)
    expect(plan.notices).toEqual([expect.stringContaining('No network.')])
  })
})
