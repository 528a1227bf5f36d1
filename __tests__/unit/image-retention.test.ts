import { describe, expect, it } from '@jest/globals'
import {
  deletedImageFindings,
  expiringImageFindings,
  ruleDescriptions,
  sparedWithTags,
  type ImageUse
} from '../../src/domain/image-retention.js'

const REPO = '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
const uses: ImageUse[] = [
  { function: 'api', digest: 'sha256:new', kind: 'deployed' },
  { function: 'api', digest: 'sha256:old', kind: 'current' },
  { function: 'api', digest: 'sha256:old', kind: 'version', version: '3', aliases: ['live'] },
  { function: 'api', digest: 'sha256:older', kind: 'version', version: '2', aliases: [] }
]

const policy = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'keep what is deployed',
      selection: {
        tagStatus: 'tagged',
        tagPrefixList: ['deployed-'],
        countType: 'imageCountMoreThan',
        countNumber: 100
      },
      action: { type: 'expire' }
    },
    {
      rulePriority: 5,
      description: 'keep 10 builds',
      selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 10 },
      action: { type: 'expire' }
    }
  ]
})

describe('deleted images', () => {
  it('warns that the current image is gone, that this deploy fixes $LATEST, and which versions stay broken', () => {
    const [current, version] = deletedImageFindings(REPO, uses, new Set(['sha256:old']))
    expect(current?.id).toBe('image-deleted')
    expect(current?.message).toContain(`api's current image ${REPO}@sha256:old is no longer in ECR`)
    expect(current?.message).toContain('This deploy replaces it for $LATEST')
    expect(current?.message).toContain('published version(s) 3 still run it')
    expect(version?.message).toContain(`api version 3 (alias live) runs ${REPO}@sha256:old`)
  })

  it('says nothing when every image is there', () => {
    expect(deletedImageFindings(REPO, uses, new Set())).toEqual([])
  })

  it('never reports the image being deployed (it was just pushed or checked)', () => {
    expect(deletedImageFindings(REPO, uses, new Set(['sha256:new']))).toEqual([])
  })
})

describe('expiring images', () => {
  it('names the rule by priority and description, the digest, and who runs it', () => {
    const findings = expiringImageFindings(
      REPO,
      uses,
      [
        { digest: 'sha256:new', rulePriority: 5, tags: ['ci-1'] },
        { digest: 'sha256:older', rulePriority: 5, tags: [] }
      ],
      policy
    )
    expect(findings.map(f => f.message)).toEqual([
      `The lifecycle policy of ${REPO} would expire sha256:new, which this run deploys to api: rule priority 5 ("keep 10 builds"). Once expired, Lambda cannot load it at the next cold start or re-optimization.`,
      `The lifecycle policy of ${REPO} would expire sha256:older, which api version 2 runs: rule priority 5 ("keep 10 builds"). Once expired, Lambda cannot load it at the next cold start or re-optimization.`
    ])
  })

  it('does not warn about the image this deploy replaces when no version runs it', () => {
    const replaced: ImageUse[] = [
      { function: 'api', digest: 'sha256:new', kind: 'deployed' },
      { function: 'api', digest: 'sha256:old', kind: 'current' }
    ]
    const expiring = [{ digest: 'sha256:old', rulePriority: 5, tags: [] }]
    expect(expiringImageFindings(REPO, replaced, expiring, policy)).toEqual([])
  })

  it('judges the deployed image with deployed-tag on it, as it will be after the deploy', () => {
    const expiring = [{ digest: 'sha256:new', rulePriority: 5, tags: ['ci-1'] }]
    expect(expiringImageFindings(REPO, uses, expiring, policy, 'deployed-api')).toEqual([])
    expect(expiringImageFindings(REPO, uses, expiring, policy, 'other-tag')).toHaveLength(1)
  })
})

describe('sparedWithTags', () => {
  it.each([
    ['a prefix rule before the applied one selects the tags', ['deployed-api'], 5, true],
    ['no earlier rule selects the tags', ['ci-1'], 5, false],
    ['the rule selecting them is the applied one', ['deployed-api'], 1, false]
  ])('%s', (_name, tags, applied, expected) => {
    expect(sparedWithTags(policy, applied, tags)).toBe(expected)
  })

  it('spares an image that a tag takes out of an untagged rule', () => {
    const text = JSON.stringify({
      rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged' } }]
    })
    expect(sparedWithTags(text, 1, [])).toBe(false)
    expect(sparedWithTags(text, 1, ['deployed-api'])).toBe(true)
  })

  it('reads patterns with wildcards, and untagged rules spare no tagged image', () => {
    const text = JSON.stringify({
      rules: [
        { rulePriority: 1, selection: { tagStatus: 'untagged' } },
        { rulePriority: 2, selection: { tagStatus: 'tagged', tagPatternList: ['keep-*-prod'] } }
      ]
    })
    expect(sparedWithTags(text, 9, ['keep-api-prod'])).toBe(true)
    expect(sparedWithTags(text, 9, ['keep-api-dev'])).toBe(false)
    expect(sparedWithTags(text, 9, [])).toBe(true)
  })

  it('gives up on a text that is not JSON', () => {
    expect(sparedWithTags('not json', 5, ['a'])).toBe(false)
    expect(ruleDescriptions('not json').size).toBe(0)
  })
})
