import * as cloudwatch from '@aws-sdk/client-cloudwatch'
import * as ecr from '@aws-sdk/client-ecr'
import * as lambda from '@aws-sdk/client-lambda'
import * as sts from '@aws-sdk/client-sts'

/**
 * The IAM policy grammar (IAM User Guide, "Grammar of the IAM JSON policy language" and "IAM JSON
 * policy element reference"), as far as the policies this project documents use it: what a
 * policy document may hold, each element's form, the condition operators, and actions that exist.
 * Returns problems as sentences; an empty list is a valid policy.
 */

/** Actions of the services the README's policies name: each SDK client's operations (the IAM
 * action has the operation's name, except Lambda's Invoke: lambda:InvokeFunction, Service
 * Authorization Reference) and IAM's permission-only actions (iam:PassRole is no API call). */
const OPERATIONS: Record<string, Record<string, unknown>> = { cloudwatch, ecr, lambda, sts }
const RENAMED: Record<string, string> = { 'lambda:Invoke': 'lambda:InvokeFunction' }
export const KNOWN_ACTIONS: ReadonlySet<string> = new Set([
  ...Object.entries(OPERATIONS).flatMap(([prefix, client]) =>
    Object.keys(client)
      .filter(name => /^[A-Z][A-Za-z0-9]*Command$/.test(name))
      .map(name => `${prefix}:${name.slice(0, -'Command'.length)}`)
      .map(action => RENAMED[action] ?? action)
  ),
  'iam:PassRole'
])

const TOP_LEVEL = new Set(['Version', 'Id', 'Statement'])
const STATEMENT_KEYS = new Set([
  'Sid',
  'Effect',
  'Principal',
  'NotPrincipal',
  'Action',
  'NotAction',
  'Resource',
  'NotResource',
  'Condition'
])
const PRINCIPAL_KEYS = new Set(['AWS', 'Service', 'Federated', 'CanonicalUser'])

/** The condition operators (IAM JSON policy elements: Condition operators). */
const OPERATORS = new Set([
  'StringEquals',
  'StringNotEquals',
  'StringEqualsIgnoreCase',
  'StringNotEqualsIgnoreCase',
  'StringLike',
  'StringNotLike',
  'NumericEquals',
  'NumericNotEquals',
  'NumericLessThan',
  'NumericLessThanEquals',
  'NumericGreaterThan',
  'NumericGreaterThanEquals',
  'DateEquals',
  'DateNotEquals',
  'DateLessThan',
  'DateLessThanEquals',
  'DateGreaterThan',
  'DateGreaterThanEquals',
  'Bool',
  'BinaryEquals',
  'IpAddress',
  'NotIpAddress',
  'ArnEquals',
  'ArnLike',
  'ArnNotEquals',
  'ArnNotLike',
  'Null'
])

/** A Condition operator: one of the above, optionally ForAllValues:/ForAnyValue: and IfExists
 * (not for Null). */
export function isConditionOperator(name: string): boolean {
  const bare = name.replace(/^(ForAllValues|ForAnyValue):/, '')
  const base = bare.endsWith('IfExists') ? bare.slice(0, -'IfExists'.length) : bare
  return OPERATORS.has(base) && !(base === 'Null' && bare !== base)
}

/** An ARN as a Resource (or a principal) takes it; capitalised words are the README's
 * placeholders (REGION, ACCOUNT, ...), `*` a wildcard. */
const ARN =
  /^arn:(aws|aws-cn|aws-us-gov):[a-z0-9-]+:([a-z0-9-]*|[A-Z_]+|\*):(\d{12}|[A-Z_]+|\*)?:\S+$/

/** service:Action, with `*`/`?` wildcards in the action part. */
const ACTION = /^[a-z0-9-]+:[A-Za-z0-9*?]+$/

const strings = (value: unknown): string[] | undefined =>
  typeof value === 'string'
    ? [value]
    : Array.isArray(value) && value.length > 0 && value.every(item => typeof item === 'string')
      ? value
      : undefined

type Json = Record<string, unknown>
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function actionProblems(where: string, value: unknown): string[] {
  const actions = strings(value)
  if (!actions) return [`${where}: a string or a non-empty list of strings`]
  return actions.flatMap(action => {
    if (action === '*') return []
    if (!ACTION.test(action)) return [`${where}: "${action}" is not service:Action`]
    if (/[*?]/.test(action)) return []
    const known = [...KNOWN_ACTIONS].some(name => name.toLowerCase() === action.toLowerCase())
    return known ? [] : [`${where}: "${action}" is no action of its service`]
  })
}

function resourceProblems(where: string, value: unknown): string[] {
  const resources = strings(value)
  if (!resources) return [`${where}: a string or a non-empty list of strings`]
  return resources
    .filter(resource => resource !== '*' && !ARN.test(resource))
    .map(resource => `${where}: "${resource}" is neither * nor an ARN`)
}

function principalProblems(where: string, value: unknown): string[] {
  if (value === '*') return []
  if (!isObject(value)) return [`${where}: "*" or an object of AWS/Service/Federated/CanonicalUser`]
  return Object.entries(value).flatMap(([kind, ids]) => {
    if (!PRINCIPAL_KEYS.has(kind)) return [`${where}: unknown principal type "${kind}"`]
    return strings(ids) ? [] : [`${where}.${kind}: a string or a list of strings`]
  })
}

function conditionProblems(where: string, value: unknown): string[] {
  if (!isObject(value)) return [`${where}: an object of condition operators`]
  return Object.entries(value).flatMap(([operator, keys]) => {
    if (!isConditionOperator(operator))
      return [`${where}: unknown condition operator "${operator}"`]
    if (!isObject(keys) || Object.keys(keys).length === 0) {
      return [`${where}.${operator}: an object of condition keys`]
    }
    return Object.entries(keys).flatMap(([key, values]) => {
      const problems = /^[A-Za-z0-9.-]+:[A-Za-z0-9/._:-]+$/.test(key)
        ? []
        : [`${where}.${operator}: "${key}" is not a condition key`]
      const list = [values].flat()
      const scalar = (item: unknown) => ['string', 'boolean', 'number'].includes(typeof item)
      if (list.length === 0 || !list.every(scalar)) {
        problems.push(`${where}.${operator}.${key}: a value or a list of values`)
      }
      return problems
    })
  })
}

/** Problems of one statement; `kind` says whether the policy is an identity policy (no
 * Principal, a Resource) or a resource/trust policy (a Principal). */
export function statementProblems(
  statement: unknown,
  where: string,
  kind: 'identity' | 'resource'
): string[] {
  if (!isObject(statement)) return [`${where}: a statement is an object`]
  const problems = Object.keys(statement)
    .filter(key => !STATEMENT_KEYS.has(key))
    .map(key => `${where}: unknown element "${key}"`)
  if ('Sid' in statement && !/^[A-Za-z0-9]*$/.test(String(statement.Sid))) {
    problems.push(`${where}: Sid "${String(statement.Sid)}" may hold only letters and digits`)
  }
  if (statement.Effect !== 'Allow' && statement.Effect !== 'Deny') {
    problems.push(`${where}: Effect must be "Allow" or "Deny"`)
  }
  const actionKeys = ['Action', 'NotAction'].filter(key => key in statement)
  if (actionKeys.length !== 1) problems.push(`${where}: exactly one of Action and NotAction`)
  for (const key of actionKeys) problems.push(...actionProblems(`${where}.${key}`, statement[key]))
  const resourceKeys = ['Resource', 'NotResource'].filter(key => key in statement)
  const principalKeys = ['Principal', 'NotPrincipal'].filter(key => key in statement)
  if (kind === 'identity') {
    if (resourceKeys.length !== 1)
      problems.push(`${where}: exactly one of Resource and NotResource`)
    if (principalKeys.length > 0) problems.push(`${where}: an identity policy names no Principal`)
  } else {
    if (principalKeys.length !== 1)
      problems.push(`${where}: exactly one of Principal and NotPrincipal`)
    if (resourceKeys.length > 1) problems.push(`${where}: at most one of Resource and NotResource`)
  }
  for (const key of resourceKeys) {
    problems.push(...resourceProblems(`${where}.${key}`, statement[key]))
  }
  for (const key of principalKeys) {
    problems.push(...principalProblems(`${where}.${key}`, statement[key]))
  }
  if ('Condition' in statement) {
    problems.push(...conditionProblems(`${where}.Condition`, statement.Condition))
  }
  return problems
}

/** Problems of a policy document. */
export function policyProblems(policy: unknown): string[] {
  if (!isObject(policy)) return ['a policy is a JSON object']
  const problems = Object.keys(policy)
    .filter(key => !TOP_LEVEL.has(key))
    .map(key => `unknown top-level element "${key}"`)
  // "2008-10-17" is older and lacks policy variables; IAM recommends 2012-10-17 for every policy.
  if (policy.Version !== '2012-10-17') problems.push('Version must be "2012-10-17"')
  const statements = [policy.Statement ?? []].flat() as unknown[]
  if (statements.length === 0) problems.push('Statement holds no statement')
  const kind = statements.some(
    statement => isObject(statement) && ('Principal' in statement || 'NotPrincipal' in statement)
  )
    ? 'resource'
    : 'identity'
  statements.forEach((statement, index) => {
    const sid = isObject(statement) && typeof statement.Sid === 'string' ? statement.Sid : ''
    problems.push(
      ...statementProblems(statement, `Statement[${index}]${sid ? ` ${sid}` : ''}`, kind)
    )
  })
  const sids = statements
    .map(statement => (isObject(statement) ? statement.Sid : undefined))
    .filter((sid): sid is string => typeof sid === 'string')
  for (const sid of new Set(sids.filter((sid, index) => sids.indexOf(sid) !== index))) {
    problems.push(`Sid "${sid}" is not unique`)
  }
  return problems
}
