import type { PolicyDocument } from './iam-policy.js'
import { isKnownAccount, topology, type PolicyObject } from './topology.js'

/**
 * The identity-based policies each principal carries: every account's IAM user and every role,
 * as stack/topology.json sets them up (`iam.defaultPolicies`), until a test replaces a
 * principal's policies through the control API. Role sessions carry their role's policies.
 */

export type PolicySet = Readonly<Record<string, PolicyObject>>

// arn:aws:iam::ACCOUNT:user/NAME or :role/PATH/NAME (IAM identifiers, "IAM ARNs").
const HOLDER_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):(user|role)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/

export class PrincipalPolicyError extends Error {
  override name = 'PrincipalPolicyError'
}

export class IdentityPolicies {
  private readonly replaced = new Map<string, PolicySet>()

  /** The policies of a user or role ARN. */
  of(holderArn: string): PolicySet {
    return this.replaced.get(holderArn) ?? topology.iam.defaultPolicies
  }

  documents(holderArn: string): PolicyDocument[] {
    return Object.values(this.of(holderArn))
  }

  /** Replaces every policy of one principal (an empty set leaves it with no permissions). */
  replace(holderArn: string, policies: unknown): PolicySet {
    const match = HOLDER_ARN.exec(holderArn)
    if (!match || !isKnownAccount(match[1]!)) {
      throw new PrincipalPolicyError(
        `principal must be a user or role ARN in an account of stack/topology.json, not ${holderArn}`
      )
    }
    if (match[2] === 'user' && !holderArn.endsWith(`:user/${topology.iam.userName}`)) {
      throw new PrincipalPolicyError(
        `each account has one IAM user, ${topology.iam.userName}; ${holderArn} does not exist`
      )
    }
    if (!policies || typeof policies !== 'object' || Array.isArray(policies)) {
      throw new PrincipalPolicyError('policies must be an object: policy name → policy document')
    }
    for (const [name, document] of Object.entries(policies)) {
      const statement = (document as { Statement?: unknown } | null)?.Statement
      if (!statement || typeof statement !== 'object') {
        throw new PrincipalPolicyError(`policy ${name} has no Statement`)
      }
    }
    const set = policies as PolicySet
    this.replaced.set(holderArn, set)
    return set
  }

  reset(): void {
    this.replaced.clear()
  }
}
