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
import type { CurrentAlias } from '../domain/function-changes.js'
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
  releases: Pick<ReleaseService, 'alias'>,
  /** A rollout is to start: an alias that routes to two versions already is refused too. */
  rollout = false
): Promise<void> {
  const current = await releases.alias(functionArn, aliasName)
  if (rollout && current) refuseSplitAlias(functionName, aliasName, current, undefined)
  if (current?.functionVersion !== LATEST) return
  throw new ActionError(
    'alias-on-latest',
    `Alias ${aliasName} of ${functionName} points at ${LATEST}, which cannot carry routing weights (Lambda takes weights only between published versions), so traffic cannot shift from it step by step; ${functionName} was not changed.`,
    `Point the alias at a published version first (aws lambda publish-version --function-name ${functionName}, then aws lambda update-alias --function-name ${functionName} --name ${aliasName} --function-version N), or leave rollout and alias-routing-weight empty to move the alias outright.`
  )
}

/**
 * Another rollout (of another run) is under way on the alias, or one was cut off, or a split of
 * alias-routing-weight is in place: a rollout from it would replace that traffic split with its
 * own, so it is refused before any change. Concurrent runs on one alias are refused this way;
 * the runs are serialized by the workflow (a concurrency group). A weight on the version being
 * rolled out (the same run again) is not a split of someone else's.
 */
function refuseSplitAlias(
  functionName: string,
  aliasName: string,
  current: CurrentAlias,
  newVersion: string | undefined
): void {
  const others = Object.entries(current.weights).filter(([version]) => version !== newVersion)
  if (others.length === 0) return
  const split = others.map(([version, weight]) => `${weightPercent(weight)} to ${version}`)
  throw new ActionError(
    'alias-split-in-progress',
    `Alias ${aliasName} of ${functionName} routes ${split.join(', ')} and the rest to ${current.functionVersion}: another rollout is under way (or was cut off, or alias-routing-weight set a split). A rollout would replace that split with its own, so ${newVersion === undefined ? `${functionName} was not changed` : `alias ${aliasName} was not changed`}.`,
    `Let the other run finish; to run deploys of one alias one at a time, give the workflow job a concurrency group (concurrency: deploy-${functionName}-${aliasName}). If no run is under way, settle the alias by hand first: aws lambda update-alias --function-name ${functionName} --name ${aliasName} --function-version N --routing-config AdditionalVersionWeights={}`
  )
}

function weightPercent(weight: number): string {
  return `${Math.round(weight * 10_000) / 100}%`
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
  refuseSplitAlias(functionArn.split(':')[6] ?? functionArn, aliasName, current, newVersion)

  const previous = current.functionVersion
  const steps: string[] = []
  // What this run last wrote (at first: what it found). Every write, the rollback included, is
  // conditional on its RevisionId: a change made by anyone else meanwhile is never overwritten.
  let written: WrittenAlias = {
    version: previous,
    weights: current.weights,
    revisionId: current.revisionId
  }
  // The write under way: refused as a conflict, it may still have gone through (a retried call
  // whose first answer was lost), so a rollback takes it for this run's own too.
  let attempted: WrittenAlias | undefined
  const shift = async (version: string, weights: Readonly<Record<string, number>>) => {
    attempted = { version, weights, revisionId: written.revisionId }
    const revisionId = await releases.updateAlias(
      functionArn,
      aliasName,
      version,
      weights,
      written.revisionId
    )
    written = { version, weights, revisionId }
    attempted = undefined
  }
  const back = () =>
    rollBack(functionArn, aliasName, previous, newVersion, written, releases, attempted)
  if (settings.alarms.length === 0 && !deps.healthCheck) {
    core.info(
      `Alias ${aliasName}: rollout-unwatched: no alarm watches the steps (a verify invoke, if any, ran before the first shift); nothing can roll them back.`
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
      const percent = weightPercent(step.weight)
      if (step.weight === 1) {
        // Before the last shift, while the previous version still has most of the traffic.
        noData = noDataCause(alarmReads.withoutData, alarmReads.count)
        if (noData && settings.insufficientData === 'fail') {
          await back()
          throw rolledBack(aliasName, previous, newVersion, shifted, noData)
        }
        if (noData) {
          core.warning(
            `Alias ${aliasName}: ${noData.description}. rollout-insufficient-data is warn: the rollout goes on to 100%.`
          )
        }
        await shift(newVersion, {})
        steps.push(`100% to ${newVersion}`)
        core.info(`Alias ${aliasName}: version ${newVersion} gets all traffic.`)
        break
      }
      await shift(previous, { [newVersion]: step.weight })
      steps.push(`${percent} to ${newVersion}`)
      shifted = percent
      core.info(
        `Alias ${aliasName}: ${percent} to ${newVersion}, the rest on ${previous}; watching for ${step.holdSeconds} s.`
      )
      const cause = await watch(step.holdSeconds, newVersion, step.weight, settings, deps, observe)
      if (cause) {
        await back()
        throw rolledBack(aliasName, previous, newVersion, percent, cause)
      }
    }
    if (deps.cancelled.aborted) {
      // Cancelled while the last shift was under way: the cancelled job leaves the old version.
      await back()
      throw rolledBack(aliasName, previous, newVersion, '100%', cancelledCause(deps.cancelled))
    }
  } catch (error) {
    if (error instanceof ActionError && error.id.startsWith('rollout-')) throw error
    if (error instanceof ActionError && error.id === 'concurrent-change') {
      // A write of this run was refused. rollBack reads the alias again: another run's change
      // stands (rollout-alias-moved); one that still holds only this run's change (a new
      // description, a retried write) must not be left serving a split nobody watches.
      await back()
      throw new ActionError(
        'rollout-failed',
        `The rollout of alias ${aliasName} stopped: UpdateAlias refused this run's RevisionId although the alias held only this run's change; it is back on ${previous} with no traffic to ${newVersion}.`,
        `Find out what else writes alias ${aliasName} (a description edit, a retried call), then deploy again.`
      )
    }
    // Anything else mid-rollout (a refused call, an alarm that cannot be read) leaves the new
    // version unwatched: it goes back too.
    await back()
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

/** The alias as this run last wrote it (or found it, before its first write). */
interface WrittenAlias {
  readonly version: string
  readonly weights: Readonly<Record<string, number>>
  readonly revisionId: string
}

/**
 * Puts the alias back on the previous version, conditional on the RevisionId this run last
 * wrote: only this run's own change is undone. On a conflict the alias is read again: already
 * back (someone else rolled it back) is fine; still as this run left it (only the RevisionId
 * moved, e.g. a new description) is written once more with the new RevisionId; anything else is
 * another run's change, left alone (rollout-alias-moved).
 */
async function rollBack(
  functionArn: string,
  aliasName: string,
  previous: string,
  newVersion: string,
  written: WrittenAlias,
  releases: ReleaseService,
  /** A write of this run that was refused as a conflict but may have gone through. */
  attempted?: WrittenAlias
): Promise<void> {
  let revisionId = written.revisionId
  for (let attempt = 1; ; attempt += 1) {
    try {
      await releases.updateAlias(functionArn, aliasName, previous, {}, revisionId)
      break
    } catch (error) {
      if (!(error instanceof ActionError && error.id === 'concurrent-change')) {
        throw rollbackFailed(functionArn, aliasName, previous, error)
      }
      // Conflicts each time: another writer is busy on the alias; leave it to them.
      if (attempt >= ROLLBACK_CONFLICT_ATTEMPTS) {
        const now = await releases.alias(functionArn, aliasName).catch(() => undefined)
        throw aliasMoved(aliasName, previous, newVersion, now)
      }
    }
    let now: CurrentAlias | undefined
    try {
      now = await releases.alias(functionArn, aliasName)
    } catch (error) {
      throw rollbackFailed(functionArn, aliasName, previous, error)
    }
    if (now && now.functionVersion === previous && Object.keys(now.weights).length === 0) {
      core.warning(`Alias ${aliasName} was put back on ${previous} meanwhile, by another change.`)
      return
    }
    if (!now || !(sameAlias(now, written) || (attempted && sameAlias(now, attempted)))) {
      throw aliasMoved(aliasName, previous, newVersion, now)
    }
    revisionId = now.revisionId
  }
  core.warning(`Alias ${aliasName} is back on ${previous} with no traffic to the new version.`)
}

/** How many conditional rollback writes may be refused before the alias is left to the other writer. */
const ROLLBACK_CONFLICT_ATTEMPTS = 3

function sameAlias(now: CurrentAlias, written: WrittenAlias): boolean {
  const weights = (w: Readonly<Record<string, number>>) =>
    JSON.stringify(Object.entries(w).sort(([a], [b]) => a.localeCompare(b)))
  return (
    now.functionVersion === written.version && weights(now.weights) === weights(written.weights)
  )
}

function describeAlias(alias: CurrentAlias | undefined): string {
  if (!alias) return 'deleted'
  const weights = Object.entries(alias.weights)
  return weights.length === 0
    ? `on version ${alias.functionVersion}`
    : `on version ${alias.functionVersion} with ${weights.map(([v, w]) => `${weightPercent(w)} to ${v}`).join(', ')}`
}

function aliasMoved(
  aliasName: string,
  previous: string,
  newVersion: string,
  now: CurrentAlias | undefined
): ActionError {
  return new ActionError(
    'rollout-alias-moved',
    `The rollout of alias ${aliasName} from ${previous} to ${newVersion} stopped: someone else changed the alias meanwhile (UpdateAlias refused this run's RevisionId), and it is now ${describeAlias(now)}. This run left it as it is: it does not undo another run's change.`,
    `Find out which run or person moved alias ${aliasName}; run deploys of one alias one at a time (a concurrency group on the workflow job). Deploy again if version ${newVersion} should still go out.`
  )
}

function rollbackFailed(
  functionArn: string,
  aliasName: string,
  previous: string,
  error: unknown
): ActionError {
  return new ActionError(
    'rollout-rollback-failed',
    `The rollout of alias ${aliasName} had to go back to ${previous}, but UpdateAlias failed: ${describeFailure(error)}.`,
    `Point the alias back by hand now: aws lambda update-alias --function-name ${functionArn} --name ${aliasName} --function-version ${previous} --routing-config AdditionalVersionWeights={}`
  )
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
