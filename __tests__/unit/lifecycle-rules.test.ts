import { describe, expect, it } from '@jest/globals'
import {
  evaluateLifecycleRules,
  parseLifecycleRules,
  type RepositoryImage
} from '../../stack/stand-in/lifecycle-rules.js'

/**
 * The stand-in's model of ECR lifecycle rules ("Lifecycle policy properties" and "How lifecycle
 * policies work", ECR user guide), one rule shape per row: which of a fixed set of images the
 * policy expires, and by which rule.
 */

const DAY = 24 * 60 * 60 * 1000
const NOW = Date.UTC(2026, 10, 30)

/** Newest first: pushed 1, 2, 3, ... days ago. */
const IMAGES: RepositoryImage[] = [
  { digest: 'sha256:a', tags: ['prod-3', 'v3'], pushedAt: NOW - 1 * DAY },
  { digest: 'sha256:b', tags: [], pushedAt: NOW - 2 * DAY },
  { digest: 'sha256:c', tags: ['ci-7'], pushedAt: NOW - 3 * DAY },
  { digest: 'sha256:d', tags: ['prod-2', 'v2'], pushedAt: NOW - 4 * DAY },
  { digest: 'sha256:e', tags: ['ci-6'], pushedAt: NOW - 5 * DAY },
  { digest: 'sha256:f', tags: [], pushedAt: NOW - 6 * DAY },
  { digest: 'sha256:g', tags: ['prod-1'], pushedAt: NOW - 7 * DAY }
]

type Selection = Record<string, unknown>
const rule = (rulePriority: number, selection: Selection) => ({
  rulePriority,
  selection,
  action: { type: 'expire' }
})

const cases: [name: string, rules: ReturnType<typeof rule>[], expired: string[]][] = [
  [
    'untagged, count: keeps the newest untagged image',
    [rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })],
    ['f:1']
  ],
  [
    'untagged, age: expires untagged images pushed more than N days ago',
    [
      rule(1, {
        tagStatus: 'untagged',
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 1
      })
    ],
    ['f:1', 'b:1']
  ],
  [
    'tagged prefix, count: keeps the newest N with the prefix',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['prod'],
        countType: 'imageCountMoreThan',
        countNumber: 2
      })
    ],
    ['g:1']
  ],
  [
    'tagged prefix list: every prefix must match one of the tags',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['prod', 'v'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      })
    ],
    ['d:1']
  ],
  [
    'tagged pattern with a wildcard',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['ci-*'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      })
    ],
    ['e:1']
  ],
  [
    'tagged pattern without a wildcard matches the whole tag only',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['ci'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      })
    ],
    []
  ],
  [
    'any, count: keeps the newest N of all images',
    [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 })],
    ['g:1', 'f:1']
  ],
  [
    'a lower rule cannot expire what a higher rule selects, even when the higher keeps it',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPrefixList: ['prod'],
        countType: 'imageCountMoreThan',
        countNumber: 10
      }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 2 })
    ],
    // Rule 2 keeps the newest two of all (a, b) and may not expire the prod images (d, g).
    ['f:2', 'e:2', 'c:2']
  ],
  [
    'a lower rule still counts what a higher rule expires',
    [
      rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 4 })
    ],
    // Newest four of all (a, b, c, d) are kept by rule 2; f is rule 1's; b is untagged, kept by
    // rule 1, and rule 2 may not expire it either.
    ['g:2', 'f:1', 'e:2']
  ],
  [
    'an image is expired by one rule only: the first that reaches it',
    [
      rule(1, {
        tagStatus: 'tagged',
        tagPatternList: ['ci-*'],
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 4
      }),
      rule(2, {
        tagStatus: 'tagged',
        tagPatternList: ['ci-*'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      })
    ],
    ['e:1']
  ]
]

describe('ECR lifecycle rules (stand-in model)', () => {
  it.each(cases)('%s', (_name, rules, expired) => {
    const parsed = parseLifecycleRules(JSON.stringify({ rules }))
    const result = evaluateLifecycleRules(parsed, IMAGES, NOW).map(
      expiration => `${expiration.image.digest.slice(7)}:${expiration.rulePriority}`
    )
    expect(result).toEqual(expired)
  })

  it('applies rules by priority, not by their order in the policy', () => {
    const rules = [
      rule(5, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
      rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 100 })
    ]
    const result = evaluateLifecycleRules(
      parseLifecycleRules(JSON.stringify({ rules })),
      IMAGES,
      NOW
    )
    expect(result.map(e => e.image.digest)).not.toContain('sha256:b')
    expect(result.map(e => e.image.digest)).not.toContain('sha256:f')
    expect(result.every(e => e.rulePriority === 5)).toBe(true)
  })

  it.each([
    [
      'duplicate priorities',
      [
        rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
        rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })
      ],
      /unique/
    ],
    [
      'any not last',
      [
        rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 }),
        rule(2, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 })
      ],
      /highest/
    ],
    [
      'tagged without a list',
      [rule(1, { tagStatus: 'tagged', countType: 'imageCountMoreThan', countNumber: 1 })],
      /tagPrefixList or a tagPatternList/
    ],
    [
      'both lists',
      [
        rule(1, {
          tagStatus: 'tagged',
          tagPrefixList: ['a'],
          tagPatternList: ['a*'],
          countType: 'imageCountMoreThan',
          countNumber: 1
        })
      ],
      /cannot both/
    ],
    [
      'age without days',
      [rule(1, { tagStatus: 'any', countType: 'sinceImagePushed', countNumber: 1 })],
      /countUnit days/
    ],
    [
      'two untagged rules',
      [
        rule(1, { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }),
        rule(2, {
          tagStatus: 'untagged',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 1
        })
      ],
      /untagged/
    ],
    [
      'zero count',
      [rule(1, { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 0 })],
      /positive/
    ]
  ])('refuses a policy with %s', (_name, rules, message) => {
    expect(() => parseLifecycleRules(JSON.stringify({ rules }))).toThrow(message)
  })
})

/**
 * The archive storage class (November 2025): transition rules, storage-class selection and the
 * pull- and archive-based counts ("Lifecycle policy properties", "Archiving an image").
 */
describe('ECR lifecycle rules with the archive storage class (stand-in model)', () => {
  const transition = (rulePriority: number, selection: Selection) => ({
    rulePriority,
    selection,
    action: { type: 'transition', targetStorageClass: 'archive' }
  })
  const outcome = (rules: unknown[], images: RepositoryImage[] = IMAGES) =>
    evaluateLifecycleRules(parseLifecycleRules(JSON.stringify({ rules })), images, NOW).map(
      e => `${e.image.digest.slice(7)}:${e.rulePriority}:${e.action}`
    )

  it('transitions (does not expire) what a transition rule selects beyond its count', () => {
    expect(
      outcome([
        transition(1, {
          tagStatus: 'tagged',
          tagPatternList: ['prod-*'],
          countType: 'imageCountMoreThan',
          countNumber: 1
        })
      ])
    ).toEqual(['g:1:transition', 'd:1:transition'])
  })

  it('counts sinceImagePulled from the last recorded pull, and from the push when never pulled', () => {
    const images: RepositoryImage[] = [
      // Pushed long ago, pulled yesterday: stays.
      { digest: 'sha256:p', tags: ['v1'], pushedAt: NOW - 60 * DAY, lastPulledAt: NOW - DAY },
      // Pulled 40 days ago: archived.
      { digest: 'sha256:q', tags: ['v2'], pushedAt: NOW - 50 * DAY, lastPulledAt: NOW - 40 * DAY },
      // Never pulled, pushed 31 days ago: archived.
      { digest: 'sha256:r', tags: ['v3'], pushedAt: NOW - 31 * DAY }
    ]
    expect(
      outcome(
        [
          transition(1, {
            tagStatus: 'any',
            countType: 'sinceImagePulled',
            countUnit: 'days',
            countNumber: 30
          })
        ],
        images
      )
    ).toEqual(['q:1:transition', 'r:1:transition'])
  })

  it('lets a rule act only on images of its storage class', () => {
    const images: RepositoryImage[] = [
      { digest: 'sha256:s', tags: ['v1'], pushedAt: NOW - 200 * DAY },
      {
        digest: 'sha256:t',
        tags: ['v2'],
        pushedAt: NOW - 300 * DAY,
        storageClass: 'archive',
        archivedAt: NOW - 100 * DAY
      },
      {
        digest: 'sha256:u',
        tags: ['v3'],
        pushedAt: NOW - 300 * DAY,
        storageClass: 'archive',
        archivedAt: NOW - 10 * DAY
      }
    ]
    const rules = [
      transition(1, {
        tagStatus: 'any',
        countType: 'sinceImagePushed',
        countUnit: 'days',
        countNumber: 100
      })
    ]
    // The archived images are not transitioned again.
    expect(outcome(rules, images)).toEqual(['s:1:transition'])
    const expireArchived = {
      rulePriority: 1,
      selection: {
        tagStatus: 'any',
        storageClass: 'archive',
        countType: 'sinceImageTransitioned',
        countUnit: 'days',
        countNumber: 90
      },
      action: { type: 'expire' }
    }
    // Only the image archived more than 90 days ago; the standard one is not this rule's.
    expect(outcome([expireArchived], images)).toEqual(['t:1:expire'])
  })

  it.each([
    [
      'a transition without targetStorageClass',
      [
        {
          rulePriority: 1,
          selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 1 },
          action: { type: 'transition' }
        }
      ],
      /targetStorageClass archive/
    ],
    [
      'sinceImagePulled without days',
      [transition(1, { tagStatus: 'any', countType: 'sinceImagePulled', countNumber: 1 })],
      /countUnit days/
    ],
    [
      'sinceImageTransitioned on standard images',
      [
        rule(1, {
          tagStatus: 'any',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 120
        })
      ],
      /storageClass archive/
    ],
    [
      'an archive rule counting by push',
      [
        rule(1, {
          tagStatus: 'any',
          storageClass: 'archive',
          countType: 'sinceImagePushed',
          countUnit: 'days',
          countNumber: 120
        })
      ],
      /storageClass archive/
    ],
    [
      'expiring archived images before 90 days in archive',
      [
        rule(1, {
          tagStatus: 'any',
          storageClass: 'archive',
          countType: 'sinceImageTransitioned',
          countUnit: 'days',
          countNumber: 30
        })
      ],
      /90 days/
    ]
  ])('refuses a policy with %s', (_name, rules, message) => {
    expect(() => parseLifecycleRules(JSON.stringify({ rules }))).toThrow(message)
  })
})
