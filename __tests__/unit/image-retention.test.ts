import { describe, expect, it } from '@jest/globals'
import {
  archivedImageFindings,
  deletedImageFindings,
  expiringImageFindings,
  lifecycleCanChange,
  ruleDescriptions,
  sparedWithTags,
  type ImageUse,
  type StoredImage
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

describe('archived images (ECR archive storage class)', () => {
  const repository = { uri: REPO, name: 'app', region: 'us-east-1' }
  const stored = (digest: string, status: StoredImage['status']): [string, StoredImage] => [
    digest,
    { digest, tags: [], status, archivedAt: Date.UTC(2026, 10, 1) }
  ]

  it('warns that a version runs an archived image, naming its alias, the rollback and the restore command', () => {
    const findings = archivedImageFindings(
      repository,
      uses,
      new Map([stored('sha256:older', 'ARCHIVED'), stored('sha256:new', 'ACTIVE')])
    )
    expect(findings).toHaveLength(1)
    expect(findings[0]?.id).toBe('image-archived')
    expect(findings[0]?.message).toContain(
      `api version 2 runs ${REPO}@sha256:older, which is archived`
    )
    expect(findings[0]?.message).toContain('a rollback to it fails')
    expect(findings[0]?.fix).toContain(
      'aws ecr update-image-storage-class --repository-name app --image-id imageDigest=sha256:older --target-storage-class STANDARD --region us-east-1'
    )
    expect(findings[0]?.fix).toContain('20 minutes')
  })

  it('names the versions that still run an archived current image, and that this deploy replaces it', () => {
    const [current, version] = archivedImageFindings(
      repository,
      uses,
      new Map([stored('sha256:old', 'ACTIVATING')])
    )
    expect(current?.message).toContain(`api's current image ${REPO}@sha256:old is being restored`)
    expect(current?.message).toContain(
      'This deploy replaces it for $LATEST; published version(s) 3'
    )
    expect(version?.message).toContain('api version 3 (alias live) runs')
  })

  it('says nothing of active images, nor of the image being deployed', () => {
    expect(
      archivedImageFindings(repository, uses, new Map([stored('sha256:new', 'ARCHIVED')]))
    ).toEqual([])
  })
})

describe('transition rules', () => {
  it('warn that the rule would archive an image a version serves, naming the alias and the rule', () => {
    const transitionPolicy = JSON.stringify({
      rules: [
        {
          rulePriority: 3,
          description: 'archive images not pulled for 30 days',
          selection: {
            tagStatus: 'any',
            countType: 'sinceImagePulled',
            countUnit: 'days',
            countNumber: 30
          },
          action: { type: 'transition', targetStorageClass: 'archive' }
        }
      ]
    })
    const [finding] = expiringImageFindings(
      REPO,
      uses,
      [{ digest: 'sha256:old', rulePriority: 3, tags: [], action: 'transition' }],
      transitionPolicy
    )
    expect(finding?.id).toBe('image-transitioning')
    expect(finding?.message).toContain(
      'would archive sha256:old, which api version 3 (alias live) runs: rule priority 3 ("archive images not pulled for 30 days")'
    )
    expect(finding?.message).toContain('a rollback to it fails')
  })
})

describe('whether a lifecycle policy can change anything now', () => {
  const NOW = Date.UTC(2026, 11, 7)
  const DAY = 24 * 60 * 60 * 1000
  const images: StoredImage[] = [
    { digest: 'sha256:a', tags: ['ci-1'], status: 'ACTIVE', pushedAt: NOW - 10 * DAY },
    {
      digest: 'sha256:b',
      tags: ['ci-2'],
      status: 'ACTIVE',
      pushedAt: NOW - DAY,
      lastPulledAt: NOW
    },
    {
      digest: 'sha256:c',
      tags: ['v1'],
      status: 'ARCHIVED',
      pushedAt: NOW - 400 * DAY,
      archivedAt: NOW - 100 * DAY
    }
  ]
  const policyOf = (
    selection: Record<string, unknown>,
    action: Record<string, unknown> = { type: 'expire' }
  ) => JSON.stringify({ rules: [{ rulePriority: 1, selection, action }] })

  it.each([
    [
      'a count the selected images do not exceed',
      {
        tagStatus: 'tagged',
        tagPatternList: ['ci-*'],
        countType: 'imageCountMoreThan',
        countNumber: 2
      },
      false
    ],
    [
      'a count the selected images exceed',
      {
        tagStatus: 'tagged',
        tagPatternList: ['ci-*'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      },
      true
    ],
    [
      'untagged images, when there are none',
      { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 0 },
      false
    ],
    [
      'an age no selected image reaches',
      { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 30 },
      false
    ],
    [
      'an age an image reaches',
      { tagStatus: 'any', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 5 },
      true
    ],
    [
      'pulls: the last pull, or the push when never pulled',
      { tagStatus: 'any', countType: 'sinceImagePulled', countUnit: 'days', countNumber: 5 },
      true
    ],
    [
      'pulls: recently pulled images only',
      {
        tagStatus: 'tagged',
        tagPatternList: ['ci-2'],
        countType: 'sinceImagePulled',
        countUnit: 'days',
        countNumber: 5
      },
      false
    ],
    [
      'archived images by time in archive',
      {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 90
      },
      true
    ],
    [
      'archived images not yet long enough in archive',
      {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 180
      },
      false
    ],
    [
      'a count type it does not know (left to ECR)',
      { tagStatus: 'any', countType: 'sinceSomethingNew', countNumber: 1 },
      true
    ]
  ])('%s', (_name, selection, expected) => {
    expect(lifecycleCanChange(policyOf(selection), images, NOW)).toBe(expected)
  })

  it('counts an image whose push time ECR did not give as old enough', () => {
    const unknown: StoredImage[] = [{ digest: 'sha256:x', tags: ['v1'], status: 'ACTIVE' }]
    const policy = policyOf({
      tagStatus: 'any',
      countType: 'sinceImagePushed',
      countUnit: 'days',
      countNumber: 3650
    })
    expect(lifecycleCanChange(policy, unknown, NOW)).toBe(true)
  })

  it('leaves a text it cannot read to ECR', () => {
    expect(lifecycleCanChange('not json', images, NOW)).toBe(true)
  })
})
