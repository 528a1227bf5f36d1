import { describe, expect, it } from '@jest/globals'
import {
  accessDeniedHint,
  ecrRegistryAction,
  explainAwsError,
  registryErrorMessage
} from '../../src/adapters/aws-errors.js'

/** AccessDenied hints name the refused permission and the policy it belongs in. */

const USER = 'arn:aws:sts::111111111111:assumed-role/deploy/GitHubActions'
const REPO = 'arn:aws:ecr:us-east-1:222222222222:repository/orders'
const denied = (action: string, why: string) =>
  `User: ${USER} is not authorized to perform: ${action} on resource: ${REPO} ${why}`

describe('accessDeniedHint', () => {
  it.each([
    [
      'no identity-based policy',
      denied(
        'ecr:BatchGetImage',
        'because no identity-based policy allows the ecr:BatchGetImage action'
      ),
      'ecr:BatchGetImage',
      /^Allow ecr:BatchGetImage on arn:aws:ecr:us-east-1:222222222222:repository\/orders in the identity policy of the role/
    ],
    [
      'no resource-based policy',
      denied(
        'ecr:InitiateLayerUpload',
        'because no resource-based policy allows the ecr:InitiateLayerUpload action'
      ),
      'ecr:InitiateLayerUpload',
      /^Allow ecr:InitiateLayerUpload for this account or role in the repository policy/
    ],
    [
      'an explicit deny in an identity-based policy',
      denied('ecr:PutImage', 'with an explicit deny in an identity-based policy'),
      'ecr:PutImage',
      /^A Deny in the identity policies of the role/
    ],
    [
      'an explicit deny in a resource-based policy',
      denied('ecr:PutImage', 'with an explicit deny in a resource-based policy'),
      'ecr:PutImage',
      /^A Deny statement in the repository policy/
    ]
  ])('for %s names the action AWS named and where to grant it', (_case, message, action, fix) => {
    const hint = accessDeniedHint(message, 'ecr:SomethingElse', 'repository orders')
    expect(hint.action).toBe(action)
    expect(hint.fix).toMatch(fix)
  })

  it('names both policies for Lambda’s image access refusal', () => {
    const hint = accessDeniedHint(
      'Lambda does not have permission to access the ECR image. Check the ECR permissions.',
      'lambda:UpdateFunctionCode',
      'function orders'
    )
    expect(hint.action).toBe('lambda:UpdateFunctionCode')
    expect(hint.fix).toContain(
      'Repository policy: it must allow the service principal lambda.amazonaws.com ecr:BatchGetImage and ecr:GetDownloadUrlForLayer'
    )
    expect(hint.fix).toContain(
      'Identity policy: for a repository in another account, the role that calls lambda:UpdateFunctionCode'
    )
  })

  it('falls back to the action the call needs when AWS names none', () => {
    expect(accessDeniedHint('Access denied', 'lambda:GetFunction', 'function f')).toEqual({
      action: 'lambda:GetFunction',
      fix: 'Allow lambda:GetFunction on function f in the identity policy of the role this workflow assumes (the README lists the minimal policy per feature).'
    })
  })
})

describe('explainAwsError on AccessDenied', () => {
  it('reports the action AWS refused, not only the call that was made', () => {
    const error = Object.assign(
      new Error(
        denied(
          'ecr:GetDownloadUrlForLayer',
          'because no identity-based policy allows the ecr:GetDownloadUrlForLayer action'
        )
      ),
      { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }
    )
    expect(explainAwsError(error, 'ecr:BatchGetImage', 'repository orders')).toMatchObject({
      id: 'access-denied',
      reason: expect.stringMatching(/^AWS refused ecr:GetDownloadUrlForLayer on repository orders/)
    })
  })
})

describe('registry requests', () => {
  it.each([
    ['GET', '/v2/orders/blobs/sha256:abc', 'ecr:GetDownloadUrlForLayer'],
    ['HEAD', '/v2/orders/blobs/sha256:abc', 'ecr:BatchCheckLayerAvailability'],
    ['GET', '/v2/orders/manifests/v1', 'ecr:BatchGetImage'],
    ['PUT', '/v2/orders/manifests/v1', 'ecr:PutImage'],
    ['POST', '/v2/orders/blobs/uploads/', 'ecr:InitiateLayerUpload']
  ])('%s %s is authorized as %s', (method, path, action) => {
    expect(ecrRegistryAction(method, path)).toBe(action)
  })

  it('reads the message of a registry error body', () => {
    expect(
      registryErrorMessage(
        '{"errors":[{"code":"DENIED","message":"User: x is not authorized","detail":null}]}'
      )
    ).toBe('User: x is not authorized')
    expect(registryErrorMessage('not json')).toBe('')
  })
})
