import { describe, expect, it } from '@jest/globals'
import {
  parseFunctionReference,
  parseRepositoryUri,
  repositoryLocation,
  roleArnFor
} from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'

function errorId(work: () => unknown): string | undefined {
  try {
    work()
  } catch (error) {
    return error instanceof ActionError ? error.id : `not an ActionError: ${String(error)}`
  }
  return undefined
}

describe('parseFunctionReference', () => {
  it.each([
    ['my-function', { name: 'my-function', apiName: 'my-function' }],
    [
      '123456789012:function:my_fn',
      { name: 'my_fn', apiName: '123456789012:function:my_fn', account: '123456789012' }
    ],
    [
      'arn:aws:lambda:eu-west-1:123456789012:function:fn',
      {
        name: 'fn',
        apiName: 'arn:aws:lambda:eu-west-1:123456789012:function:fn',
        account: '123456789012',
        region: 'eu-west-1',
        partition: 'aws'
      }
    ],
    [
      'arn:aws-cn:lambda:cn-north-1:123456789012:function:fn',
      {
        name: 'fn',
        apiName: 'arn:aws-cn:lambda:cn-north-1:123456789012:function:fn',
        account: '123456789012',
        region: 'cn-north-1',
        partition: 'aws-cn'
      }
    ],
    [
      'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn',
      {
        name: 'fn',
        apiName: 'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn',
        account: '123456789012',
        region: 'us-gov-west-1',
        partition: 'aws-us-gov'
      }
    ]
  ])('reads %s', (given, expected) => {
    expect(parseFunctionReference(given)).toEqual(expected)
  })

  it.each([
    ['has a space', 'invalid-function-name'],
    ['a'.repeat(65), 'invalid-function-name'],
    ['arn:aws:lambda:eu-west-1:12345:function:fn', 'invalid-function-name'],
    ['arn:aws:s3:::bucket', 'invalid-function-name'],
    ['fn;rm -rf /', 'invalid-function-name'],
    ['arn:aws:lambda:eu-west-1:123456789012:function:fn:prod', 'function-qualifier-not-allowed'],
    ['123456789012:function:fn:$LATEST', 'function-qualifier-not-allowed']
  ])('refuses %s with %s', (given, id) => {
    expect(errorId(() => parseFunctionReference(given))).toBe(id)
  })
})

describe('parseRepositoryUri', () => {
  it.each([
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app', '123456789012', 'us-east-1', 'app'],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app',
      '123456789012',
      'eu-west-1',
      'team/app'
    ],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app', '123456789012', 'cn-north-1', 'app'],
    [
      '123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app',
      '123456789012',
      'us-gov-west-1',
      'app'
    ],
    ['https://123456789012.dkr.ecr.us-east-1.amazonaws.com/app', '123456789012', 'us-east-1', 'app']
  ])('reads %s', (given, account, region, name) => {
    const location = parseRepositoryUri(given)
    expect(location).toMatchObject({ account, region, name })
    expect(location.uri.endsWith(`/${name}`)).toBe(true)
  })

  it.each([
    ['public.ecr.aws/lambda/nodejs', 'repository-not-ecr'],
    ['docker.io/library/alpine', 'repository-not-ecr'],
    ['ghcr.io/owner/app', 'repository-not-ecr'],
    ['12345.dkr.ecr.us-east-1.amazonaws.com/app', 'repository-not-ecr'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com', 'invalid-repository-name'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/App', 'invalid-repository-name'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest', 'repository-has-tag'],
    ['123456789012.dkr.ecr.us-east-1.amazonaws.com/app@sha256:abc', 'repository-has-tag']
  ])('refuses %s with %s', (given, id) => {
    expect(errorId(() => parseRepositoryUri(given))).toBe(id)
  })
})

describe('repositoryLocation', () => {
  it('uses the China domain for cn- regions', () => {
    expect(repositoryLocation('123456789012', 'cn-north-1', 'app').registry).toBe(
      '123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn'
    )
    expect(repositoryLocation('123456789012', 'eu-west-1', 'app').uri).toBe(
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/app'
    )
  })
})

describe('roleArnFor (cross-account-role)', () => {
  it('makes a role name into the role ARN in the account', () => {
    expect(roleArnFor('deployer', '222222222222')).toBe('arn:aws:iam::222222222222:role/deployer')
    expect(roleArnFor('deployer', '222222222222', 'aws-cn')).toBe(
      'arn:aws-cn:iam::222222222222:role/deployer'
    )
  })

  it('puts the account into an ARN that says ACCOUNT, and keeps any other ARN as given', () => {
    expect(roleArnFor('arn:aws:iam::ACCOUNT:role/ci/deployer', '222222222222')).toBe(
      'arn:aws:iam::222222222222:role/ci/deployer'
    )
    expect(roleArnFor('arn:aws:iam::333333333333:role/deployer', '222222222222')).toBe(
      'arn:aws:iam::333333333333:role/deployer'
    )
  })
})
