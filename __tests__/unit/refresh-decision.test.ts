import { describe, expect, it } from '@jest/globals'
import {
  BASE_IMAGE_DIGEST_LABEL as BASE_DIGEST_LABEL,
  BASE_IMAGE_NAME_LABEL as BASE_NAME_LABEL,
  REVISION_LABEL
} from '../../src/domain/oci-labels.js'
import { decideRefresh, type RefreshFacts } from '../../src/domain/refresh-decision.js'

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
