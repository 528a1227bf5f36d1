import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { ContainerRegistry } from '../adapters/ecr.js'
import { ActionError } from '../domain/errors.js'
import { findLambdaDenies } from '../domain/policy-deny.js'
import { statementLabel, statementsMissing } from '../domain/policy-verification.js'
import { mergeLambdaGrant, policyTooLarge } from '../domain/repository-policy.js'
import type { DeployTarget } from './resolve-target.js'

/** may-be-denied: the grant is in place, but a Deny in the policy could still stop the pull. */
export type GrantStatus = 'updated' | 'already-granted' | 'not-managed' | 'may-be-denied'

export interface GrantOutcome {
  readonly status: GrantStatus
  readonly changes: readonly string[]
}

/** Writes of the policy before giving up on a writer that keeps replacing it. */
export const MAX_POLICY_WRITES = 5

/** Pause before the second write, doubled before each further one: 1, 2, 4, 8 s. */
export const POLICY_REWRITE_BACKOFF_MS = 1_000

/**
 * Makes sure the repository policy lets Lambda (and the function's account) pull the image.
 *
 * Another writer (Terraform, a second pipeline) may replace the policy at any time, and ECR has no
 * conditional write. So every write is read back: when a statement that was written (ours, or
 * one that was there before) is no longer there unchanged, the grant is merged again into what
 * the other writer left and written again, a bounded number of times. Their change is kept; ours
 * is added to it.
 *
 * Each write is one SetRepositoryPolicy call with the whole document (the last policy read plus
 * the grant), so however the run ends (failure, cancellation between two calls), the stored policy
 * is one complete document that some writer meant, never a half-merged one. What no reader can see
 * is a writer whose change lands between our read and our write: ECR offers nothing to detect it.
 */
export async function grantLambdaPull(
  target: DeployTarget,
  registry: ContainerRegistry,
  manage: boolean,
  pause: (ms: number) => Promise<void> = sleep
): Promise<GrantOutcome> {
  if (!manage) return { status: 'not-managed', changes: [] }
  const request = {
    repositoryAccount: target.repository.account,
    functionArns: [target.function.arn]
  }
  const uri = target.repository.uri
  const changes: string[] = []
  let current = await registry.policy(target.repository)
  for (let write = 1; ; write += 1) {
    const merged = mergeLambdaGrant(current, request)
    if (merged.text === undefined) {
      if (write === 1) {
        core.info(`The policy of ${uri} already lets Lambda pull; left unchanged.`)
        return checkDenies({ status: 'already-granted', changes: [] }, current, target)
      }
      // The other writer's policy grants Lambda's pull itself.
      return checkDenies({ status: 'updated', changes }, current, target)
    }
    if (write > MAX_POLICY_WRITES) {
      throw new ActionError(
        'repository-policy-not-converged',
        `Another writer replaced the policy of ${uri} right after each of ${MAX_POLICY_WRITES} writes, so Lambda's pull grant is not in it; nothing was deployed.`,
        'Find what else writes this repository policy (infrastructure code, another pipeline) and add the Lambda grant there, then set manage-repository-policy: false.'
      )
    }
    const text = merged.text
    // Checked before the push too (checkGrantFits); another writer may have grown it since.
    const tooLarge = policyTooLarge(text, uri)
    if (tooLarge) throw tooLarge
    await core.group(
      `Repository policy of ${uri}${write > 1 ? ` (write ${write})` : ''}`,
      async () => {
        for (const change of merged.changes) core.info(change)
        // The whole document names other accounts and organisations; logs may be public.
        core.debug(text)
        await registry.setPolicy(target.repository, text)
      }
    )
    for (const change of merged.changes) if (!changes.includes(change)) changes.push(change)

    current = await registry.policy(target.repository)
    const missing = statementsMissing(text, current)
    if (missing.length === 0) return checkDenies({ status: 'updated', changes }, current, target)
    core.warning(
      `The policy of ${uri} changed right after it was written (${missing.map(statementLabel).join(', ')} no longer as written); merging the grant into the new policy (write ${write + 1} of at most ${MAX_POLICY_WRITES}).`
    )
    if (write < MAX_POLICY_WRITES) {
      // Give the other writer time to finish instead of racing it again at once.
      await pause(POLICY_REWRITE_BACKOFF_MS * 2 ** (write - 1))
      current = await registry.policy(target.repository)
    }
  }
}

/**
 * Whether the grant will fit into the repository policy, found out before anything is pushed:
 * ECR refuses a policyText over 10,240 characters, and finding that out after the push would
 * leave an image in ECR that no function can pull. Returns the planned changes.
 */
export async function checkGrantFits(
  repository: DeployTarget['repository'],
  functionArns: readonly string[],
  registry: ContainerRegistry
): Promise<readonly string[]> {
  const merged = mergeLambdaGrant(await registry.policy(repository), {
    repositoryAccount: repository.account,
    functionArns
  })
  const tooLarge =
    merged.text === undefined ? undefined : policyTooLarge(merged.text, repository.uri)
  if (tooLarge) throw tooLarge
  return merged.changes
}

/** checkGrantFits for every repository of a deploy, before its push. */
export async function checkGrantsFit(
  repositories: readonly DeployTarget['repository'][],
  targets: readonly DeployTarget[],
  aws: AwsServices
): Promise<void> {
  for (const repository of repositories) {
    const arns = targets.filter(t => t.repository === repository).map(t => t.function.arn)
    await checkGrantFits(repository, arns, aws.registry(repository.region))
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/**
 * An explicit Deny wins over the grant, and would only show when UpdateFunctionCode cannot pull.
 * Not a failure: a condition the analysis cannot evaluate may exempt Lambda.
 */
function checkDenies(
  outcome: GrantOutcome,
  policy: string | undefined,
  target: DeployTarget
): GrantOutcome {
  const risks = findLambdaDenies(policy, target.function.arn)
  for (const risk of risks) {
    core.warning(
      `The policy of ${target.repository.uri} has an explicit Deny, ${risk.statement}, that ${risk.certain ? 'stops' : 'may stop'} Lambda pulling the image: ${risk.why}. A Deny wins over the grant. Exempt AWS services from it (a condition "Bool": {"aws:PrincipalIsAWSService": "false"}) or narrow its principal.`
    )
  }
  return risks.length === 0 ? outcome : { ...outcome, status: 'may-be-denied' }
}
