import { describe, expect, it } from '@jest/globals'
import {
  evaluatePolicies,
  evaluatePolicy,
  type AccessRequest,
  type Decision
} from '../../stack/stand-in/iam-policy.js'

/** The stand-in's IAM evaluator, one behaviour per row (IAM User Guide, "Policy evaluation
 * logic" and the JSON policy elements reference). */

const REPO = 'arn:aws:ecr:us-east-1:111111111111:repository/team/app'
const FN = 'arn:aws:lambda:us-east-1:111111111111:function:orders'

const identity = (...Statement: object[]) => ({ Version: '2012-10-17', Statement })
const allow = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Allow',
  Action,
  Resource,
  ...extra
})
const deny = (Action: unknown, Resource: unknown = '*', extra: object = {}) => ({
  Effect: 'Deny',
  Action,
  Resource,
  ...extra
})

const rows: [string, object, AccessRequest, Decision][] = [
  [
    'an Allow of the exact action and resource',
    identity(allow('ecr:BatchGetImage', REPO)),
    { action: 'ecr:BatchGetImage', resource: REPO },
    'allow'
  ],
  [
    'nothing for an action no statement names',
    identity(allow('ecr:BatchGetImage', REPO)),
    { action: 'ecr:GetDownloadUrlForLayer', resource: REPO },
    'implicit-deny'
  ],
  [
    'action names case-blind',
    identity(allow('ECR:batchgetimage', REPO)),
    { action: 'ecr:BatchGetImage', resource: REPO },
    'allow'
  ],
  [
    'a wildcard in the action',
    identity(allow('ecr:Batch*', REPO)),
    { action: 'ecr:BatchCheckLayerAvailability', resource: REPO },
    'allow'
  ],
  [
    'a ? wildcard as one character',
    identity(allow('lambda:GetAlia?', FN)),
    { action: 'lambda:GetAlias', resource: FN },
    'allow'
  ],
  [
    'a wildcard in the resource',
    identity(allow('ecr:PutImage', 'arn:aws:ecr:us-east-1:111111111111:repository/team/*')),
    { action: 'ecr:PutImage', resource: REPO },
    'allow'
  ],
  [
    'another resource',
    identity(allow('ecr:PutImage', 'arn:aws:ecr:us-east-1:111111111111:repository/other')),
    { action: 'ecr:PutImage', resource: REPO },
    'implicit-deny'
  ],
  [
    'resource ARNs case-sensitively',
    identity(allow('ecr:PutImage', REPO.toUpperCase())),
    { action: 'ecr:PutImage', resource: REPO },
    'implicit-deny'
  ],
  [
    'an unqualified function ARN not for a qualified one',
    identity(allow('lambda:GetFunction', FN)),
    { action: 'lambda:GetFunction', resource: `${FN}:live` },
    'implicit-deny'
  ],
  [
    'NAME:* for a qualified function ARN',
    identity(allow('lambda:GetFunction', [FN, `${FN}:*`])),
    { action: 'lambda:GetFunction', resource: `${FN}:live` },
    'allow'
  ],
  [
    'an action without resource-level permissions only with Resource *',
    identity(allow('ecr:GetAuthorizationToken', REPO)),
    { action: 'ecr:GetAuthorizationToken', resource: '*' },
    'implicit-deny'
  ],
  [
    'Resource * for an action without resource-level permissions',
    identity(allow('ecr:GetAuthorizationToken', '*')),
    { action: 'ecr:GetAuthorizationToken', resource: '*' },
    'allow'
  ],
  [
    'an explicit Deny over an Allow',
    identity(allow('ecr:*', '*'), deny('ecr:PutImage', REPO)),
    { action: 'ecr:PutImage', resource: REPO },
    'deny'
  ],
  [
    'a Deny of another action leaves the Allow',
    identity(allow('ecr:*', '*'), deny('ecr:PutImage', REPO)),
    { action: 'ecr:BatchGetImage', resource: REPO },
    'allow'
  ],
  [
    'NotAction: every action but the named',
    identity({ Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }),
    { action: 'ecr:PutImage', resource: REPO },
    'allow'
  ],
  [
    'NotAction: not the named action',
    identity({ Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }),
    { action: 'ecr:DeleteRepository', resource: REPO },
    'implicit-deny'
  ],
  [
    'NotResource: every resource but the named',
    identity({ Effect: 'Deny', Action: 'ecr:*', NotResource: REPO }),
    { action: 'ecr:PutImage', resource: 'arn:aws:ecr:us-east-1:111111111111:repository/x' },
    'deny'
  ],
  [
    'NotResource: not the named resource',
    identity({ Effect: 'Deny', Action: 'ecr:*', NotResource: REPO }),
    { action: 'ecr:PutImage', resource: REPO },
    'implicit-deny'
  ],
  [
    'a condition that holds',
    identity(
      allow('ecr:PutImage', REPO, {
        Condition: { StringEquals: { 'aws:RequestedRegion': 'us-east-1' } }
      })
    ),
    { action: 'ecr:PutImage', resource: REPO, context: { 'aws:RequestedRegion': 'us-east-1' } },
    'allow'
  ],
  [
    'a condition that does not hold',
    identity(
      allow('ecr:PutImage', REPO, {
        Condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } }
      })
    ),
    { action: 'ecr:PutImage', resource: REPO, context: { 'aws:RequestedRegion': 'us-east-1' } },
    'implicit-deny'
  ],
  [
    'a condition on a key the request lacks',
    identity(
      allow('ecr:PutImage', REPO, { Condition: { StringLike: { 'aws:SourceArn': 'arn:*' } } })
    ),
    { action: 'ecr:PutImage', resource: REPO },
    'implicit-deny'
  ],
  [
    'IfExists on a key the request lacks',
    identity(
      allow('ecr:PutImage', REPO, {
        Condition: { StringLikeIfExists: { 'aws:SourceArn': 'arn:*' } }
      })
    ),
    { action: 'ecr:PutImage', resource: REPO },
    'allow'
  ],
  [
    'an operator the evaluator does not know never holds',
    identity(
      allow('ecr:PutImage', REPO, { Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } })
    ),
    { action: 'ecr:PutImage', resource: REPO, context: { 'aws:SourceIp': '10.1.1.1' } },
    'implicit-deny'
  ],
  [
    'a statement with an unknown Effect',
    identity({ Effect: 'Maybe', Action: '*', Resource: '*' }),
    { action: 'ecr:PutImage', resource: REPO },
    'implicit-deny'
  ]
]

describe('evaluatePolicy', () => {
  it.each(rows)('decides %s', (_name, policy, request, expected) => {
    expect(evaluatePolicy(policy, request)).toBe(expected)
    expect(evaluatePolicy(JSON.stringify(policy), request)).toBe(expected)
  })

  it('grants nothing for text that is not JSON', () => {
    expect(evaluatePolicy('{not json', { action: 'ecr:PutImage', resource: REPO })).toBe(
      'implicit-deny'
    )
  })

  it('takes a single Statement object', () => {
    expect(
      evaluatePolicy(
        { Statement: allow('ecr:PutImage', REPO) },
        { action: 'ecr:PutImage', resource: REPO }
      )
    ).toBe('allow')
  })
})

describe('a resource policy', () => {
  const repositoryPolicy = (Principal: unknown) => ({
    Statement: [{ Effect: 'Allow', Principal, Action: 'ecr:BatchGetImage' }]
  })
  const user = {
    kind: 'iam' as const,
    account: '222222222222',
    arn: 'arn:aws:iam::222222222222:user/stand-in'
  }

  it.each([
    ['the account root', { AWS: 'arn:aws:iam::222222222222:root' }, 'allow'],
    ['the bare account id', { AWS: '222222222222' }, 'allow'],
    ['the user ARN', { AWS: 'arn:aws:iam::222222222222:user/stand-in' }, 'allow'],
    ['another user', { AWS: 'arn:aws:iam::222222222222:user/other' }, 'implicit-deny'],
    ['another account', { AWS: 'arn:aws:iam::333333333333:root' }, 'implicit-deny'],
    ['everyone', '*', 'allow'],
    ['a service', { Service: 'lambda.amazonaws.com' }, 'implicit-deny']
  ])('naming %s decides %s for a user', (_name, principal, expected) => {
    expect(
      evaluatePolicy(repositoryPolicy(principal), { action: 'ecr:BatchGetImage', principal: user })
    ).toBe(expected)
  })

  it('applies no Principal-bearing statement to a request without a principal', () => {
    expect(evaluatePolicy(repositoryPolicy('*'), { action: 'ecr:BatchGetImage' })).toBe(
      'implicit-deny'
    )
  })
})

describe('evaluatePolicies', () => {
  it('lets a Deny in one policy win over an Allow in another', () => {
    expect(
      evaluatePolicies([identity(allow('*')), identity(deny('lambda:UpdateFunctionCode', FN))], {
        action: 'lambda:UpdateFunctionCode',
        resource: FN
      })
    ).toBe('deny')
  })

  it('allows when any policy allows', () => {
    expect(
      evaluatePolicies([identity(allow('ecr:PutImage', REPO)), identity(allow('lambda:*', FN))], {
        action: 'lambda:GetFunction',
        resource: FN
      })
    ).toBe('allow')
  })
})
