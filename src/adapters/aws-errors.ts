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
    const hint = accessDeniedHint(message, iamAction, subject)
    return new ActionError(
      'access-denied',
      `AWS refused ${hint.action} on ${subject}: ${message}`,
      hint.fix
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

/** Where a refused permission has to be granted, and what to grant. */
export interface AccessDeniedHint {
  /** The IAM action AWS named (or the one the call needs, when AWS named none). */
  readonly action: string
  readonly fix: string
}

// IAM's AccessDenied sentences (IAM User Guide, "Troubleshoot access denied error messages"):
// "User: ARN is not authorized to perform: ACTION on resource: ARN because no identity-based
// policy allows the ACTION action" (or "resource-based", or "with an explicit deny in ...").
const NOT_AUTHORIZED =
  /is not authorized to perform: ([\w-]+:[\w*]+)(?: on resource: (\S+))?(?: (because no (identity|resource)-based policy allows)| with an explicit deny in an? (identity|resource)-based policy)?/

/** Lambda's refusal when it may not read the image (Knowledge Center "lambda-ecr-image"). */
const LAMBDA_IMAGE_ACCESS = /Lambda does not have permission to access the ECR image/

/** ECR permissions Lambda and a cross-account caller need to read an image. */
export const IMAGE_PULL_ACTIONS = 'ecr:BatchGetImage and ecr:GetDownloadUrlForLayer'

/** Names the missing permission and the policy it belongs in: the identity policy of the role
 * the workflow runs as, or the repository policy. */
export function accessDeniedHint(
  message: string,
  iamAction: string,
  subject: string
): AccessDeniedHint {
  if (LAMBDA_IMAGE_ACCESS.test(message)) {
    return {
      action: iamAction,
      fix:
        `Lambda could not read the image. Repository policy: it must allow the service principal lambda.amazonaws.com ${IMAGE_PULL_ACTIONS} ` +
        '(the action adds this unless manage-repository-policy is false), and for a function in another account also that account. ' +
        `Identity policy: for a repository in another account, the role that calls lambda:UpdateFunctionCode (the cross-account-role, or the workflow's role) needs ${IMAGE_PULL_ACTIONS} on the repository (README, "Permissions").`
    }
  }
  const match = NOT_AUTHORIZED.exec(message)
  const action = match?.[1] ?? iamAction
  const resource = match?.[2] ?? subject
  const identity = match?.[4] ?? match?.[5]
  const explicit = match?.[5] !== undefined
  if (explicit && identity === 'resource') {
    return {
      action,
      fix: `A Deny statement in the repository policy (resource-based policy) of ${resource} refuses ${action}; narrow or remove it.`
    }
  }
  if (explicit) {
    return {
      action,
      fix: `A Deny in the identity policies of the role this workflow assumes (or a permissions boundary or SCP) refuses ${action} on ${resource}; narrow or remove it.`
    }
  }
  if (identity === 'resource') {
    return {
      action,
      fix: `Allow ${action} for this account or role in the repository policy (resource-based policy) of ${resource}: a principal in another account needs it there as well as in its own identity policy.`
    }
  }
  return {
    action,
    fix: `Allow ${action} on ${resource} in the identity policy of the role this workflow assumes (the README lists the minimal policy per feature).`
  }
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

/** The ECR action a registry request is authorized as (ECR User Guide, "Private registry
 * authentication" and the Service Authorization Reference): reading a manifest is
 * ecr:BatchGetImage, reading a blob (an image config or layer) ecr:GetDownloadUrlForLayer. */
export function ecrRegistryAction(method: string, path: string): string {
  if (/\/blobs\/uploads/.test(path)) return 'ecr:InitiateLayerUpload'
  if (/\/blobs\//.test(path)) {
    return method === 'HEAD' ? 'ecr:BatchCheckLayerAvailability' : 'ecr:GetDownloadUrlForLayer'
  }
  if (/\/manifests\//.test(path) && method === 'PUT') return 'ecr:PutImage'
  return 'ecr:BatchGetImage'
}

/** The first message of a registry error body (Docker Registry HTTP API V2, "Errors"). */
export function registryErrorMessage(body: string): string {
  try {
    const errors = (JSON.parse(body) as { errors?: { message?: unknown }[] }).errors
    const message = errors?.[0]?.message
    return typeof message === 'string' ? message : ''
  } catch {
    return ''
  }
}
