/**
 * IAM policy evaluation for the stand-in, pure: one policy (identity-based or resource-based)
 * against one request. Follows the IAM User Guide's "Policy evaluation logic" and "IAM JSON
 * policy elements reference": a statement applies when its Principal/NotPrincipal (resource
 * policies only), Action/NotAction, Resource/NotResource and every Condition match; an applying
 * Deny wins over any Allow; nothing applying is an implicit deny.
 *
 * Why not a library: the one npm package that simulates IAM faithfully
 * (@cloud-copilot/iam-simulate) is AGPL-licensed and carries the whole IAM data set; `pbac` is
 * "mostly compatible" and brings lodash and a JSON-schema validator. What the stand-in needs is
 * this page of code, tested table-driven in __tests__/unit/stand-in-iam-policy.test.ts.
 *
 * Not modelled: policy variables (`${aws:username}` is compared as written), and condition
 * operators other than the String/Arn families, Bool and Null (an unknown operator never holds,
 * so an Allow that depends on one errs towards refusing).
 */

export type Decision = 'allow' | 'deny' | 'implicit-deny'

/** Who asks, as a resource policy's Principal element can name it. */
export type Principal =
  | { readonly kind: 'account'; readonly account: string }
  /** An IAM user or role session in `account`; `arn` is the user or role ARN. */
  | { readonly kind: 'iam'; readonly account: string; readonly arn: string }
  | { readonly kind: 'service'; readonly service: string }

export interface AccessRequest {
  readonly action: string
  /** The resource ARN; `*` for actions without resource-level permissions. */
  readonly resource?: string
  /** Needed only to evaluate a resource-based policy. */
  readonly principal?: Principal
  /** Condition keys available to the request (matched case-insensitively). */
  readonly context?: Record<string, string>
}

export interface Statement {
  readonly Sid?: unknown
  readonly Effect?: unknown
  readonly Principal?: unknown
  readonly NotPrincipal?: unknown
  readonly Action?: unknown
  readonly NotAction?: unknown
  readonly Resource?: unknown
  readonly NotResource?: unknown
  readonly Condition?: unknown
}

/** A policy document as JSON text or already parsed. */
export type PolicyDocument = string | { readonly Statement?: unknown }

export function evaluatePolicy(
  policy: PolicyDocument | undefined,
  request: AccessRequest
): Decision {
  return combine(statementsOf(policy).map(statement => statementDecision(statement, request)))
}

/** Several policies of one kind (e.g. a principal's identity policies) as one decision. */
export function evaluatePolicies(
  policies: readonly PolicyDocument[],
  request: AccessRequest
): Decision {
  return combine(policies.map(policy => evaluatePolicy(policy, request)))
}

/** Deny wins, then Allow, else implicit deny. */
export function combine(decisions: readonly Decision[]): Decision {
  if (decisions.includes('deny')) return 'deny'
  if (decisions.includes('allow')) return 'allow'
  return 'implicit-deny'
}

/** Statement may be one object or a list. Unparseable text grants nothing. */
export function statementsOf(policy: PolicyDocument | undefined): Statement[] {
  if (!policy) return []
  let parsed: unknown = policy
  if (typeof policy === 'string') {
    try {
      parsed = JSON.parse(policy)
    } catch {
      return []
    }
  }
  const statement = (parsed as { Statement?: unknown } | null)?.Statement
  const list = Array.isArray(statement) ? statement : statement ? [statement] : []
  return list.filter((entry): entry is Statement => !!entry && typeof entry === 'object')
}

function statementDecision(statement: Statement, request: AccessRequest): Decision {
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') return 'implicit-deny'
  if (!applies(statement, request)) return 'implicit-deny'
  return statement.Effect === 'Deny' ? 'deny' : 'allow'
}

function applies(statement: Statement, request: AccessRequest): boolean {
  return (
    principalApplies(statement, request.principal) &&
    actionApplies(statement, request.action) &&
    resourceApplies(statement, request.resource ?? '*') &&
    conditionsHold(statement.Condition, request.context ?? {})
  )
}

function principalApplies(statement: Statement, who: Principal | undefined): boolean {
  // Identity-based policies have no Principal: they apply to whoever carries them.
  if (statement.Principal === undefined && statement.NotPrincipal === undefined) return true
  if (!who) return false
  if (statement.Principal !== undefined) return principalMatches(statement.Principal, who)
  return !principalMatches(statement.NotPrincipal, who)
}

function actionApplies(statement: Statement, action: string): boolean {
  if (statement.Action !== undefined) {
    return listOf(statement.Action).some(pattern => globMatches(pattern, action, true))
  }
  if (statement.NotAction !== undefined) {
    return !listOf(statement.NotAction).some(pattern => globMatches(pattern, action, true))
  }
  return false
}

function resourceApplies(statement: Statement, resource: string): boolean {
  // A resource-based policy's statements name no Resource: they are about the resource they sit on.
  if (statement.Resource === undefined && statement.NotResource === undefined) return true
  if (statement.Resource !== undefined) {
    return listOf(statement.Resource).some(pattern => resourceMatches(pattern, resource))
  }
  return !listOf(statement.NotResource).some(pattern => resourceMatches(pattern, resource))
}

/** `*` in a policy matches every resource; an action without resource-level permissions
 * (resource `*`) is matched only by `*` (Service Authorization Reference: "Resource types"
 * empty means the Resource element must be `*`). ARNs compare case-sensitively. */
function resourceMatches(pattern: string, resource: string): boolean {
  if (pattern === '*') return true
  if (resource === '*') return false
  return globMatches(pattern, resource, false)
}

export function principalMatches(principal: unknown, who: Principal): boolean {
  if (principal === '*') return true
  if (!principal || typeof principal !== 'object') return false
  const { AWS: aws, Service: service } = principal as { AWS?: unknown; Service?: unknown }
  const awsEntries = listOf(aws)
  // {"AWS": "*"} means everyone, services included (IAM "Principal" element reference).
  if (awsEntries.includes('*')) return true
  if (who.kind === 'service') return listOf(service).includes(who.service)
  // An account principal (ID or :root) stands for every identity of that account.
  const accountNamed = awsEntries.some(
    entry =>
      entry === who.account ||
      /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(entry)?.[1] === who.account
  )
  if (accountNamed) return true
  return who.kind === 'iam' && awsEntries.includes(who.arn)
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
  if (operator === 'Null') {
    // "Null": {"key": "true"} holds when the key is absent (IAM condition operators, Null).
    return expected.some(value => (value === 'true') === (actual === undefined))
  }
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
    case 'StringNotEqualsIgnoreCase':
      return !expected.some(value => value.toLowerCase() === actual.toLowerCase())
    case 'StringNotLike':
    case 'ArnNotLike':
      return !expected.some(pattern => globMatches(pattern, actual, false))
    case 'Bool':
      return expected.some(value => value.toLowerCase() === actual.toLowerCase())
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

export function listOf(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value))
    return value.filter((entry): entry is string => typeof entry === 'string')
  return []
}
