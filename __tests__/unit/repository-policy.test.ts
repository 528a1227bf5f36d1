import { describe, expect, it } from '@jest/globals'
import {
  CROSS_ACCOUNT_STATEMENT_SID,
  MAX_REPOSITORY_POLICY_CHARACTERS,
  mergeLambdaGrant,
  policyTooLarge,
  SERVICE_STATEMENT_SID
} from '../../src/domain/repository-policy.js'

const REPO_ACCOUNT = '111111111111'
const SAME_ACCOUNT_FN = 'arn:aws:lambda:us-east-1:111111111111:function:app'
const OTHER_ACCOUNT_FN = 'arn:aws:lambda:us-east-1:222222222222:function:app'

interface Statement {
  Sid?: string
  Effect: string
  Principal?: unknown
  Action?: unknown
  Condition?: unknown
}

function statements(text: string | undefined): Statement[] {
  return (JSON.parse(text ?? '{}') as { Statement: Statement[] }).Statement
}

const unrelated: Statement = {
  Sid: 'CiPush',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::111111111111:role/ci' },
  Action: ['ecr:PutImage', 'ecr:InitiateLayerUpload'],
  Condition: { StringEquals: { 'aws:PrincipalTag/team': 'platform' } }
}

describe('mergeLambdaGrant', () => {
  it('creates a policy with the Lambda service grant when there is none', () => {
    const result = mergeLambdaGrant(undefined, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [SAME_ACCOUNT_FN]
    })
    expect(statements(result.text)).toEqual([
      {
        Sid: SERVICE_STATEMENT_SID,
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Condition: {
          StringLike: { 'aws:sourceArn': 'arn:aws:lambda:us-east-1:111111111111:function:*' }
        }
      }
    ])
    expect(result.changes).toHaveLength(1)
  })

  it('keeps every unrelated statement exactly as it was', () => {
    const existing = JSON.stringify({ Version: '2008-10-17', Statement: [unrelated] })
    const result = mergeLambdaGrant(existing, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [OTHER_ACCOUNT_FN]
    })
    const merged = JSON.parse(result.text!) as { Version: string; Statement: Statement[] }
    expect(merged.Version).toBe('2008-10-17')
    expect(merged.Statement[0]).toEqual(unrelated)
    expect(merged.Statement).toHaveLength(3)
  })

  it('accepts Statement as a single object', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: unrelated })
    const result = mergeLambdaGrant(existing, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [SAME_ACCOUNT_FN]
    })
    expect(statements(result.text)[0]).toEqual(unrelated)
    expect(statements(result.text)).toHaveLength(2)
  })

  it('adds both cross-account statements for a function in another account', () => {
    const result = mergeLambdaGrant(undefined, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [OTHER_ACCOUNT_FN]
    })
    const [service, account] = statements(result.text)
    expect(service?.Condition).toEqual({
      StringLike: { 'aws:sourceArn': 'arn:aws:lambda:us-east-1:222222222222:function:*' }
    })
    expect(account).toEqual({
      Sid: CROSS_ACCOUNT_STATEMENT_SID,
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::222222222222:root' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    })
  })

  it('lists several accounts in both statements', () => {
    const third = 'arn:aws:lambda:us-east-1:333333333333:function:x'
    const result = mergeLambdaGrant(undefined, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [OTHER_ACCOUNT_FN, third]
    })
    const [service, account] = statements(result.text)
    expect(service?.Condition).toEqual({
      StringLike: {
        'aws:sourceArn': [
          'arn:aws:lambda:us-east-1:222222222222:function:*',
          'arn:aws:lambda:us-east-1:333333333333:function:*'
        ]
      }
    })
    expect(account?.Principal).toEqual({
      AWS: ['arn:aws:iam::222222222222:root', 'arn:aws:iam::333333333333:root']
    })
  })

  it('extends its own statements for a new account instead of adding copies', () => {
    const first = mergeLambdaGrant(undefined, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [OTHER_ACCOUNT_FN]
    })
    const second = mergeLambdaGrant(first.text, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: ['arn:aws:lambda:us-east-1:333333333333:function:x']
    })
    expect(statements(second.text)).toHaveLength(2)
    expect(second.changes.every(change => change.startsWith('extended'))).toBe(true)
  })

  it('changes nothing when the grant is already there', () => {
    const first = mergeLambdaGrant(undefined, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [OTHER_ACCOUNT_FN]
    })
    expect(
      mergeLambdaGrant(first.text, {
        repositoryAccount: REPO_ACCOUNT,
        functionArns: [OTHER_ACCOUNT_FN]
      })
    ).toEqual({ text: undefined, changes: [] })
  })

  it.each([
    [
      'string principal and action wildcard',
      { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:*' }
    ],
    [
      'Principal "*"',
      {
        Effect: 'Allow',
        Principal: '*',
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
      }
    ],
    [
      'an ArnLike condition with a wildcard region',
      {
        Effect: 'Allow',
        Principal: { Service: ['lambda.amazonaws.com'] },
        Action: ['ecr:batchgetimage', 'ecr:GetDownloadUrlForLayer'],
        Condition: { ArnLike: { 'AWS:SourceArn': 'arn:aws:lambda:*:111111111111:function:*' } }
      }
    ]
  ])('recognises an existing grant written with %s', (_name, statement) => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [statement] })
    expect(
      mergeLambdaGrant(existing, {
        repositoryAccount: REPO_ACCOUNT,
        functionArns: [SAME_ACCOUNT_FN]
      }).text
    ).toBeUndefined()
  })

  it.each([
    ['a Deny', { Effect: 'Deny', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:*' }],
    [
      'one action only',
      {
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'ecr:BatchGetImage'
      }
    ],
    [
      'a condition for another account',
      {
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'ecr:*',
        Condition: {
          StringLike: { 'aws:sourceArn': 'arn:aws:lambda:us-east-1:999999999999:function:*' }
        }
      }
    ],
    [
      'a condition it cannot judge',
      {
        Effect: 'Allow',
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'ecr:*',
        Condition: { IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }
      }
    ]
  ])('does not count %s as a grant, and keeps it', (_name, statement) => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [statement] })
    const result = mergeLambdaGrant(existing, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [SAME_ACCOUNT_FN]
    })
    expect(statements(result.text)[0]).toEqual(statement)
    expect(statements(result.text)).toHaveLength(2)
  })

  it('picks a free Sid when a foreign statement already uses ours', () => {
    const squatter = {
      Sid: SERVICE_STATEMENT_SID,
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: 'ecr:ListImages'
    }
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: [squatter] })
    const result = mergeLambdaGrant(existing, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [SAME_ACCOUNT_FN]
    })
    expect(statements(result.text)[0]).toEqual(squatter)
    expect(statements(result.text)[1]?.Sid).toBe(`${SERVICE_STATEMENT_SID}2`)
  })

  it('refuses to merge into a policy that is not JSON', () => {
    expect(() =>
      mergeLambdaGrant('{not json', {
        repositoryAccount: REPO_ACCOUNT,
        functionArns: [SAME_ACCOUNT_FN]
      })
    ).toThrow(/not valid JSON/)
  })
})

describe('policy size', () => {
  /** Statements as a Terraform-managed repository might carry them, one per reader role. */
  const readers = (count: number) =>
    Array.from({ length: count }, (_, index) => ({
      Sid: `Reader${index}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::111111111111:role/reader-${index}` },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    }))

  it('writes the merged policy compactly, as ECR counts whitespace against its limit', () => {
    const existing = JSON.stringify({ Version: '2012-10-17', Statement: readers(50) }, null, 2)
    const merged = mergeLambdaGrant(existing, {
      repositoryAccount: REPO_ACCOUNT,
      functionArns: [SAME_ACCOUNT_FN]
    })
    expect(merged.text).toBe(JSON.stringify(JSON.parse(merged.text!)))
    expect(merged.text!.length).toBeLessThan(existing.length)
  })

  it('accepts a merged policy of exactly the limit and refuses one character more', () => {
    const fits = 'x'.repeat(MAX_REPOSITORY_POLICY_CHARACTERS)
    expect(MAX_REPOSITORY_POLICY_CHARACTERS).toBe(10_240)
    expect(policyTooLarge(fits, 'repo')).toBeUndefined()
    const error = policyTooLarge(`${fits}x`, '111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
    expect(error?.id).toBe('repository-policy-too-large')
    expect(error?.reason).toContain('10,241 characters')
    expect(error?.reason).toContain('10,240')
    expect(error?.fix).toContain('manage-repository-policy: false')
  })
})
