import { ActionError } from './errors.js'
import { LAMBDA_PULL_ACTIONS, LAMBDA_SERVICE_PRINCIPAL } from './lambda-limits.js'

/**
 * Merging Lambda's pull grant into an ECR repository policy.
 *
 * What Lambda needs (Lambda Developer Guide, "Amazon ECR permissions"; LAMBDA-IMAGE-FACTS.md):
 * - the service principal lambda.amazonaws.com may BatchGetImage and GetDownloadUrlForLayer,
 *   limited by a StringLike condition on aws:sourceArn to the functions of the deploying accounts;
 * - for a function in another account than the repository, that account's root principal may too.
 *
 * The merge only ever adds statements or extends a statement that this action wrote itself; every
 * other statement is kept exactly as it was.
 */

export const SERVICE_STATEMENT_SID = 'LambdaECRImageRetrievalPolicy'
export const CROSS_ACCOUNT_STATEMENT_SID = 'LambdaECRImageCrossAccountRetrievalPolicy'

export interface LambdaGrantRequest {
  readonly repositoryAccount: string
  /** ARNs of the functions that will run the image; their accounts and region are granted. */
  readonly functionArns: readonly string[]
}

export interface PolicyMergeResult {
  /** The policy to write, or undefined when nothing needs to change. */
  readonly text: string | undefined
  /** One line per change, for the log and the summary. */
  readonly changes: readonly string[]
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

export function mergeLambdaGrant(
  existing: string | undefined,
  request: LambdaGrantRequest
): PolicyMergeResult {
  const document = parsePolicy(existing)
  const statements = statementList(document)
  const changes: string[] = []

  const uncoveredFunctions = request.functionArns.filter(
    arn => !statements.some(statement => grantsServicePull(statement, arn))
  )
  if (uncoveredFunctions.length > 0) {
    const wanted = uniqueSorted(uncoveredFunctions.map(accountWideFunctionPattern))
    changes.push(
      addOrExtend(
        statements,
        SERVICE_STATEMENT_SID,
        wanted,
        serviceStatement,
        extendServiceStatement
      )
    )
  }

  const otherAccountRoots = uniqueSorted(
    request.functionArns
      .filter(arn => accountOf(arn) !== request.repositoryAccount)
      .map(rootPrincipalOf)
  )
  const uncoveredAccounts = otherAccountRoots.filter(
    root => !statements.some(statement => grantsAccountPull(statement, root))
  )
  if (uncoveredAccounts.length > 0) {
    changes.push(
      addOrExtend(
        statements,
        CROSS_ACCOUNT_STATEMENT_SID,
        uncoveredAccounts,
        crossAccountStatement,
        extendCrossAccountStatement
      )
    )
  }

  if (changes.length === 0) return { text: undefined, changes }
  document.Statement = statements
  // Compact: ECR counts every character of policyText, whitespace included, against its limit.
  return { text: JSON.stringify(document), changes }
}

/**
 * The most characters SetRepositoryPolicy takes as policyText. Source: ECR API reference,
 * SetRepositoryPolicy, policyText ("Length Constraints: Minimum length of 0. Maximum length of
 * 10240."). Counted in UTF-16 units, which is never fewer than the characters ECR counts.
 */
export const MAX_REPOSITORY_POLICY_CHARACTERS = 10_240

/**
 * The error for a merged policy ECR would refuse, or undefined when it fits. Found before the
 * push, so nothing is pushed or changed for a deploy that could not grant Lambda its pull.
 */
export function policyTooLarge(text: string, repositoryUri: string): ActionError | undefined {
  if (text.length <= MAX_REPOSITORY_POLICY_CHARACTERS) return undefined
  return new ActionError(
    'repository-policy-too-large',
    `The policy of ${repositoryUri} with Lambda's pull grant merged in would be ${text.length.toLocaleString('en-US')} characters (written compactly); ECR allows at most ${MAX_REPOSITORY_POLICY_CHARACTERS.toLocaleString('en-US')} in a repository policy, so the grant cannot be written. Nothing was pushed or changed.`,
    'Remove statements the repository no longer needs (or merge statements that differ only in their principals), or set manage-repository-policy: false and grant lambda.amazonaws.com ecr:BatchGetImage and ecr:GetDownloadUrlForLayer in the policy yourself.'
  )
}

function parsePolicy(existing: string | undefined): JsonObject {
  if (existing === undefined || existing.trim() === '') {
    return { Version: '2012-10-17', Statement: [] }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(existing)
  } catch (error) {
    throw new ActionError(
      'repository-policy-unreadable',
      `The repository policy is not valid JSON (${(error as Error).message}), so it cannot be merged safely.`,
      'Fix the policy in the ECR console, or set manage-repository-policy: false and grant Lambda access yourself.'
    )
  }
  if (!isObject(parsed)) {
    throw new ActionError(
      'repository-policy-unreadable',
      'The repository policy is not a JSON object, so it cannot be merged safely.',
      'Fix the policy in the ECR console, or set manage-repository-policy: false and grant Lambda access yourself.'
    )
  }
  return parsed
}

/** IAM allows Statement to be one object or a list; the merge always writes a list. */
function statementList(document: JsonObject): JsonObject[] {
  const raw = document.Statement
  if (raw === undefined) return []
  const list = Array.isArray(raw) ? raw : [raw]
  return list.map(statement => (isObject(statement) ? statement : {}))
}

function addOrExtend(
  statements: JsonObject[],
  sid: string,
  wanted: readonly string[],
  create: (sid: string, values: readonly string[]) => JsonObject,
  extend: (statement: JsonObject, sid: string, values: readonly string[]) => boolean
): string {
  const own = statements.find(statement => statement.Sid === sid)
  if (own && extend(own, sid, wanted)) {
    return `extended statement "${sid}" with ${wanted.join(', ')}`
  }
  const freeSid = unusedSid(statements, sid)
  statements.push(create(freeSid, wanted))
  return `added statement "${freeSid}" for ${wanted.join(', ')}`
}

function serviceStatement(sid: string, sourceArnPatterns: readonly string[]): JsonObject {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { Service: LAMBDA_SERVICE_PRINCIPAL },
    Action: [...LAMBDA_PULL_ACTIONS],
    Condition: { StringLike: { 'aws:sourceArn': oneOrList(sourceArnPatterns) } }
  }
}

function crossAccountStatement(sid: string, accountRoots: readonly string[]): JsonObject {
  return {
    Sid: sid,
    Effect: 'Allow',
    Principal: { AWS: oneOrList(accountRoots) },
    Action: [...LAMBDA_PULL_ACTIONS]
  }
}

/** Extends a statement only when it still has exactly the shape this action writes. */
function extendServiceStatement(
  statement: JsonObject,
  sid: string,
  patterns: readonly string[]
): boolean {
  const expected = serviceStatement(sid, [])
  if (!sameShape(statement, expected, ['Condition'])) return false
  const condition = statement.Condition
  if (!isObject(condition) || Object.keys(condition).length !== 1) return false
  const stringLike = condition.StringLike
  if (!isObject(stringLike) || Object.keys(stringLike).length !== 1) return false
  const current = asStrings(stringLike['aws:sourceArn'])
  if (current === undefined) return false
  stringLike['aws:sourceArn'] = oneOrList(uniqueSorted([...current, ...patterns]))
  return true
}

function extendCrossAccountStatement(
  statement: JsonObject,
  sid: string,
  roots: readonly string[]
): boolean {
  const expected = crossAccountStatement(sid, [])
  if (!sameShape(statement, expected, ['Principal'])) return false
  const principal = statement.Principal
  if (!isObject(principal) || Object.keys(principal).length !== 1) return false
  const current = asStrings(principal.AWS)
  if (current === undefined) return false
  principal.AWS = oneOrList(uniqueSorted([...current, ...roots]))
  return true
}

function sameShape(actual: JsonObject, expected: JsonObject, except: readonly string[]): boolean {
  const keys = new Set([...Object.keys(actual), ...Object.keys(expected)])
  for (const key of keys) {
    if (except.includes(key)) {
      if (!(key in actual)) return false
      continue
    }
    if (JSON.stringify(actual[key]) !== JSON.stringify(expected[key])) return false
  }
  return true
}

function unusedSid(statements: readonly JsonObject[], base: string): string {
  const taken = new Set(statements.map(statement => statement.Sid))
  if (!taken.has(base)) return base
  for (let n = 2; ; n += 1) if (!taken.has(`${base}${n}`)) return `${base}${n}`
}

/** Does this statement let lambda.amazonaws.com pull on behalf of the given function? */
export function grantsServicePull(statement: JsonObject, functionArn: string): boolean {
  if (!allowsPullActions(statement)) return false
  if (!principalIncludes(statement.Principal, 'Service', [LAMBDA_SERVICE_PRINCIPAL])) return false
  return conditionAdmits(statement.Condition, functionArn)
}

/** Does this statement let the account (given by its root principal ARN) pull? */
export function grantsAccountPull(statement: JsonObject, accountRoot: string): boolean {
  if (!allowsPullActions(statement)) return false
  if (statement.Condition !== undefined) return false
  const account = accountRoot.split(':')[4] ?? ''
  return principalIncludes(statement.Principal, 'AWS', [account, accountRoot])
}

function allowsPullActions(statement: JsonObject): boolean {
  if (statement.Effect !== 'Allow' || 'NotAction' in statement || 'NotPrincipal' in statement) {
    return false
  }
  const actions = asStrings(statement.Action) ?? []
  return LAMBDA_PULL_ACTIONS.every(needed =>
    actions.some(action => globMatch(action, needed, true))
  )
}

function principalIncludes(principal: Json | undefined, kind: string, accepted: string[]): boolean {
  if (principal === '*') return true
  if (!isObject(principal)) return false
  const values = asStrings(principal[kind]) ?? []
  return values.some(value => value === '*' || accepted.includes(value))
}

/**
 * Only a condition that is absent, or that limits aws:sourceArn with StringLike/ArnLike (or their
 * Equals forms), can be judged here; anything else counts as "not granted" so the merge adds its
 * own statement rather than guess.
 */
function conditionAdmits(condition: Json | undefined, functionArn: string): boolean {
  if (condition === undefined) return true
  if (!isObject(condition)) return false
  for (const [operator, block] of Object.entries(condition)) {
    if (!isObject(block)) return false
    const wildcard = operator === 'StringLike' || operator === 'ArnLike'
    if (!wildcard && operator !== 'StringEquals' && operator !== 'ArnEquals') return false
    for (const [key, value] of Object.entries(block)) {
      if (key.toLowerCase() !== 'aws:sourcearn') return false
      const patterns = asStrings(value) ?? []
      if (!patterns.some(pattern => globMatch(pattern, functionArn, wildcard))) return false
    }
  }
  return true
}

/** IAM string matching: `*` any run, `?` one character; action names are case-insensitive. */
function globMatch(pattern: string, value: string, wildcards: boolean): boolean {
  if (!wildcards) return pattern === value
  const source = pattern
    .split('')
    .map(ch => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('')
  const caseless = pattern.toLowerCase().startsWith('ecr:') || pattern === '*'
  return new RegExp(`^${source}$`, caseless ? 'i' : '').test(value)
}

function accountWideFunctionPattern(functionArn: string): string {
  const [arn, partition, service, region, account] = functionArn.split(':')
  return `${arn}:${partition}:${service}:${region}:${account}:function:*`
}

function accountOf(functionArn: string): string {
  return functionArn.split(':')[4] ?? ''
}

function rootPrincipalOf(functionArn: string): string {
  const partition = functionArn.split(':')[1] ?? 'aws'
  return `arn:${partition}:iam::${accountOf(functionArn)}:root`
}

function asStrings(value: Json | undefined): string[] | undefined {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every(item => typeof item === 'string')) return value
  return undefined
}

function oneOrList(values: readonly string[]): Json {
  return values.length === 1 ? values[0]! : [...values]
}

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort()
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
