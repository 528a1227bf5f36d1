import { ActionError } from '../domain/errors.js'

/**
 * Turns an SDK error into an ActionError when it means something the user can fix or should
 * know: AccessDenied names the IAM action to grant, because "not authorized" alone sends people on
 * a search; throttling, AWS-side failures and time-outs say that the SDK already retried, and how
 * often, so nobody adds a retry loop around the action.
 */
export function explainAwsError(error: unknown, iamAction: string, subject: string): unknown {
  const name = errorName(error)
  const message = (error as { message?: string }).message ?? String(error)
  if (/AccessDenied|UnauthorizedOperation|NotAuthorized/i.test(name)) {
    return new ActionError(
      'access-denied',
      `AWS refused ${iamAction} on ${subject}: ${message}`,
      `Allow ${iamAction} on ${subject} in the policy of the role this workflow assumes (the README lists the minimal policy).`
    )
  }
  if (
    /UnrecognizedClient|InvalidSignature|ExpiredToken|InvalidClientTokenId|CredentialsProviderError/i.test(
      name
    )
  ) {
    return new ActionError(
      'aws-credentials',
      `AWS did not accept the credentials for ${iamAction}: ${message}`,
      'Run aws-actions/configure-aws-credentials before this step (with permissions: id-token: write for OIDC).'
    )
  }
  const tries = attemptsOf(error)
  if (isThrottling(error)) {
    return new ActionError(
      'aws-throttled',
      `AWS kept throttling ${iamAction} on ${subject} (${tries}): ${message}`,
      'Run again later; if it persists, another process in this account and region is using up the API rate (Lambda and ECR quotas are per account and region).'
    )
  }
  if (isServerSide(error)) {
    return new ActionError(
      'aws-unavailable',
      `AWS failed ${iamAction} on ${subject} with ${name || 'an error'} (HTTP ${statusOf(error)}, ${tries}): ${message}`,
      'This is on the AWS side: run again, and check the AWS Health Dashboard for the region if it persists.'
    )
  }
  if (isTimeout(error)) {
    return new ActionError(
      'aws-timeout',
      `${iamAction} on ${subject} did not answer in time (${tries}): ${message}`,
      'Check the network path from the runner to the AWS endpoints (proxy, VPC endpoints) and run again.'
    )
  }
  return error
}

export function errorName(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? ''
}

// The SDK's own classification (@smithy service-error-classification), restated for the message.
const THROTTLING_NAMES = /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/i

function isThrottling(error: unknown): boolean {
  return THROTTLING_NAMES.test(errorName(error)) || statusOf(error) === 429
}

function isServerSide(error: unknown): boolean {
  const status = statusOf(error)
  return status !== undefined && status >= 500 && status <= 599
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code ?? ''
  return (
    /TimeoutError|AbortError|RequestTimeout/.test(errorName(error)) ||
    ['ETIMEDOUT', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE'].includes(code)
  )
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata
    ?.httpStatusCode
}

function attemptsOf(error: unknown): string {
  const attempts = (error as { $metadata?: { attempts?: number } } | undefined)?.$metadata?.attempts
  return attempts === undefined ? 'after the SDK’s retries' : `${attempts} attempts`
}
