import * as core from '@actions/core'
import type { ContainerRegistry } from '../adapters/ecr.js'
import { mergeLambdaGrant } from '../domain/repository-policy.js'
import type { DeployTarget } from './resolve-target.js'

export type GrantStatus = 'updated' | 'already-granted' | 'not-managed'

export interface GrantOutcome {
  readonly status: GrantStatus
  readonly changes: readonly string[]
}

/** Makes sure the repository policy lets Lambda (and the function's account) pull the image. */
export async function grantLambdaPull(
  target: DeployTarget,
  registry: ContainerRegistry,
  manage: boolean
): Promise<GrantOutcome> {
  if (!manage) return { status: 'not-managed', changes: [] }
  const existing = await registry.policy(target.repository)
  const merged = mergeLambdaGrant(existing, {
    repositoryAccount: target.repository.account,
    functionArns: [target.function.arn]
  })
  if (merged.text === undefined) {
    core.info(`The policy of ${target.repository.uri} already lets Lambda pull; left unchanged.`)
    return { status: 'already-granted', changes: [] }
  }
  await core.group(`Repository policy of ${target.repository.uri}`, async () => {
    for (const change of merged.changes) core.info(change)
    core.info(merged.text!)
    await registry.setPolicy(target.repository, merged.text!)
  })
  return { status: 'updated', changes: merged.changes }
}
