import * as core from '@actions/core'
import { setTimeout as delay } from 'node:timers/promises'
import type { AlarmReader } from '../adapters/cloudwatch.js'
import type { ReleaseService } from '../adapters/lambda-releases.js'
import { ActionError, describeFailure } from '../domain/errors.js'
import {
  alarmsStillWithoutData,
  describeRolloutPlan,
  missingAlarms,
  noDataCause,
  rollbackDecision,
  rolloutSteps,
  type AlarmState,
  type HealthVerdict,
  type RollbackCause
} from '../domain/rollout-plan.js'
import type { RolloutSettings } from '../inputs.js'

/**
 * A check of the new version run at each step, besides the alarms (e.g. an invoke of it); a
 * failed verdict rolls back as an alarm does.
 */
export type HealthCheck = (step: {
  readonly version: string
  readonly weight: number
  readonly signal: AbortSignal
}) => Promise<HealthVerdict>

export interface RolloutDependencies {
  readonly releases: ReleaseService
  readonly alarms: AlarmReader
  /** Aborted when the job is cancelled: the rollout goes back and fails. */
  readonly cancelled: AbortSignal
  readonly healthCheck?: HealthCheck
  /** Waits ms or until the signal aborts, whichever comes first; tests pass a fake clock. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>
}

export interface RolloutOutcome {
  /** What happened to the alias, in words, for the log, the outputs and the summary. */
  readonly alias: string
  /** One line per shift, in order. */
  readonly steps: readonly string[]
}

/** Alarms are read this often while a step is watched, so one that fires cuts the step short. */
export const ALARM_POLL_SECONDS = 10

/**
 * Before the code update: every named alarm must exist (a typo would otherwise watch nothing),
 * and none may be firing already (the rollout would be rolled back at its first look).
 */
export async function checkRolloutAlarms(
  functionName: string,
  names: readonly string[],
  alarms: AlarmReader
): Promise<void> {
  if (names.length === 0) return
  const found = await alarms.states(names)
  const missing = missingAlarms(names, found)
  if (missing.length > 0) {
    throw new ActionError(
      'rollout-alarm-not-found',
      `CloudWatch has no alarm named ${missing.join(', ')} in the function's region; ${functionName} was not changed.`,
      'Check the names in rollout-alarms (they are case-sensitive) and the region; composite alarms count too.'
    )
  }
  const firing = rollbackDecision(found)
  if (firing) {
    throw new ActionError(
      'rollout-alarm-already-firing',
      `Before the rollout of ${functionName}: ${firing.description}; ${functionName} was not changed.`,
      'Find out why the alarm fires on the current version first; the rollout cannot tell the new version from it while it does.'
    )
  }
}

/**
 * The unpublished version. Lambda refuses routing weights on an alias that points at it
 * (UpdateAlias, CreateAlias: "$LATEST is not supported for an alias pointing to more than 1
 * version"): weights need a published version on both sides.
 */
export const LATEST = '$LATEST'

/**
 * Before the code update: an alias that points at $LATEST cannot carry routing weights, so a
 * rollout (or alias-routing-weight) from it would be refused at its first shift, after the code
 * update and a new version. A missing alias is fine: it is created on the new version.
 */
export async function checkAliasCanShift(
  functionName: string,
  functionArn: string,
  aliasName: string,
  releases: Pick<ReleaseService, 'alias'>
): Promise<void> {
  const current = await releases.alias(functionArn, aliasName)
  if (current?.functionVersion !== LATEST) return
  throw new ActionError(
    'alias-on-latest',
    `Alias ${aliasName} of ${functionName} points at ${LATEST}, which cannot carry routing weights (Lambda takes weights only between published versions), so traffic cannot shift from it step by step; ${functionName} was not changed.`,
    `Point the alias at a published version first (aws lambda publish-version --function-name ${functionName}, then aws lambda update-alias --function-name ${functionName} --name ${aliasName} --function-version N), or leave rollout and alias-routing-weight empty to move the alias outright.`
  )
}

/**
 * Moves the alias to newVersion step by step (RoutingConfig weights on the version it serves
 * now, then FunctionVersion on the last step), reading the alarms and the health check between
 * steps. When one fails, or the job is cancelled, the alias goes back to the previous version
 * with no weight on the new one, and the step fails saying why.
 */
export async function rolloutAlias(
  functionArn: string,
  aliasName: string,
  newVersion: string,
  settings: RolloutSettings,
  deps: RolloutDependencies
): Promise<RolloutOutcome> {
  const { releases } = deps
  if (deps.cancelled.aborted) throw cancelledBeforeStart(aliasName, deps.cancelled)
  const current = await releases.alias(functionArn, aliasName)
  if (!current) {
    // Nothing to shift from: callers of the alias have never been served by any version.
    await releases.createAlias(functionArn, aliasName, newVersion, {})
    core.notice(
      `Alias ${aliasName} did not exist: it was created on version ${newVersion} with all traffic; the rollout (${describeRolloutPlan(settings.plan)}) applies from the next deploy on.`
    )
    return { alias: `${aliasName} created on ${newVersion} (first deploy, no rollout)`, steps: [] }
  }
  if (current.functionVersion === newVersion) {
    if (Object.keys(current.weights).length > 0) {
      await releases.updateAlias(functionArn, aliasName, newVersion, {}, current.revisionId)
    }
    return { alias: `${aliasName} already points at ${newVersion}`, steps: [] }
  }

  const previous = current.functionVersion
  const steps: string[] = []
  let revisionId: string | undefined = current.revisionId
  if (settings.alarms.length === 0 && !deps.healthCheck) {
    core.info(
      `Alias ${aliasName}: rollout-unwatched: no alarm or verify invoke watches the steps; nothing can roll them back.`
    )
  }
  // Alarms that were INSUFFICIENT_DATA at every read so far; see noDataCause.
  const alarmReads = { withoutData: [...settings.alarms], count: 0 }
  const observe = (read: readonly AlarmState[]) => {
    alarmReads.withoutData = alarmsStillWithoutData(alarmReads.withoutData, read)
    alarmReads.count += 1
  }
  let noData: RollbackCause | undefined
  let shifted = '0%'
  try {
    for (const step of rolloutSteps(settings.plan)) {
      const percent = `${Math.round(step.weight * 10_000) / 100}%`
      if (step.weight === 1) {
        // Before the last shift, while the previous version still has most of the traffic.
        noData = noDataCause(alarmReads.withoutData, alarmReads.count)
        if (noData && settings.insufficientData === 'fail') {
          await rollBack(functionArn, aliasName, previous, releases)
          throw rolledBack(aliasName, previous, newVersion, shifted, noData)
        }
        if (noData) {
          core.warning(
            `Alias ${aliasName}: ${noData.description}. rollout-insufficient-data is warn: the rollout goes on to 100%.`
          )
        }
        revisionId = await releases.updateAlias(functionArn, aliasName, newVersion, {}, revisionId)
        steps.push(`100% to ${newVersion}`)
        core.info(`Alias ${aliasName}: version ${newVersion} gets all traffic.`)
        break
      }
      revisionId = await releases.updateAlias(
        functionArn,
        aliasName,
        previous,
        { [newVersion]: step.weight },
        revisionId
      )
      steps.push(`${percent} to ${newVersion}`)
      shifted = percent
      core.info(
        `Alias ${aliasName}: ${percent} to ${newVersion}, the rest on ${previous}; watching for ${step.holdSeconds} s.`
      )
      const cause = await watch(step.holdSeconds, newVersion, step.weight, settings, deps, observe)
      if (cause) {
        await rollBack(functionArn, aliasName, previous, releases)
        throw rolledBack(aliasName, previous, newVersion, percent, cause)
      }
    }
    if (deps.cancelled.aborted) {
      // Cancelled while the last shift was under way: the cancelled job leaves the old version.
      await rollBack(functionArn, aliasName, previous, releases)
      throw rolledBack(aliasName, previous, newVersion, '100%', cancelledCause(deps.cancelled))
    }
  } catch (error) {
    if (error instanceof ActionError && error.id.startsWith('rollout-')) throw error
    // Anything else mid-rollout (a refused call, an alarm that cannot be read) leaves the new
    // version unwatched: it goes back too.
    await rollBack(functionArn, aliasName, previous, releases)
    throw new ActionError(
      'rollout-failed',
      `The rollout of alias ${aliasName} stopped (${describeFailure(error)}); the alias is back on ${previous} with no traffic to ${newVersion}.`,
      'Fix the cause above and run again.'
    )
  }
  const unjudged = noData ? `; ${alarmReads.withoutData.join(', ')} had no data throughout` : ''
  return {
    alias: `${aliasName} moved from ${previous} to ${newVersion} by rollout (${steps.join(', ')})${unjudged}`,
    steps
  }
}

/** Watches one step: alarms every ALARM_POLL_SECONDS and at its end, then the health check. */
async function watch(
  holdSeconds: number,
  version: string,
  weight: number,
  settings: RolloutSettings,
  deps: RolloutDependencies,
  /** Sees every read of the alarms. */
  observe: (read: readonly AlarmState[]) => void
): Promise<RollbackCause | undefined> {
  const sleep = deps.sleep ?? interruptibleSleep
  let remaining = holdSeconds
  while (remaining > 0) {
    const wait = Math.min(remaining, ALARM_POLL_SECONDS)
    await sleep(wait * 1000, deps.cancelled)
    if (deps.cancelled.aborted) return cancelledCause(deps.cancelled)
    remaining -= wait
    const read = await deps.alarms.states(settings.alarms)
    observe(read)
    const cause = rollbackDecision(read)
    if (cause) return cause
  }
  if (!deps.healthCheck) return undefined
  const verdict = await deps.healthCheck({ version, weight, signal: deps.cancelled })
  if (deps.cancelled.aborted) return cancelledCause(deps.cancelled)
  return rollbackDecision([], verdict)
}

async function interruptibleSleep(ms: number, signal: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal })
  } catch {
    // Aborted: the caller looks at the signal.
  }
}

function cancelledCause(signal: AbortSignal): RollbackCause {
  return { kind: 'cancelled', description: describeFailure(signal.reason) }
}

/** Unconditional (no RevisionId): going back must not lose to a change made meanwhile. */
async function rollBack(
  functionArn: string,
  aliasName: string,
  previous: string,
  releases: ReleaseService
): Promise<void> {
  try {
    await releases.updateAlias(functionArn, aliasName, previous, {}, undefined)
  } catch (error) {
    throw new ActionError(
      'rollout-rollback-failed',
      `The rollout of alias ${aliasName} had to go back to ${previous}, but UpdateAlias failed: ${describeFailure(error)}.`,
      `Point the alias back by hand now: aws lambda update-alias --function-name ${functionArn} --name ${aliasName} --function-version ${previous} --routing-config AdditionalVersionWeights={}`
    )
  }
  core.warning(`Alias ${aliasName} is back on ${previous} with no traffic to the new version.`)
}

function rolledBack(
  aliasName: string,
  previous: string,
  newVersion: string,
  percent: string,
  cause: RollbackCause
): ActionError {
  const id =
    cause.kind === 'cancelled'
      ? 'rollout-cancelled'
      : cause.kind === 'no-data'
        ? 'rollout-alarm-no-data'
        : 'rollout-rolled-back'
  const fixes: Record<RollbackCause['kind'], string> = {
    alarm: `Look at what the alarm measured for version ${newVersion}, fix it and deploy again.`,
    'health-check': `Look at why version ${newVersion} failed its check, fix it and deploy again.`,
    cancelled: 'Run the job again to roll out once more.',
    'no-data': `Check the alarm's metric and dimensions against what the function emits (e.g. FunctionName, and Resource FUNCTION:${aliasName} for the alias); give a metric that is absent when all is well TreatMissingData notBreaching; or set rollout-insufficient-data: warn to let an alarm without data pass with a warning.`
  }
  const fix = fixes[cause.kind]
  return new ActionError(
    id,
    `The rollout of alias ${aliasName} was rolled back at ${percent} to ${newVersion}: ${cause.description}. The alias is back on ${previous} with no traffic to ${newVersion}.`,
    fix
  )
}

function cancelledBeforeStart(aliasName: string, signal: AbortSignal): ActionError {
  return new ActionError(
    'rollout-cancelled',
    `The rollout of alias ${aliasName} did not start: ${describeFailure(signal.reason)}. The alias is unchanged.`,
    'Run the job again to roll out.'
  )
}
