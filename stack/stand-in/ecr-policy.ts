import { ECR_MESSAGES } from './aws-wording.js'

/**
 * What SetRepositoryPolicy does with policyText before it stores it: the length limit, the
 * grammar a policy cannot do without, principals in a form IAM accepts, and the layout ECR hands
 * the policy back in.
 */

/** SetRepositoryPolicy policyText: "Length Constraints: Minimum length of 0. Maximum length of
 * 10240." Source: ECR API reference, SetRepositoryPolicy, Request Parameters. */
export const MAX_POLICY_TEXT_LENGTH = 10_240

/** Why ECR refuses the text (the constraint part of its InvalidParameterException), or
 * undefined when it takes it. */
export function policyTextProblem(text: string): string | undefined {
  if (text.length > MAX_POLICY_TEXT_LENGTH) {
    return `Member must have length less than or equal to ${MAX_POLICY_TEXT_LENGTH}`
  }
  let policy: unknown
  try {
    policy = JSON.parse(text)
  } catch {
    return ECR_MESSAGES.invalidPolicyConstraint
  }
  if (!isObject(policy)) return ECR_MESSAGES.invalidPolicyConstraint
  const statement = policy.Statement
  const statements = Array.isArray(statement) ? statement : [statement]
  const valid =
    statements.length > 0 &&
    statements.every(
      entry =>
        isObject(entry) &&
        ['Allow', 'Deny'].includes(entry.Effect as string) &&
        (entry.Principal !== undefined || entry.NotPrincipal !== undefined) &&
        validPrincipal(entry.Principal ?? entry.NotPrincipal) &&
        (entry.Action !== undefined || entry.NotAction !== undefined)
    )
  return valid ? undefined : ECR_MESSAGES.invalidPolicyConstraint
}

// The principal forms IAM accepts in a resource policy (IAM User Guide, "AWS JSON policy
// elements: Principal"): "*", {"AWS": account id, account root, user or role ARN, or "*"},
// {"Service": a service principal}. IAM also refuses a role or user that does not exist;
// the stand-in checks the form only.
const AWS_PRINCIPAL =
  /^(\*|\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+))$/
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(\.cn)?$/

function validPrincipal(principal: unknown): boolean {
  if (principal === '*') return true
  if (!isObject(principal)) return false
  const entries = Object.entries(principal)
  if (entries.length === 0) return false
  return entries.every(([kind, value]) => {
    const values = Array.isArray(value) ? value : [value]
    const pattern =
      kind === 'AWS' ? AWS_PRINCIPAL : kind === 'Service' ? SERVICE_PRINCIPAL : undefined
    return (
      pattern !== undefined &&
      values.length > 0 &&
      values.every(item => typeof item === 'string' && pattern.test(item))
    )
  })
}

/**
 * The policy as ECR gives it back: Jackson's default pretty printer. Objects open a line per
 * member, indented two spaces per enclosing object, `"key" : value`; arrays stay on one line,
 * `[ a, b ]`, with `[ {` ... `}, {` ... `} ]` around objects. Source: the GetRepositoryPolicy
 * example of the ECR API (botocore's ecr examples-1.json, the SDK's GetRepositoryPolicyCommand
 * page): `{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n    "Sid" : "new statement", ...`.
 */
export function ecrPolicyLayout(text: string): string {
  return layout(JSON.parse(text) as unknown, 0)
}

function layout(value: unknown, depth: number): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return '[ ]'
    return `[ ${value.map(item => layout(item, depth)).join(', ')} ]`
  }
  if (isObject(value)) {
    const entries = Object.entries(value)
    if (entries.length === 0) return '{ }'
    const inner = '  '.repeat(depth + 1)
    const members = entries.map(
      ([key, member]) => `${inner}${JSON.stringify(key)} : ${layout(member, depth + 1)}`
    )
    return `{\n${members.join(',\n')}\n${'  '.repeat(depth)}}`
  }
  return JSON.stringify(value)
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value)
}
