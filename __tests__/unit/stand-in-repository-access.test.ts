import { describe, expect, it } from '@jest/globals'
import {
  conditionsHold,
  evaluatePolicy,
  globMatches,
  lambdaMayPull,
  principalMatches
} from '../../stack/stand-in/repository-access.js'

/** The repository-policy evaluation Lambda's cross-account pull depends on, as pure functions. */

const REPOSITORY_ACCOUNT = '111111111111'
const FUNCTION_ACCOUNT = '222222222222'
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT}:function:orders`
const PULL = ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']

const accountGrant = (principal: unknown, action: unknown = PULL) => ({
  Sid: 'CrossAccount',
  Effect: 'Allow',
  Principal: principal,
  Action: action
})
const lambdaGrant = (condition: unknown, action: unknown = PULL) => ({
  Sid: 'Lambda',
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: action,
  ...(condition === undefined ? {} : { Condition: condition })
})
const sourceArnLike = (pattern: string, key = 'aws:sourceArn') => ({
  StringLike: { [key]: pattern }
})
const policy = (statement: unknown) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statement })

function mayPull(policyText: string | undefined, functionAccount = FUNCTION_ACCOUNT): boolean {
  return lambdaMayPull({
    functionArn: `arn:aws:lambda:us-east-1:${functionAccount}:function:orders`,
    functionAccount,
    repositoryAccount: REPOSITORY_ACCOUNT,
    policyText
  })
}

describe('lambdaMayPull', () => {
  it('refuses the same account without a policy (the service must be granted there too)', () => {
    expect(mayPull(undefined, REPOSITORY_ACCOUNT)).toBe(false)
  })

  it('needs only the service grant in the same account', () => {
    expect(mayPull(policy([lambdaGrant(undefined)]), REPOSITORY_ACCOUNT)).toBe(true)
  })

  it('refuses another account without a policy', () => {
    expect(mayPull(undefined)).toBe(false)
  })

  it('allows the documented pair of statements', () => {
    const text = policy([
      accountGrant({ AWS: `arn:aws:iam::${FUNCTION_ACCOUNT}:root` }),
      lambdaGrant(sourceArnLike(`arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT}:function:*`))
    ])
    expect(mayPull(text)).toBe(true)
  })

  it.each([
    ['the account id alone as principal', { AWS: FUNCTION_ACCOUNT }],
    [
      'a list of accounts',
      { AWS: ['arn:aws:iam::333333333333:root', `arn:aws:iam::${FUNCTION_ACCOUNT}:root`] }
    ],
    ['everyone', '*']
  ])('accepts %s', (_case, principal) => {
    const text = policy([
      accountGrant(principal),
      lambdaGrant(sourceArnLike(`arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT}:function:*`))
    ])
    expect(mayPull(text)).toBe(true)
  })

  it.each([
    ['no grant for Lambda', [accountGrant({ AWS: FUNCTION_ACCOUNT })]],
    [
      'no grant for the account',
      [lambdaGrant(sourceArnLike(`arn:aws:lambda:us-east-1:${FUNCTION_ACCOUNT}:function:*`))]
    ],
    [
      'a Lambda grant for another account’s functions',
      [
        accountGrant({ AWS: FUNCTION_ACCOUNT }),
        lambdaGrant(sourceArnLike('arn:aws:lambda:us-east-1:333333333333:function:*'))
      ]
    ],
    [
      'a Lambda grant for another region',
      [
        accountGrant({ AWS: FUNCTION_ACCOUNT }),
        lambdaGrant(sourceArnLike(`arn:aws:lambda:eu-west-1:${FUNCTION_ACCOUNT}:function:*`))
      ]
    ],
    [
      'only one of the two actions',
      [
        accountGrant({ AWS: FUNCTION_ACCOUNT }, 'ecr:BatchGetImage'),
        lambdaGrant(sourceArnLike('*'), 'ecr:BatchGetImage')
      ]
    ],
    [
      'a role of the account instead of the account',
      [
        accountGrant({ AWS: `arn:aws:iam::${FUNCTION_ACCOUNT}:role/ci` }),
        lambdaGrant(sourceArnLike('*'))
      ]
    ],
    [
      'an explicit Deny for Lambda',
      [
        accountGrant({ AWS: FUNCTION_ACCOUNT }),
        lambdaGrant(sourceArnLike('*')),
        { Effect: 'Deny', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:*' }
      ]
    ]
  ])('refuses with %s', (_case, statements) => {
    expect(mayPull(policy(statements))).toBe(false)
  })

  it('reads a single Statement object, a string Action and an ecr:* wildcard', () => {
    const text = JSON.stringify({
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: FUNCTION_ACCOUNT, Service: 'lambda.amazonaws.com' },
        Action: 'ecr:*'
      }
    })
    expect(mayPull(text)).toBe(true)
  })

  it('treats an unparseable policy as no grant', () => {
    expect(mayPull('{not json')).toBe(false)
  })
})

describe('evaluatePolicy', () => {
  const request = {
    principal: { kind: 'service' as const, service: 'lambda.amazonaws.com' },
    action: 'ecr:BatchGetImage',
    context: { 'aws:SourceArn': FUNCTION_ARN }
  }

  it('says deny when a Deny matches, even beside an Allow', () => {
    const text = policy([
      lambdaGrant(undefined),
      { Effect: 'Deny', Principal: '*', Action: 'ecr:Batch*' }
    ])
    expect(evaluatePolicy(text, request)).toBe('deny')
  })

  it('says implicit-deny when nothing matches', () => {
    expect(evaluatePolicy(policy([accountGrant({ AWS: FUNCTION_ACCOUNT })]), request)).toBe(
      'implicit-deny'
    )
  })

  it('applies NotAction to every action it does not name', () => {
    const text = policy([{ Effect: 'Allow', Principal: '*', NotAction: 'ecr:DeleteRepository' }])
    expect(evaluatePolicy(text, request)).toBe('allow')
    const named = policy([{ Effect: 'Allow', Principal: '*', NotAction: 'ecr:BatchGet*' }])
    expect(evaluatePolicy(named, request)).toBe('implicit-deny')
  })
})

describe('conditionsHold', () => {
  const context = { 'aws:SourceArn': FUNCTION_ARN, 'aws:SourceAccount': FUNCTION_ACCOUNT }

  it.each([
    [
      'StringLike with a key in any case',
      { StringLike: { 'AWS:SOURCEARN': 'arn:aws:lambda:*:*:function:*' } },
      true
    ],
    [
      'StringLike with one of several patterns',
      { StringLike: { 'aws:sourceArn': ['nope', `${FUNCTION_ARN.slice(0, -3)}*`] } },
      true
    ],
    [
      'ArnLike',
      { ArnLike: { 'aws:SourceArn': 'arn:aws:lambda:us-east-1:*:function:ord?rs' } },
      true
    ],
    [
      'StringEquals on the account',
      { StringEquals: { 'aws:SourceAccount': FUNCTION_ACCOUNT } },
      true
    ],
    [
      'two operators, one failing',
      {
        StringEquals: { 'aws:SourceAccount': FUNCTION_ACCOUNT },
        StringLike: { 'aws:SourceArn': 'x*' }
      },
      false
    ],
    [
      'a key the request does not have',
      { StringEquals: { 'aws:PrincipalTag/team': 'platform' } },
      false
    ],
    [
      'a missing key with IfExists',
      { StringEqualsIfExists: { 'aws:PrincipalTag/team': 'platform' } },
      true
    ],
    [
      'an operator the stand-in does not know',
      { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01' } },
      false
    ]
  ])('%s', (_case, condition, holds) => {
    expect(conditionsHold(condition, context)).toBe(holds)
  })
})

describe('principalMatches and globMatches', () => {
  it('matches the service principal only by its name', () => {
    expect(
      principalMatches(
        { Service: ['lambda.amazonaws.com'] },
        { kind: 'service', service: 'lambda.amazonaws.com' }
      )
    ).toBe(true)
    expect(
      principalMatches(
        { Service: 'ecs.amazonaws.com' },
        { kind: 'service', service: 'lambda.amazonaws.com' }
      )
    ).toBe(false)
    expect(
      principalMatches({ AWS: '*' }, { kind: 'service', service: 'lambda.amazonaws.com' })
    ).toBe(true)
  })

  it('compares actions case-blind and values case-sensitively', () => {
    expect(globMatches('ECR:batchget*', 'ecr:BatchGetImage', true)).toBe(true)
    expect(globMatches('arn:aws:lambda:*:function:Orders', FUNCTION_ARN, false)).toBe(false)
    expect(globMatches('a.b', 'axb', false)).toBe(false)
  })
})
