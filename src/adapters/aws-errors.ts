import { ActionError } from '../domain/errors.js'

/**
 * Turns an SDK error into an ActionError when it means something the user can fix. AccessDenied
 * names the IAM action to grant, because "not authorized" alone sends people on a search.
 */
export function explainAwsError(error: unknown, iamAction: string, subject: string): unknown {
  const name = (error as { name?: string }).name ?? ''
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
  return error
}

export function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? ''
}
