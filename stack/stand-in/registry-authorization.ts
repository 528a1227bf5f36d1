import {
  firstRefusal,
  registryPermission,
  type RepositoryPolicyLookup
} from './iam-authorization.js'
import type { IdentityPolicies } from './iam-principals.js'
import {
  REGISTRY_DENIED_CODE,
  REGISTRY_TOKEN_EXPIRED,
  REGISTRY_UNAUTHORIZED_CODE
} from './iam-wording.js'
import type { RegistryTokens } from './registry-tokens.js'

/**
 * The registry gate's question (POST /_stand-in/registry-authorize): may the holder of this
 * registry token make this request to this registry host? Answered from the same identity and
 * repository policies as the ECR API, so a docker push or pull is refused exactly when the ECR
 * actions behind it would be.
 */

export interface RegistryRequest {
  readonly token: string
  /** The Host the client asked for: ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn][:PORT]. */
  readonly host: string
  readonly method: string
  /** Path and query as received. */
  readonly path: string
}

export type RegistryVerdict =
  | { readonly allowed: true; readonly principal: string; readonly action?: string }
  | {
      readonly allowed: false
      /** The HTTP status the registry answers with. */
      readonly status: 400 | 401 | 403 | 404
      readonly code: string
      readonly message: string
    }

// The ECR registry hostname (ECR User Guide, "Private registry concepts"); `.cn` for China.
const ECR_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$/

export function authorizeRegistryRequest(
  request: RegistryRequest,
  tokens: RegistryTokens,
  identities: IdentityPolicies,
  repositoryPolicy: RepositoryPolicyLookup
): RegistryVerdict {
  const holder = tokens.holder(request.token)
  if (!holder) {
    return {
      allowed: false,
      status: 401,
      code: REGISTRY_UNAUTHORIZED_CODE,
      message: REGISTRY_TOKEN_EXPIRED
    }
  }
  const host = ECR_HOST.exec(request.host)
  if (!host) {
    return {
      allowed: false,
      status: 404,
      code: 'NAME_UNKNOWN',
      message: `${request.host} is not an ECR registry host`
    }
  }
  const [, account = '', region = ''] = host
  const permission = registryPermission(request.method, request.path, account, region)
  const principal = holder.caller.principal.arn
  if (permission === 'any-principal') return { allowed: true, principal }
  if (!permission) {
    return {
      allowed: false,
      status: 404,
      code: 'UNSUPPORTED',
      message: `The stand-in's registry gate does not know ${request.method} ${request.path}`
    }
  }
  // The PUT that completes an upload may carry the whole layer (the containerd image store
  // uploads monolithically, with no PATCH): it needs UploadLayerPart too. Which actions ECR
  // checks for such a PUT is not documented, so the stand-in takes the stricter reading.
  const permissions =
    permission.action === 'ecr:CompleteLayerUpload'
      ? [{ ...permission, action: 'ecr:UploadLayerPart' }, permission]
      : [permission]
  const refused = firstRefusal(
    permissions,
    { ...holder.caller, region },
    identities,
    repositoryPolicy
  )
  if (refused) {
    return { allowed: false, status: 403, code: REGISTRY_DENIED_CODE, message: refused.message }
  }
  return { allowed: true, principal, action: permission.action }
}
