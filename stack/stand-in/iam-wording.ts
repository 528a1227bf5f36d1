/**
 * IAM's AccessDenied sentences, once, as AWS words them (IAM User Guide, "Troubleshoot access
 * denied error messages": "User: ARN is not authorized to perform: ACTION on resource: ARN
 * because no identity-based policy allows the ACTION action", "... because no resource-based
 * policy allows ...", "... with an explicit deny in an identity-based policy"). The same sentences
 * are seen in real responses, e.g. ECR BatchGetImage for an assumed role (aws-controllers-k8s
 * community issue 1641) and InitiateLayerUpload across accounts, shown by docker as
 * `denied: User: ...` (aws-actions/amazon-ecr-login issue 232).
 */

export interface DeniedRequest {
  readonly principal: string
  readonly action: string
  readonly resource: string
}

const head = ({ principal, action, resource }: DeniedRequest) =>
  `User: ${principal} is not authorized to perform: ${action} on resource: ${resource}`

export const IAM_MESSAGES = {
  noIdentityAllow: (request: DeniedRequest) =>
    `${head(request)} because no identity-based policy allows the ${request.action} action`,
  noResourceAllow: (request: DeniedRequest) =>
    `${head(request)} because no resource-based policy allows the ${request.action} action`,
  explicitIdentityDeny: (request: DeniedRequest) =>
    `${head(request)} with an explicit deny in an identity-based policy`,
  explicitResourceDeny: (request: DeniedRequest) =>
    `${head(request)} with an explicit deny in a resource-based policy`
} as const

/** The registry's error body for a refused request (Docker Registry HTTP API V2, "Errors": code
 * DENIED, "requested access to the resource is denied"); ECR puts IAM's sentence in the message,
 * which docker prints as `denied: MESSAGE`. */
export const REGISTRY_DENIED_CODE = 'DENIED'
/** A token the registry does not accept (expired, or never handed out): code UNAUTHORIZED. */
export const REGISTRY_UNAUTHORIZED_CODE = 'UNAUTHORIZED'
// Worded by the stand-in: ECR's text for an expired token is "Your authorization token has
// expired. Reauthenticate and try again." (ECR User Guide, "Troubleshooting"); used for both.
export const REGISTRY_TOKEN_EXPIRED =
  'Your authorization token has expired. Reauthenticate and try again.'
