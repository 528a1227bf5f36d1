import { describe, expect, it } from '@jest/globals'
import { explainAwsError } from '../../src/adapters/aws-errors.js'

const sdkError = (name: string, status: number, attempts: number) =>
  Object.assign(new Error(`${name} happened`), {
    name,
    $metadata: { httpStatusCode: status, attempts }
  })

describe('explainAwsError', () => {
  it.each([
    [
      'ThrottlingException',
      400,
      'aws-throttled',
      /AWS kept throttling ecr:GetRepositoryPolicy on repo \(5 attempts\)/
    ],
    ['TooManyRequestsException', 429, 'aws-throttled', /AWS kept throttling/],
    [
      'ServiceException',
      500,
      'aws-unavailable',
      /AWS failed ecr:GetRepositoryPolicy on repo with ServiceException \(HTTP 500, 5 attempts\)/
    ],
    ['TimeoutError', 0, 'aws-timeout', /did not answer in time/],
    ['AccessDeniedException', 403, 'access-denied', /AWS refused ecr:GetRepositoryPolicy/]
  ])('explains %s (HTTP %i) as %s', (name, status, id, reason) => {
    expect(
      explainAwsError(sdkError(name, status, 5), 'ecr:GetRepositoryPolicy', 'repo')
    ).toMatchObject({
      id,
      reason: expect.stringMatching(reason)
    })
  })

  it('leaves other errors as they are', () => {
    const error = sdkError('ValidationException', 400, 1)
    expect(explainAwsError(error, 'lambda:GetFunction', 'fn')).toBe(error)
  })
})
