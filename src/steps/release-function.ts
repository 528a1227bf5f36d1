import * as core from '@actions/core'
import type { ReleaseService } from '../adapters/lambda-releases.js'
import { ActionError, describeFailure } from '../domain/errors.js'
import { aliasChange, settingsChange } from '../domain/function-changes.js'
import {
  isManagedInstances,
  LATEST_PUBLISHED,
  MANAGED_INSTANCES_INIT_MINUTES
} from '../domain/function-kinds.js'
import type { HealthVerdict } from '../domain/rollout-plan.js'
import type { ActionConfig } from '../inputs.js'
import { publishLatestPublished, waitForPublishedVersion } from './published-version.js'
import type { PushedImage } from './push-image.js'
import { rolloutAlias, type RolloutDependencies } from './rollout.js'
import type { DeployTarget } from './resolve-target.js'

export interface ReleaseOutcome {
  /** The settings that were changed (empty: none were given, or they were already so). */
  readonly settingsChanges: readonly string[]
  readonly version?: string
  /** What happened to the alias, in words. */
  readonly alias?: string
  /** Lambda Managed Instances: what serves callers now, in words (domain/function-kinds.ts). */
  readonly serving?: string
  /** Lambda Managed Instances: $LATEST.PUBLISHED was published by this run. */
  readonly servingChanged?: boolean
}

/**
 * A check of the version just published, made before any traffic reaches it (a verify invoke).
 * The signal is the job's cancellation (with a rollout): the check ends at once when it aborts.
 */
export type TrafficCheck = (check: {
  readonly version: string
  readonly signal?: AbortSignal
}) => Promise<HealthVerdict>

/**
 * After the code update: runtime settings (only when they differ), then a version, then the
 * check before traffic (when given, and only with an alias), then the alias. Each write names the
 * RevisionId it read, so a concurrent change fails loudly.
 */
export async function releaseFunction(
  target: DeployTarget,
  image: PushedImage,
  releases: ReleaseService,
  config: Pick<
    ActionConfig,
    'overrides' | 'publish' | 'alias' | 'rollout' | 'waitTimeoutSeconds' | 'revision'
  >,
  /** What a rollout needs besides the releases; required when config.rollout is set. */
  rollout?: Omit<RolloutDependencies, 'releases'>,
  /** Made on the new version before the alias moves; a failed check leaves the alias alone. */
  beforeTraffic?: TrafficCheck
): Promise<ReleaseOutcome> {
  const arn = target.function.arn
  // The code update has finished here: deployFunctions waits for it whenever a release follows.
  const overrides = target.overrides
  let settingsChanges: readonly string[] = []
  let revisionId: string | undefined
  if (Object.keys(overrides).length > 0) {
    const current = await releases.settings(arn)
    const change = settingsChange(current, overrides)
    if (change) {
      core.info(`${target.function.name}: ${change.changes.join('; ')}`)
      await releases.updateSettings(arn, change, current.revisionId)
      await releases.waitForSettings(arn, config.waitTimeoutSeconds)
      settingsChanges = change.changes
    } else {
      revisionId = current.revisionId
    }
  }
  const description = `${config.revision ? `commit ${config.revision}, ` : ''}${image.digest}`
  const managed = isManagedInstances(target.function)
  const publishWaitSeconds = managed
    ? managedInstancesWait(target.function.name, config.waitTimeoutSeconds)
    : config.waitTimeoutSeconds
  if (!config.publish) {
    if (!managed) return { settingsChanges }
    // A function on a capacity provider runs published versions only: without publish, the
    // new code reaches callers through $LATEST.PUBLISHED (domain/function-kinds.ts).
    const latest = await publishLatestPublished(
      target.function.name,
      arn,
      image.digest.replace(/^sha256:/, ''),
      description.slice(0, 256),
      settingsChanges.length > 0,
      releases,
      publishWaitSeconds
    )
    return {
      settingsChanges,
      version: LATEST_PUBLISHED,
      serving: `${LATEST_PUBLISHED} (unqualified invokes)`,
      servingChanged: latest.published
    }
  }

  // After a settings update the revision is a new one, read once it has finished.
  revisionId ??= (await releases.settings(arn)).revisionId
  const version = await releases.publish(
    arn,
    image.digest.replace(/^sha256:/, ''),
    description.slice(0, 256),
    revisionId
  )
  core.info(`${target.function.name}: published version ${version}`)
  if (managed) {
    // Publishing provisions the version's execution environments: nothing may invoke or route
    // to it before it is Active.
    await waitForPublishedVersion(
      target.function.name,
      arn,
      version,
      releases,
      publishWaitSeconds,
      config.alias
        ? `alias ${config.alias.name} was not moved: version ${version} got no traffic`
        : `nothing routes to version ${version}`
    )
  }
  if (!config.alias) {
    if (!managed) return { settingsChanges, version }
    core.warning(
      `${target.function.name}: version ${version} is published and Active, but unqualified invokes keep running ${LATEST_PUBLISHED}, which publish: true does not change. Set alias to route callers through it, or leave publish off to publish ${LATEST_PUBLISHED}.`
    )
    return {
      settingsChanges,
      version,
      serving: `${LATEST_PUBLISHED} for unqualified invokes (not changed); version ${version} only when invoked by number`
    }
  }
  if (beforeTraffic) {
    await checkBeforeTraffic(target, config.alias.name, version, beforeTraffic, rollout?.cancelled)
  }
  if (config.rollout) {
    // Never a silent fallback to moving the alias outright.
    if (!rollout) throw new Error('releaseFunction: a rollout needs its alarms and cancellation')
    const outcome = await rolloutAlias(arn, config.alias.name, version, config.rollout, {
      ...rollout,
      releases
    })
    core.info(`${target.function.name}: alias ${outcome.alias}`)
    return {
      settingsChanges,
      version,
      alias: outcome.alias,
      ...servingThrough(managed, config.alias.name)
    }
  }

  const current = await releases.alias(arn, config.alias.name)
  const change = aliasChange(current, version, config.alias.routingWeight)
  if (change.action === 'create') {
    await releases.createAlias(arn, config.alias.name, change.functionVersion, change.weights)
  } else if (change.action === 'update') {
    await releases.updateAlias(
      arn,
      config.alias.name,
      change.functionVersion,
      change.weights,
      current!.revisionId
    )
  }
  const alias = `${config.alias.name} ${change.action === 'none' ? 'already points at ' + version : change.description}`
  core.info(`${target.function.name}: alias ${alias}`)
  return { settingsChanges, version, alias, ...servingThrough(managed, config.alias.name) }
}

/** With an alias, a Managed Instances function serves callers of the alias through it. */
function servingThrough(managed: boolean, aliasName: string): Pick<ReleaseOutcome, 'serving'> {
  return managed
    ? { serving: `alias ${aliasName}; unqualified invokes keep running ${LATEST_PUBLISHED}` }
    : {}
}

/**
 * The new version is checked while the alias still serves what it served before: a failed
 * check, or a cancel during it, fails the function with the alias unchanged.
 */
async function checkBeforeTraffic(
  target: DeployTarget,
  aliasName: string,
  version: string,
  check: TrafficCheck,
  cancelled: AbortSignal | undefined
): Promise<void> {
  const name = target.function.name
  const verdict = await check({ version, signal: cancelled })
  if (cancelled?.aborted) {
    throw new ActionError(
      'rollout-cancelled',
      `The rollout of alias ${aliasName} did not start: ${describeFailure(cancelled.reason)} during the verify invoke of version ${version}. The alias is unchanged; version ${version} got no traffic.`,
      'Run the job again to roll out.'
    )
  }
  if (verdict.ok) return
  throw new ActionError(
    'verify-invoke-failed',
    `${name}: ${verdict.reason}. The alias ${aliasName} was not moved: version ${version} got no traffic.`,
    'Fix the function (see its log tail above and in CloudWatch Logs), or correct verify-event / verify-expect, and run again.'
  )
}

/**
 * How long to wait for a Managed Instances version: provisioning may take up to 15 minutes
 * ("lambda-managed-instances-execution-environment"), and a shorter wait would fail the run after
 * the version was published, with the publish going on regardless. So at least that, plus a
 * minute; a longer wait-timeout is kept.
 */
function managedInstancesWait(functionName: string, waitTimeoutSeconds: number): number {
  const least = (MANAGED_INSTANCES_INIT_MINUTES + 1) * 60
  if (waitTimeoutSeconds >= least) return waitTimeoutSeconds
  core.info(
    `${functionName}: waiting up to ${least} s for its published version, longer than wait-timeout (${waitTimeoutSeconds} s): Lambda Managed Instances may take ${MANAGED_INSTANCES_INIT_MINUTES} minutes to provision one.`
  )
  return least
}
