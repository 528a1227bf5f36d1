import { ActionError } from './errors.js'

/**
 * A gradual move of an alias to a new version, as the rollout input writes it:
 * `canary 10% 5m` sends 10 % of the alias's traffic to the new version for 5 minutes, then all
 * of it; `linear 10% every 1m` adds 10 % every minute until all of it goes there.
 */
export type RolloutPlan =
  | { readonly kind: 'canary'; readonly percent: number; readonly holdSeconds: number }
  | { readonly kind: 'linear'; readonly percent: number; readonly holdSeconds: number }

/** One shift: the share (0 < weight ≤ 1) the new version gets, then how long to watch it. */
export interface RolloutStep {
  readonly weight: number
  /** 0 on the last step (weight 1): once all traffic is moved there is nothing to watch for. */
  readonly holdSeconds: number
}

export const ROLLOUT_SYNTAX = '"canary PERCENT% DURATION" or "linear PERCENT% every DURATION"'
const ROLLOUT_EXAMPLES =
  'e.g. "canary 10% 5m" (10% for 5 minutes, then 100%) or "linear 10% every 1m" (10% more every minute); DURATION is a whole number of seconds (s), minutes (m) or hours (h).'

const PERCENT = String.raw`(\d{1,3}(?:\.\d{1,2})?)%`
const DURATION = String.raw`(\d{1,5})(s|m|h)`
const CANARY = new RegExp(String.raw`^canary\s+${PERCENT}\s+${DURATION}$`, 'i')
const LINEAR = new RegExp(String.raw`^linear\s+${PERCENT}\s+every\s+${DURATION}$`, 'i')
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 }

/**
 * A rollout that outlives the job is cut off by the runner without a rollback, and GitHub's
 * hosted runners stop a job after 6 hours ("Usage limits", GitHub Actions docs). Self-hosted
 * runners allow more, but a plan this long is more likely a typo (5h for 5m) than an intent.
 */
export const MAX_ROLLOUT_SECONDS = 6 * 3600

/** Parses the rollout input; undefined when it is empty. */
export function parseRolloutPlan(value: string): RolloutPlan | undefined {
  const text = value.trim().replace(/\s+/g, ' ')
  if (text === '') return undefined
  const match = CANARY.exec(text) ?? LINEAR.exec(text)
  if (!match) {
    throw new ActionError(
      'invalid-rollout',
      `rollout "${value}" is not a rollout plan.`,
      `Write ${ROLLOUT_SYNTAX}, ${ROLLOUT_EXAMPLES}`
    )
  }
  const [, percentText, amount, unit] = match as unknown as [string, string, string, string]
  const percent = Number(percentText)
  const holdSeconds = Number(amount) * UNIT_SECONDS[unit.toLowerCase()]!
  if (!(percent > 0 && percent < 100)) {
    throw new ActionError(
      'invalid-rollout',
      `rollout "${value}": the share ${percentText}% must be above 0% and below 100%.`,
      `Give the share of traffic per step, ${ROLLOUT_EXAMPLES} To move all traffic at once, leave rollout empty.`
    )
  }
  if (holdSeconds < 1) {
    throw new ActionError(
      'invalid-rollout',
      `rollout "${value}": the duration must be at least 1 second.`,
      `Give how long each step is watched, ${ROLLOUT_EXAMPLES}`
    )
  }
  const kind = match[0].toLowerCase().startsWith('canary') ? 'canary' : 'linear'
  const plan: RolloutPlan = { kind, percent, holdSeconds }
  const total = rolloutSeconds(plan)
  if (total > MAX_ROLLOUT_SECONDS) {
    throw new ActionError(
      'invalid-rollout',
      `rollout "${value}" takes ${total} s, more than the ${MAX_ROLLOUT_SECONDS / 3600} hours a job on a GitHub-hosted runner may run; a job cut off mid-rollout is not rolled back.`,
      'Use shorter or fewer steps.'
    )
  }
  return plan
}

/** The shifts in order; the last one always sends all traffic (weight 1). */
export function rolloutSteps(plan: RolloutPlan): RolloutStep[] {
  if (plan.kind === 'canary') {
    return [
      { weight: asWeight(plan.percent), holdSeconds: plan.holdSeconds },
      { weight: 1, holdSeconds: 0 }
    ]
  }
  const steps: RolloutStep[] = []
  // In hundredths of a percent, so that 10% × 3 is 0.3, not 0.30000000000000004.
  const stepBasisPoints = Math.round(plan.percent * 100)
  for (let share = stepBasisPoints; share < 10_000; share += stepBasisPoints) {
    steps.push({ weight: share / 10_000, holdSeconds: plan.holdSeconds })
  }
  steps.push({ weight: 1, holdSeconds: 0 })
  return steps
}

/** How long the plan watches in all (the shifts themselves take a call each). */
export function rolloutSeconds(plan: RolloutPlan): number {
  return rolloutSteps(plan).reduce((sum, step) => sum + step.holdSeconds, 0)
}

export function describeRolloutPlan(plan: RolloutPlan): string {
  const duration = formatSeconds(plan.holdSeconds)
  return plan.kind === 'canary'
    ? `canary ${plan.percent}% for ${duration}, then 100%`
    : `linear ${plan.percent}% more every ${duration} until 100%`
}

function asWeight(percent: number): number {
  return Math.round(percent * 100) / 10_000
}

export function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}

/** A CloudWatch alarm's state as DescribeAlarms reports it. */
export interface AlarmState {
  readonly name: string
  /** OK, ALARM or INSUFFICIENT_DATA (API reference, MetricAlarm.StateValue). */
  readonly state: string
  readonly reason: string
}

/** What a health check (e.g. an invoke of the new version) answers at each step. */
export interface HealthVerdict {
  readonly ok: boolean
  readonly reason: string
}

/** Why the rollout must go back, or undefined to go on. */
export interface RollbackCause {
  readonly kind: 'alarm' | 'health-check' | 'cancelled' | 'no-data'
  readonly description: string
}

/**
 * Only ALARM rolls back. INSUFFICIENT_DATA is what a new alarm, or one on a metric that a
 * version with little traffic has not yet emitted, reports: rolling back on it would stop
 * almost every canary that has few requests.
 */
export function rollbackDecision(
  alarms: readonly AlarmState[],
  health?: HealthVerdict
): RollbackCause | undefined {
  const firing = alarms.filter(alarm => alarm.state === 'ALARM')
  if (firing.length > 0) {
    return {
      kind: 'alarm',
      description: firing
        .map(alarm => `alarm ${alarm.name} is in ALARM (${alarm.reason || 'no reason given'})`)
        .join('; ')
    }
  }
  if (health && !health.ok) {
    return {
      kind: 'health-check',
      description: `the health check failed (${health.reason || 'no reason given'})`
    }
  }
  return undefined
}

/** The alarm names the workflow gave that CloudWatch does not know. */
export function missingAlarms(
  names: readonly string[],
  found: readonly AlarmState[]
): readonly string[] {
  const known = new Set(found.map(alarm => alarm.name))
  return names.filter(name => !known.has(name))
}

/** CloudWatch's state for an alarm that cannot tell OK from ALARM (MetricAlarm.StateValue). */
export const INSUFFICIENT_DATA = 'INSUFFICIENT_DATA'

/**
 * Of the alarms without data at every read so far, those still without data after this read.
 * An alarm missing from the read (deleted meanwhile) judged nothing either, and stays.
 */
export function alarmsStillWithoutData(
  withoutData: readonly string[],
  read: readonly AlarmState[]
): string[] {
  const judged = new Set(
    read.filter(alarm => alarm.state !== INSUFFICIENT_DATA).map(alarm => alarm.name)
  )
  return withoutData.filter(name => !judged.has(name))
}

/**
 * The policy for an alarm that stayed INSUFFICIENT_DATA at every read of the whole rollout.
 * One INSUFFICIENT_DATA read is normal (a new alarm, a metric the canary's few requests have not
 * produced yet) and never rolls back on its own (see rollbackDecision). But an alarm that never
 * left it judged nothing the rollout did, which is what a mistyped metric name or dimension
 * looks like, and the rollout's safety rested on it. Undefined when every alarm had data.
 */
export function noDataCause(
  withoutData: readonly string[],
  reads: number
): RollbackCause | undefined {
  if (withoutData.length === 0) return undefined
  const names = withoutData.join(', ')
  const one = withoutData.length === 1
  return {
    kind: 'no-data',
    description: `alarm${one ? '' : 's'} ${names} stayed ${INSUFFICIENT_DATA} at all ${reads} read${reads === 1 ? '' : 's'} of the rollout, so ${one ? 'it' : 'they'} watched nothing (a metric name or dimension that matches no data looks like this)`
  }
}
