import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/domain/errors.js'
import {
  configDigestOf,
  decideTagWrites,
  isTagImmutable,
  MUTABLE_TAGS,
  tagMutabilityOf,
  type TagMutability
} from '../../src/domain/tag-mutability.js'

const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
const IMMUTABLE: TagMutability = { setting: 'IMMUTABLE', exclusions: [] }
const CONFIG = `sha256:${'c'.repeat(64)}`
const DIGEST = `sha256:${'d'.repeat(64)}`
const OTHER = `sha256:${'e'.repeat(64)}`

function thrown(work: () => unknown): ActionError {
  try {
    work()
  } catch (error) {
    return error as ActionError
  }
  throw new Error('expected a failure')
}

describe('isTagImmutable', () => {
  it.each([
    ['MUTABLE', [], 'v1', false],
    ['IMMUTABLE', [], 'v1', true],
    ['IMMUTABLE_WITH_EXCLUSION', ['latest', 'buildcache-*'], 'buildcache-arm64', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['latest', 'buildcache-*'], 'v1', true],
    ['MUTABLE_WITH_EXCLUSION', ['release-*'], 'release-1', true],
    ['MUTABLE_WITH_EXCLUSION', ['release-*'], 'latest', false],
    ['IMMUTABLE_WITH_EXCLUSION', ['v1.0'], 'v1x0', true]
  ] as const)('%s with %j: %s is immutable: %s', (setting, exclusions, tag, expected) => {
    expect(isTagImmutable({ setting, exclusions }, tag)).toBe(expected)
  })

  it('takes a setting it does not know for IMMUTABLE, and none for MUTABLE', () => {
    expect(tagMutabilityOf('FROZEN', [])).toEqual(IMMUTABLE)
    expect(tagMutabilityOf(undefined, [])).toEqual(MUTABLE_TAGS)
  })
})

describe('decideTagWrites', () => {
  const built = { configDigest: CONFIG }

  it('writes every tag of a mutable repository, whatever it names now', () => {
    const existing = new Map([['v1', { digest: OTHER, configDigest: OTHER }]])
    expect(decideTagWrites(REPO, MUTABLE_TAGS, built, existing, ['v1'])).toEqual([
      { tag: 'v1', action: 'write' }
    ])
  })

  it('writes an immutable tag that does not exist yet', () => {
    expect(decideTagWrites(REPO, IMMUTABLE, built, new Map(), ['v1'])).toEqual([
      { tag: 'v1', action: 'write' }
    ])
  })

  it('keeps an immutable tag that names the built image already (same config)', () => {
    const existing = new Map([['v1', { digest: DIGEST, configDigest: CONFIG }]])
    expect(decideTagWrites(REPO, IMMUTABLE, built, existing, ['v1', 'v2'])).toEqual([
      { tag: 'v1', action: 'keep', digest: DIGEST },
      { tag: 'v2', action: 'write' }
    ])
  })

  it('keeps an immutable tag that names the reused image already (same digest)', () => {
    const existing = new Map([['v1', { digest: DIGEST }]])
    expect(decideTagWrites(REPO, IMMUTABLE, { digest: DIGEST }, existing, ['v1'])).toEqual([
      { tag: 'v1', action: 'keep', digest: DIGEST }
    ])
  })

  it('fails, naming every tag and the digest it holds and how to fix it, when an immutable tag names another image', () => {
    const existing = new Map([
      ['v1', { digest: OTHER, configDigest: OTHER }],
      ['latest', { digest: DIGEST }]
    ])
    const error = thrown(() =>
      decideTagWrites(REPO, IMMUTABLE, built, existing, ['v1', 'latest', 'v2'])
    )
    expect(error.id).toBe('image-tag-immutable')
    expect(error.reason).toContain(`${REPO}:v1 (${OTHER})`)
    // An index (no config digest) is never the built image.
    expect(error.reason).toContain(`${REPO}:latest (${DIGEST})`)
    expect(error.reason).toContain('IMMUTABLE')
    expect(error.reason).toContain('nothing was pushed')
    expect(error.fix).toContain('commit SHA')
    expect(error.fix).toContain('exclusion filter')
    expect(error.fix).toContain('MUTABLE')
  })

  it('lets a tag an exclusion filter covers move', () => {
    const withExclusion: TagMutability = {
      setting: 'IMMUTABLE_WITH_EXCLUSION',
      exclusions: ['latest']
    }
    const existing = new Map([['latest', { digest: OTHER, configDigest: OTHER }]])
    expect(decideTagWrites(REPO, withExclusion, built, existing, ['latest'])).toEqual([
      { tag: 'latest', action: 'write' }
    ])
  })
})

describe('configDigestOf', () => {
  it('reads a single-image manifest’s config digest, and nothing from an index or junk', () => {
    expect(configDigestOf(JSON.stringify({ config: { digest: CONFIG } }))).toBe(CONFIG)
    expect(configDigestOf(JSON.stringify({ manifests: [] }))).toBeUndefined()
    expect(configDigestOf('not json')).toBeUndefined()
  })
})
