import { describe, expect, it } from '@jest/globals'
import {
  statementLabel,
  statementsMissing,
  statementsOf
} from '../../src/domain/policy-verification.js'

const keep = {
  Sid: 'KeepMe',
  Effect: 'Allow',
  Principal: { AWS: 'arn:aws:iam::1:root' },
  Action: ['ecr:PutImage', 'ecr:BatchGetImage']
}
const ours = {
  Sid: 'LambdaECRImageRetrievalPolicy',
  Effect: 'Allow',
  Principal: { Service: 'lambda.amazonaws.com' },
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
}
const policy = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })

describe('statementsMissing', () => {
  it('finds nothing missing when the policy reads back as written', () => {
    expect(statementsMissing(policy(keep, ours), policy(keep, ours))).toEqual([])
  })

  it('ignores key order, string-list order and whitespace', () => {
    const reordered = JSON.stringify(
      {
        Statement: [
          { ...ours, Action: [...ours.Action].reverse() },
          { Action: keep.Action, Sid: 'KeepMe', Principal: keep.Principal, Effect: 'Allow' }
        ],
        Version: '2012-10-17'
      },
      null,
      4
    )
    expect(statementsMissing(policy(keep, ours), reordered)).toEqual([])
  })

  it('accepts statements another writer added', () => {
    const extra = { Sid: 'Other', Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository' }
    expect(statementsMissing(policy(keep, ours), policy(extra, keep, ours))).toEqual([])
  })

  it('reports our statement when another writer replaced the policy without it', () => {
    expect(statementsMissing(policy(keep, ours), policy(keep))).toEqual([ours])
  })

  it('reports a statement that was there before and is gone or changed', () => {
    const changed = { ...keep, Action: 'ecr:*' }
    expect(statementsMissing(policy(keep, ours), policy(changed, ours))).toEqual([keep])
  })

  it('reports every statement when the policy was deleted', () => {
    expect(statementsMissing(policy(keep, ours), undefined)).toEqual([keep, ours])
  })

  it('reads a single Statement object as a list of one', () => {
    expect(statementsOf(JSON.stringify({ Statement: keep }))).toEqual([keep])
    expect(statementsOf('not json')).toEqual([])
  })

  it('labels a statement by Sid, or by position without one', () => {
    expect(statementLabel(keep, 0)).toBe('"KeepMe"')
    expect(statementLabel({ Effect: 'Allow' }, 2)).toBe('statement 3')
  })
})
