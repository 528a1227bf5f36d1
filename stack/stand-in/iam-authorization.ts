import { LAMBDA_MESSAGES, LAMBDA_PULL_ACTIONS, type ServiceName } from './aws-wording.js'
import { IAM_MESSAGES } from './iam-wording.js'
import { combine, evaluatePolicies, evaluatePolicy, type Decision } from './iam-policy.js'
import type { IdentityPolicies } from './iam-principals.js'
import { alarmArn, asksForCompositeAlarms, requestedAlarmNames } from './cloudwatch.js'
import { parseImageUri } from './image-reference.js'
import { functionArn, parseFunctionName } from './lambda-model.js'
import type { LambdaRoute } from './lambda-routes.js'
import type { Caller } from './sigv4.js'
import { topology } from './topology.js'
import { AwsError, lambdaError } from './wire.js'

/**
 * Which IAM permission each request needs, and whether the caller has it. Every ECR, Lambda and
 * STS operation and every registry request is mapped here, in one table, to its IAM action and
 * resource ARN, from the Service Authorization Reference ("Actions, resources, and condition keys
 * for Amazon Elastic Container Registry", "... for AWS Lambda", "... for AWS Security Token
 * Service") and Lambda's "Fine-tuning the Resources and Conditions sections of policies" (a
 * request that names a version or alias is checked against the qualified ARN).
 *
 * The decision follows the IAM User Guide's "Policy evaluation logic": an explicit Deny in any
 * policy wins; in the resource's own account an Allow in the identity-based policies or in the
 * resource-based policy (the repository policy) is enough; from another account both must allow
 * ("Cross-account policy evaluation logic").
 */

export interface Permission {
  readonly action: string
  /** The resource ARN; `*` for actions without resource-level permissions. */
  readonly resource: string
  /** The account that owns the resource (undefined for `*`). */
  readonly resourceAccount?: string
  /** Request context keys the action brings along (e.g. iam:PassedToService for PassRole). */
  readonly context?: Readonly<Record<string, string>>
  /** The repository whose policy also decides (ECR repository actions). */
  readonly repository?: { readonly account: string; readonly region: string; readonly name: string }
}

/** Looks up a repository's policy text; undefined when the repository or its policy is absent. */
export type RepositoryPolicyLookup = (
  account: string,
  region: string,
  name: string
) => string | undefined

export interface Refusal {
  readonly permission: Permission
  readonly message: string
}

/** A role ARN as CreateFunction's Role member takes it (Lambda API reference, Role pattern). */
const ROLE_ARN = /^arn:(?:aws[a-zA-Z-]*)?:iam::(\d{12}):role\/?[a-zA-Z_0-9+=,.@\-_/]+$/

/** Actions that IAM does not authorize (STS API reference, GetCallerIdentity: "No permissions are
 * required to perform this operation", and an explicit Deny does not apply). */
const UNAUTHORIZED_ACTIONS = new Set(['sts:GetCallerIdentity'])

/** ECR operations and the IAM action of each (the same name with the `ecr:` prefix). Actions
 * without resource-level permissions answer to Resource `*`. */
const ECR_WITHOUT_RESOURCE = new Set(['GetAuthorizationToken'])

/** The permissions a CloudWatch call needs: DescribeAlarms on each named alarm's ARN (Service
 * Authorization Reference for CloudWatch: resource type alarm), or on `*` when composite alarms
 * may be returned (API reference, DescribeAlarms) or no names are given. */
export function cloudwatchPermissions(
  operation: string,
  input: Record<string, unknown>,
  caller: Caller
): Permission[] {
  const action = `cloudwatch:${operation}`
  const names = requestedAlarmNames(input)
  if (operation !== 'DescribeAlarms' || asksForCompositeAlarms(input) || !names) {
    return [{ action, resource: '*' }]
  }
  return names.map(name => ({
    action,
    resource: alarmArn(caller.account, caller.region, name),
    resourceAccount: caller.account
  }))
}

/** The permissions an ECR API call needs. */
export function ecrPermissions(
  operation: string,
  input: Record<string, unknown>,
  caller: Caller
): Permission[] {
  const action = `ecr:${operation}`
  if (ECR_WITHOUT_RESOURCE.has(operation)) return [{ action, resource: '*' }]
  const account = typeof input.registryId === 'string' ? input.registryId : caller.account
  if (operation === 'DescribeRepositories') {
    const names = Array.isArray(input.repositoryNames)
      ? input.repositoryNames.filter((name): name is string => typeof name === 'string')
      : []
    if (names.length === 0) {
      return [
        { action, resource: repositoryArn(account, caller.region, '*'), resourceAccount: account }
      ]
    }
    return names.map(name => repositoryPermission(action, account, caller.region, name))
  }
  const name = input.repositoryName
  // Without a name the operation fails its own validation; there is nothing to authorize yet.
  if (typeof name !== 'string' || name === '') return []
  return [repositoryPermission(action, account, caller.region, name)]
}

/** The permissions a Lambda API call needs (function ARN, qualified when the call names a
 * version or alias), plus, for an image in another account, the caller's own ECR pull
 * permissions (Knowledge Center "lambda-ecr-image": "The user or role that created or updated
 * the Lambda function must have ecr:BatchGetImage and ecr:GetDownloadUrlForLayer permissions on
 * the ECR repository"). */
/** Where the IAM action is not named as the operation (Service Authorization Reference, Lambda:
 * the Invoke operation is authorized as lambda:InvokeFunction). */
const IAM_ACTION_OF: Readonly<Record<string, string>> = { Invoke: 'InvokeFunction' }

export function lambdaPermissions(
  route: LambdaRoute,
  query: Record<string, string | string[]>,
  body: Record<string, unknown>,
  caller: Caller
): { readonly own: Permission[]; readonly imagePull: Permission[] } {
  const creates = route.operation === 'CreateFunction'
  // CreateFunction names the function in its body, every other operation in its path.
  const parsed = parseFunctionName(
    creates ? (typeof body.FunctionName === 'string' ? body.FunctionName : '') : route.functionName
  )
  if (!parsed) return { own: [], imagePull: [] }
  const account = parsed.account ?? caller.account
  const region = parsed.region ?? caller.region
  const queryQualifier = Array.isArray(query.Qualifier) ? query.Qualifier[0] : query.Qualifier
  const qualifier = parsed.qualifier ?? queryQualifier
  const own: Permission[] = [
    {
      action: `lambda:${IAM_ACTION_OF[route.operation] ?? route.operation}`,
      resource: functionArn(account, region, parsed.name, qualifier),
      resourceAccount: account
    }
  ]
  // CreateFunction hands the function its execution role: the caller needs iam:PassRole on the
  // role (Lambda developer guide, "Lambda execution role": "To create a function ... you must
  // have iam:PassRole"; IAM User Guide, "Grant a user permissions to pass a role to an AWS
  // service"), with iam:PassedToService lambda.amazonaws.com.
  const role = creates && typeof body.Role === 'string' ? ROLE_ARN.exec(body.Role) : null
  if (role) {
    own.push({
      action: 'iam:PassRole',
      resource: role[0],
      resourceAccount: role[1],
      context: { 'iam:PassedToService': 'lambda.amazonaws.com' }
    })
  }
  const imagePull: Permission[] = []
  const code = creates ? (body.Code as Record<string, unknown> | undefined) : body
  const image = typeof code?.ImageUri === 'string' ? parseImageUri(code.ImageUri) : undefined
  if ((route.operation === 'UpdateFunctionCode' || creates) && image && image.account !== account) {
    for (const action of LAMBDA_PULL_ACTIONS) {
      // Only the caller's identity policy counts here: the repository policy is Lambda's part,
      // checked with the service principal when the image is resolved.
      imagePull.push({
        action,
        resource: repositoryArn(image.account, image.region, image.repository),
        resourceAccount: caller.account
      })
    }
  }
  return { own, imagePull }
}

/** The permission an STS call needs. */
export function stsPermissions(action: string, body: Buffer): Permission[] {
  if (action !== 'AssumeRole') return [{ action: `sts:${action}`, resource: '*' }]
  const roleArn = new URLSearchParams(body.toString('utf8')).get('RoleArn') ?? ''
  const account = /^arn:aws[a-z-]*:iam::(\d{12}):role\//.exec(roleArn)?.[1]
  // A malformed ARN fails AssumeRole's own validation.
  if (!account) return []
  return [{ action: 'sts:AssumeRole', resource: roleArn, resourceAccount: account }]
}

/** The permission one registry request needs: the Docker Registry HTTP API V2 path mapped to
 * the ECR action the Service Authorization Reference names for it ("Amazon ECR: Private registry
 * authentication" says docker's requests are authorized as these actions). */
export function registryPermission(
  method: string,
  path: string,
  account: string,
  region: string
): Permission | 'any-principal' | undefined {
  const pathOnly = path.split('?')[0] ?? ''
  if (pathOnly === '/v2/' || pathOnly === '/v2') return 'any-principal'
  if (pathOnly === '/v2/_catalog') {
    return {
      action: 'ecr:DescribeRepositories',
      resource: repositoryArn(account, region, '*'),
      resourceAccount: account
    }
  }
  const match = /^\/v2\/(.+?)\/(manifests|blobs|tags)(\/.*)?$/.exec(pathOnly)
  if (!match) return undefined
  const [, name = '', kind, rest = ''] = match
  const action = registryAction(method.toUpperCase(), kind!, rest)
  return action ? repositoryPermission(action, account, region, name) : undefined
}

function registryAction(method: string, kind: string, rest: string): string | undefined {
  if (kind === 'manifests') {
    if (method === 'GET' || method === 'HEAD') return 'ecr:BatchGetImage'
    if (method === 'PUT') return 'ecr:PutImage'
    if (method === 'DELETE') return 'ecr:BatchDeleteImage'
    return undefined
  }
  if (kind === 'tags') return method === 'GET' ? 'ecr:ListImages' : undefined
  // blobs
  if (rest.startsWith('/uploads')) {
    if (method === 'POST') return 'ecr:InitiateLayerUpload'
    if (method === 'PATCH') return 'ecr:UploadLayerPart'
    if (method === 'PUT') return 'ecr:CompleteLayerUpload'
    return 'ecr:UploadLayerPart'
  }
  // Docker checks a layer with HEAD before uploading it (BatchCheckLayerAvailability) and
  // downloads it with GET (GetDownloadUrlForLayer).
  if (method === 'HEAD') return 'ecr:BatchCheckLayerAvailability'
  if (method === 'GET') return 'ecr:GetDownloadUrlForLayer'
  return undefined
}

/** Checks the caller against every permission; the first refusal, or undefined. */
export function firstRefusal(
  permissions: readonly Permission[],
  caller: Caller,
  identities: IdentityPolicies,
  repositoryPolicy: RepositoryPolicyLookup
): Refusal | undefined {
  for (const permission of permissions) {
    const message = refusal(permission, caller, identities, repositoryPolicy)
    if (message) return { permission, message }
  }
  return undefined
}

/** Why the caller may not, in AWS's words; undefined when it may. */
export function refusal(
  permission: Permission,
  caller: Caller,
  identities: IdentityPolicies,
  repositoryPolicy: RepositoryPolicyLookup
): string | undefined {
  if (UNAUTHORIZED_ACTIONS.has(permission.action)) return undefined
  const who = caller.principal
  const context = {
    'aws:PrincipalAccount': caller.account,
    'aws:PrincipalArn': who.policyHolder,
    'aws:RequestedRegion': caller.region,
    'aws:userid': who.userId,
    ...permission.context
  }
  const identity: Decision = evaluatePolicies(identities.documents(who.policyHolder), {
    action: permission.action,
    resource: permission.resource,
    context
  })
  const repository = permission.repository
  const resource: Decision = repository
    ? combine(
        [who.policyHolder, who.arn].map(arn =>
          evaluatePolicy(repositoryPolicy(repository.account, repository.region, repository.name), {
            action: permission.action,
            principal: { kind: 'iam', account: caller.account, arn },
            context
          })
        )
      )
    : 'implicit-deny'
  const words = { principal: who.arn, action: permission.action, resource: permission.resource }
  if (identity === 'deny') return IAM_MESSAGES.explicitIdentityDeny(words)
  if (resource === 'deny') return IAM_MESSAGES.explicitResourceDeny(words)
  const crossAccount =
    permission.resourceAccount !== undefined && permission.resourceAccount !== caller.account
  if (!crossAccount) {
    if (identity === 'allow' || resource === 'allow') return undefined
    return IAM_MESSAGES.noIdentityAllow(words)
  }
  if (identity !== 'allow') return IAM_MESSAGES.noIdentityAllow(words)
  // STS: the role's trust policy (sts.ts) is the resource side; Lambda: another account's
  // function is refused in lambda.ts (the stand-in keeps no function policies).
  if (!repository) return undefined
  if (resource !== 'allow') return IAM_MESSAGES.noResourceAllow(words)
  return undefined
}

/** A refusal in the shape the service answers with (API references, AccessDenied errors). */
export function accessDenied(service: ServiceName, message: string): AwsError {
  switch (service) {
    case 'ecr':
      // JSON 1.1 client errors are HTTP 400 (ECR answers AccessDeniedException with 400).
      return new AwsError('AccessDeniedException', message, 400)
    case 'lambda':
      return lambdaError('AccessDeniedException', message)
    case 'sts':
      return new AwsError('AccessDenied', message, 403)
    case 'cloudwatch':
      // CloudWatch's JSON 1.0 client errors are HTTP 400, as ECR's JSON 1.1 ones.
      return new AwsError('AccessDeniedException', message, 400)
  }
}

/** What Lambda answers when the caller may not read another account's image itself: the same
 * words as for a repository policy that does not let Lambda pull (Knowledge Center
 * "lambda-ecr-image" is titled with this message and names both causes). */
export function imagePullDenied(): AwsError {
  return lambdaError('AccessDeniedException', LAMBDA_MESSAGES.imageAccessDenied)
}

function repositoryPermission(
  action: string,
  account: string,
  region: string,
  name: string
): Permission {
  return {
    action,
    resource: repositoryArn(account, region, name),
    resourceAccount: account,
    repository: { account, region, name }
  }
}

export function repositoryArn(account: string, region: string, name: string): string {
  return `arn:${topology.partition}:ecr:${region}:${account}:repository/${name}`
}
