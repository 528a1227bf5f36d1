import { LAMBDA_PULL_ACTIONS, LAMBDA_SERVICE_PRINCIPAL } from './lambda-limits.js'
import { statementLabel, statementsOf } from './policy-verification.js'

/**
 * Explicit Deny statements of a repository policy that could stop Lambda's pull.
 *
 * An explicit Deny wins over any Allow (IAM User Guide, "Policy evaluation logic"), so a grant
 * added next to it changes nothing, and the failure only shows later, when UpdateFunctionCode
 * cannot pull the image. This finds such statements before that happens. It does not decide:
 * a condition this module cannot evaluate (a VPC endpoint, a tag) may well exempt Lambda, so
 * the answer is "may deny", for a warning, never a failure.
 *
 * Lambda pulls as the service principal lambda.amazonaws.com, with aws:SourceArn and
 * aws:SourceAccount set to the function's (Lambda Developer Guide, "Amazon ECR permissions").
 * What a request by an AWS service principal carries and does not carry is from the IAM User
 * Guide, "AWS global condition context keys": aws:PrincipalIsAWSService is true and
 * aws:PrincipalServiceName names the service; aws:PrincipalOrgID, aws:PrincipalOrgPaths,
 * aws:PrincipalAccount, aws:PrincipalArn and the principal's tags are not present.
 */

export interface DenyRisk {
  /** The statement's Sid in quotes, or "statement N". */
  readonly statement: string
  /** Why it could apply to Lambda's pull, for the warning. */
  readonly why: string
  /** true: it denies Lambda's pull as written; false: only a condition not evaluated here decides. */
  readonly certain: boolean
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

/** The Deny statements of `policy` that could stop `functionArn`'s pull. */
export function findLambdaDenies(policy: string | undefined, functionArn: string): DenyRisk[] {
  const context = lambdaRequestContext(functionArn)
  const risks: DenyRisk[] = []
  statementsOf(policy).forEach((raw, index) => {
    if (!isObject(raw) || raw.Effect !== 'Deny') return
    const principal = principalCoversLambda(raw)
    if (principal === undefined) return
    const actions = deniedPullActions(raw)
    if (actions.length === 0) return
    const condition = evaluateCondition(raw.Condition, context)
    if (condition.applies === false) return
    risks.push({
      statement: statementLabel(raw, index),
      why: `it denies ${actions.join(' and ')} to ${principal}${condition.why}`,
      certain: condition.applies === true
    })
  })
  return risks
}

/** The condition keys a pull by Lambda for `functionArn` has, and those it lacks. */
interface RequestContext {
  readonly present: ReadonlyMap<string, string>
  readonly absent: ReadonlySet<string>
}

function lambdaRequestContext(functionArn: string): RequestContext {
  return {
    present: new Map([
      ['aws:principalisawsservice', 'true'],
      ['aws:principalservicename', LAMBDA_SERVICE_PRINCIPAL],
      ['aws:sourcearn', functionArn],
      ['aws:sourceaccount', functionArn.split(':')[4] ?? '']
    ]),
    absent: new Set([
      'aws:principalorgid',
      'aws:principalorgpaths',
      'aws:principalaccount',
      'aws:principalarn',
      'aws:principaltype',
      'aws:userid',
      'aws:username'
    ])
  }
}

/** How the statement's principal takes in lambda.amazonaws.com, or undefined when it does not. */
function principalCoversLambda(statement: JsonObject): string | undefined {
  if ('NotPrincipal' in statement) {
    const excluded = statement.NotPrincipal
    return namesLambda(excluded) || isEveryone(excluded)
      ? undefined
      : 'every principal not in its NotPrincipal, lambda.amazonaws.com included'
  }
  const principal = statement.Principal
  if (isEveryone(principal)) return 'every principal ("*"), lambda.amazonaws.com included'
  if (namesLambda(principal)) return `the Lambda service principal (${LAMBDA_SERVICE_PRINCIPAL})`
  return undefined
}

function isEveryone(principal: Json | undefined): boolean {
  if (principal === '*') return true
  return isObject(principal) && strings(principal.AWS).includes('*')
}

function namesLambda(principal: Json | undefined): boolean {
  return isObject(principal) && strings(principal.Service).includes(LAMBDA_SERVICE_PRINCIPAL)
}

/** The pull actions the statement's Action (or NotAction) takes in. */
function deniedPullActions(statement: JsonObject): string[] {
  if ('NotAction' in statement) {
    const excluded = strings(statement.NotAction)
    return LAMBDA_PULL_ACTIONS.filter(action => !excluded.some(p => globMatches(p, action, true)))
  }
  const patterns = strings(statement.Action)
  return LAMBDA_PULL_ACTIONS.filter(action => patterns.some(p => globMatches(p, action, true)))
}

interface ConditionOutcome {
  /** true: applies to Lambda's pull; false: does not; undefined: cannot tell here. */
  readonly applies: boolean | undefined
  /** Continues the warning's sentence ("" when there is no condition). */
  readonly why: string
}

/**
 * A Condition block against Lambda's request: every operator and key must hold for the Deny to
 * apply, so one that cannot hold exempts Lambda, and one that cannot be evaluated leaves it open.
 */
function evaluateCondition(condition: Json | undefined, context: RequestContext): ConditionOutcome {
  if (!isObject(condition)) return { applies: true, why: ', without a condition' }
  const holding: string[] = []
  const unknown: string[] = []
  for (const [operator, block] of Object.entries(condition)) {
    if (!isObject(block)) continue
    for (const [key, values] of Object.entries(block)) {
      const result = evaluateTest(operator, key.toLowerCase(), strings(values), context)
      if (result === false) return { applies: false, why: '' }
      const text = `${operator} ${key}`
      if (result === true) {
        holding.push(
          context.absent.has(key.toLowerCase())
            ? `${text} holds because requests by AWS service principals carry no ${key}`
            : `${text} holds for Lambda's request`
        )
      } else unknown.push(text)
    }
  }
  if (unknown.length > 0) {
    return {
      applies: undefined,
      why: `, unless its condition (${unknown.join(', ')}) exempts Lambda's request${holding.length > 0 ? `; ${holding.join('; ')}` : ''}`
    }
  }
  return { applies: true, why: `: its condition ${holding.join('; ')}` }
}

/** One condition test; undefined when the operator or key is not one evaluated here. */
function evaluateTest(
  operator: string,
  key: string,
  values: readonly string[],
  context: RequestContext
): boolean | undefined {
  // Set operators look at multivalued keys, none of which is evaluated here.
  if (/^For(Any|All)Values:/i.test(operator)) return undefined
  const ifExists = /IfExists$/i.test(operator)
  const base = operator.replace(/IfExists$/i, '').toLowerCase()
  if (base === 'null') {
    if (context.absent.has(key)) return values.some(v => v.toLowerCase() === 'true')
    if (context.present.has(key)) return values.some(v => v.toLowerCase() === 'false')
    return undefined
  }
  const test = VALUE_TESTS[base]
  if (test === undefined) return undefined
  if (context.absent.has(key)) {
    // A missing key fails every test, so a negated one (StringNotEquals) holds; ...IfExists
    // holds on a missing key by definition (IAM User Guide, "Condition operators").
    return ifExists || test.negated
  }
  const actual = context.present.get(key)
  if (actual === undefined) return undefined
  const matched = values.some(value => test.matches(value, actual))
  return test.negated ? !matched : matched
}

interface ValueTest {
  readonly negated: boolean
  matches(pattern: string, actual: string): boolean
}

const equals = (ignoreCase: boolean) => (pattern: string, actual: string) =>
  ignoreCase ? pattern.toLowerCase() === actual.toLowerCase() : pattern === actual
const like = (pattern: string, actual: string) => globMatches(pattern, actual, false)

const VALUE_TESTS: Readonly<Record<string, ValueTest>> = {
  stringequals: { negated: false, matches: equals(false) },
  stringnotequals: { negated: true, matches: equals(false) },
  stringequalsignorecase: { negated: false, matches: equals(true) },
  stringnotequalsignorecase: { negated: true, matches: equals(true) },
  stringlike: { negated: false, matches: like },
  stringnotlike: { negated: true, matches: like },
  arnequals: { negated: false, matches: like },
  arnlike: { negated: false, matches: like },
  arnnotequals: { negated: true, matches: like },
  arnnotlike: { negated: true, matches: like },
  bool: { negated: false, matches: equals(true) }
}

/** IAM's wildcards: `*` any run of characters, `?` one character. */
function globMatches(pattern: string, text: string, ignoreCase: boolean): boolean {
  const source = pattern
    .split('')
    .map(ch => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('')
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(text)
}

function strings(value: Json | undefined): string[] {
  if (typeof value === 'string') return [value]
  // Condition values may be written as JSON booleans or numbers ("Bool": {"...": false}).
  if (typeof value === 'boolean' || typeof value === 'number') return [String(value)]
  if (Array.isArray(value)) return value.flatMap(item => strings(item))
  return []
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
