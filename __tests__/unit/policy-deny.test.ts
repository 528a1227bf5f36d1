import { describe, expect, it } from '@jest/globals'
import { findLambdaDenies } from '../../src/domain/policy-deny.js'

const FUNCTION = 'arn:aws:lambda:us-east-1:111111111111:function:orders'
const policy = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })
const deny = (fields: object) => ({ Sid: 'Guard', Effect: 'Deny', ...fields })
const ORG_GUARD = { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' } }

describe('explicit Deny statements that could stop Lambda’s pull', () => {
  it.each([
    {
      shape: 'Principal "*" on ecr:*',
      statement: deny({ Principal: '*', Action: 'ecr:*' }),
      why: /every principal \("\*"\).*without a condition/
    },
    {
      shape: 'Principal {"AWS": "*"} on the pull actions',
      statement: deny({
        Principal: { AWS: '*' },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
      }),
      why: /ecr:BatchGetImage and ecr:GetDownloadUrlForLayer/
    },
    {
      shape: 'NotPrincipal naming only a role',
      statement: deny({
        NotPrincipal: { AWS: 'arn:aws:iam::111111111111:role/ci' },
        Action: 'ecr:BatchGetImage'
      }),
      why: /every principal not in its NotPrincipal/
    },
    {
      shape: 'the Lambda service principal itself',
      statement: deny({ Principal: { Service: ['lambda.amazonaws.com'] }, Action: '*' }),
      why: /the Lambda service principal/
    },
    {
      shape: 'Deny * unless aws:PrincipalOrgID (the organisation guard)',
      statement: deny({ Principal: '*', Action: '*', Condition: ORG_GUARD }),
      why: /requests by AWS service principals carry no aws:PrincipalOrgID/
    },
    {
      shape: 'NotAction that leaves a pull action in',
      statement: deny({ Principal: '*', NotAction: ['ecr:BatchGetImage'] }),
      why: /denies ecr:GetDownloadUrlForLayer to/
    },
    {
      shape: 'a wildcard action written in another case',
      statement: deny({ Principal: '*', Action: 'ECR:Batch*' }),
      why: /denies ecr:BatchGetImage to/
    },
    {
      shape: 'a Deny outside one source account',
      statement: deny({
        Principal: '*',
        Action: 'ecr:*',
        Condition: { StringNotEquals: { 'aws:SourceAccount': '222222222222' } }
      }),
      why: /aws:SourceAccount holds for Lambda's request/
    }
  ])('reports $shape as certain', ({ statement, why }) => {
    const [risk, ...rest] = findLambdaDenies(policy(statement), FUNCTION)
    expect(rest).toEqual([])
    expect(risk).toMatchObject({ statement: '"Guard"', certain: true })
    expect(risk?.why).toMatch(why)
  })

  it.each([
    {
      shape: 'an organisation guard that exempts AWS services',
      statement: deny({
        Principal: '*',
        Action: '*',
        Condition: { ...ORG_GUARD, Bool: { 'aws:PrincipalIsAWSService': 'false' } }
      })
    },
    {
      shape: 'an exemption written as a JSON boolean',
      statement: deny({
        Principal: '*',
        Action: '*',
        Condition: { Bool: { 'aws:PrincipalIsAWSService': false } }
      })
    },
    {
      shape: 'a Deny for every service but Lambda',
      statement: deny({
        Principal: '*',
        Action: 'ecr:*',
        Condition: { StringNotEquals: { 'aws:PrincipalServiceName': 'lambda.amazonaws.com' } }
      })
    },
    {
      shape: 'a Deny that names only other accounts’ functions',
      statement: deny({
        Principal: { Service: 'lambda.amazonaws.com' },
        Action: 'ecr:BatchGetImage',
        Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:lambda:*:999999999999:function:*' } }
      })
    },
    {
      shape: 'NotPrincipal that names Lambda',
      statement: deny({ NotPrincipal: { Service: 'lambda.amazonaws.com' }, Action: '*' })
    },
    {
      shape: 'a Deny of pushes only',
      statement: deny({ Principal: '*', Action: ['ecr:PutImage', 'ecr:InitiateLayerUpload'] })
    },
    {
      shape: 'a Deny for one role',
      statement: deny({ Principal: { AWS: 'arn:aws:iam::111111111111:role/x' }, Action: '*' })
    },
    {
      shape: 'NotAction that excludes both pull actions',
      statement: deny({ Principal: '*', NotAction: ['ecr:BatchGetImage', 'ecr:GetDownload*'] })
    },
    {
      shape: 'an Allow',
      statement: { Sid: 'Open', Effect: 'Allow', Principal: '*', Action: 'ecr:*' }
    },
    {
      shape: 'a Deny of one organisation only (StringEquals on a key Lambda’s request lacks)',
      statement: deny({
        Principal: '*',
        Action: '*',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-abc123' } }
      })
    }
  ])('ignores $shape', ({ statement }) => {
    expect(findLambdaDenies(policy(statement), FUNCTION)).toEqual([])
  })

  it('says "may" when a condition it cannot evaluate decides, naming the condition', () => {
    const [risk] = findLambdaDenies(
      policy(
        deny({
          Principal: '*',
          Action: 'ecr:*',
          Condition: { ...ORG_GUARD, StringNotEquals: { 'aws:SourceVpce': 'vpce-1' } }
        })
      ),
      FUNCTION
    )
    expect(risk?.certain).toBe(false)
    expect(risk?.why).toMatch(/unless its condition \(StringNotEquals aws:SourceVpce\)/)
  })

  it('names a statement without a Sid by its position', () => {
    const risks = findLambdaDenies(
      policy(
        { Sid: 'KeepMe', Effect: 'Allow', Principal: '*', Action: 'ecr:*' },
        {
          Effect: 'Deny',
          Principal: '*',
          Action: 'ecr:BatchGetImage'
        }
      ),
      FUNCTION
    )
    expect(risks.map(risk => risk.statement)).toEqual(['statement 2'])
  })

  it('finds nothing in no policy, or in one that is not JSON', () => {
    expect(findLambdaDenies(undefined, FUNCTION)).toEqual([])
    expect(findLambdaDenies('{not json', FUNCTION)).toEqual([])
  })
})
