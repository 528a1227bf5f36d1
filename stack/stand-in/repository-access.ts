import { LAMBDA_PULL_ACTIONS, LAMBDA_SERVICE_PRINCIPAL } from './aws-wording.js'

/**
 * Whether Lambda may pull an image from a repository, decided from the repository policy the
 * way IAM evaluates a resource policy (explicit Deny wins, then any Allow, else no). Pure.
 *
 * Same account: the deploying principal's identity policy covers the pull, so no repository
 * policy is needed. Another account (Lambda "Amazon ECR permissions", cross-account section):
 * the policy must allow that account (`arn:aws:iam::ACCOUNT:root` or `ACCOUNT`) and the service
 * principal `lambda.amazonaws.com`, whose grant is normally limited by `aws:sourceArn`, both for
 * ecr:BatchGetImage and ecr:GetDownloadUrlForLayer.
 */

export type Decision = 'allow' | 'deny' | 'implicit-deny'

export type Principal =
  | { readonly kind: 'account'; readonly account: string }
  | { readonly kind: 'service'; readonly service: string }

export interface AccessRequest {
  readonly principal: Principal
  readonly action: string
  /** Condition keys available to the request (matched case-insensitively). */
  readonly context: Record<string, string>
}

export interface LambdaPull {
  readonly functionArn: string
  readonly functionAccount: string
  readonly repositoryAccount: string
  readonly policyText: string | undefined
}

export function lambdaMayPull(pull: LambdaPull): boolean {
  if (pull.functionAccount === pull.repositoryAccount) return true
  return LAMBDA_PULL_ACTIONS.every(
    action =>
      evaluatePolicy(pull.policyText, {
        principal: { kind: 'account', account: pull.functionAccount },
        action,
        context: { 'aws:PrincipalAccount': pull.functionAccount }
      }) === 'allow' &&
      evaluatePolicy(pull.policyText, {
        principal: { kind: 'service', service: LAMBDA_SERVICE_PRINCIPAL },
        action,
        context: { 'aws:SourceArn': pull.functionArn, 'aws:SourceAccount': pull.functionAccount }
      }) === 'allow'
  )
}

interface Statement {
  readonly Effect?: unknown
  readonly Principal?: unknown
  readonly NotPrincipal?: unknown
  readonly Action?: unknown
  readonly NotAction?: unknown
  readonly Condition?: unknown
}

export function evaluatePolicy(policyText: string | undefined, request: AccessRequest): Decision {
  const statements = statementsOf(policyText)
  const matching = statements.filter(statement => applies(statement, request))
  if (matching.some(statement => statement.Effect === 'Deny')) return 'deny'
  if (matching.some(statement => statement.Effect === 'Allow')) return 'allow'
  return 'implicit-deny'
}

/** Statement may be one object or a list. Unparseable text grants nothing. */
export function statementsOf(policyText: string | undefined): Statement[] {
  if (!policyText) return []
  let policy: unknown
  try {
    policy = JSON.parse(policyText)
  } catch {
    return []
  }
  const statement = (policy as { Statement?: unknown } | null)?.Statement
  const list = Array.isArray(statement) ? statement : statement ? [statement] : []
  return list.filter((entry): entry is Statement => !!entry && typeof entry === 'object')
}

function applies(statement: Statement, request: AccessRequest): boolean {
  // NotPrincipal / NotAction are rare in repository policies; a statement using them is left
  // out rather than half-understood (for an Allow that errs towards refusing).
  if (statement.NotPrincipal !== undefined || statement.NotAction !== undefined) return false
  return (
    principalMatches(statement.Principal, request.principal) &&
    listOf(statement.Action).some(pattern => globMatches(pattern, request.action, true)) &&
    conditionsHold(statement.Condition, request.context)
  )
}

export function principalMatches(principal: unknown, who: Principal): boolean {
  if (principal === '*') return true
  if (!principal || typeof principal !== 'object') return false
  const { AWS: aws, Service: service } = principal as { AWS?: unknown; Service?: unknown }
  // {"AWS": "*"} means everyone, services included (IAM "Principal" element reference).
  if (listOf(aws).includes('*')) return true
  if (who.kind === 'service') return listOf(service).includes(who.service)
  return listOf(aws).some(
    entry => entry === who.account || entry === `arn:aws:iam::${who.account}:root`
  )
}

/** Every operator must hold; within one, every key; a key holds when any of its values match. */
export function conditionsHold(condition: unknown, context: Record<string, string>): boolean {
  if (condition === undefined) return true
  if (!condition || typeof condition !== 'object') return false
  const lowerContext = new Map(
    Object.entries(context).map(([key, value]) => [key.toLowerCase(), value])
  )
  return Object.entries(condition as Record<string, unknown>).every(([operator, tests]) => {
    if (!tests || typeof tests !== 'object') return false
    return Object.entries(tests as Record<string, unknown>).every(([key, expected]) =>
      operatorHolds(operator, lowerContext.get(key.toLowerCase()), listOf(expected))
    )
  })
}

function operatorHolds(operator: string, actual: string | undefined, expected: string[]): boolean {
  const ifExists = operator.endsWith('IfExists')
  const base = ifExists ? operator.slice(0, -'IfExists'.length) : operator
  if (actual === undefined) return ifExists
  switch (base) {
    case 'StringEquals':
    case 'ArnEquals':
      return expected.includes(actual)
    case 'StringEqualsIgnoreCase':
      return expected.some(value => value.toLowerCase() === actual.toLowerCase())
    case 'StringLike':
    case 'ArnLike':
      return expected.some(pattern => globMatches(pattern, actual, false))
    case 'StringNotEquals':
    case 'ArnNotEquals':
      return !expected.includes(actual)
    case 'StringNotLike':
    case 'ArnNotLike':
      return !expected.some(pattern => globMatches(pattern, actual, false))
    default:
      // An operator the stand-in does not know cannot be shown to hold.
      return false
  }
}

/** IAM wildcards: `*` any run of characters, `?` one character. Actions compare case-blind. */
export function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map(char =>
      char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    )
    .join('')
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value)
}

function listOf(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value))
    return value.filter((entry): entry is string => typeof entry === 'string')
  return []
}
