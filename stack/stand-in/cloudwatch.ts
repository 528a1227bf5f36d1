import { topology } from './topology.js'
import { recordKey } from './state.js'
import type { Caller } from './sigv4.js'
import { AwsError } from './wire.js'

/**
 * CloudWatch's alarms, as much as a rollout reads: DescribeAlarms by name, and a control call
 * that creates alarms and sets their state (as SetAlarmState does) during a test.
 *
 * Wire: @aws-sdk/client-cloudwatch 3.1164 (what package-lock.json pins) speaks JSON 1.0, not
 * the older Query protocol: POST / with `X-Amz-Target: GraniteServiceVersion20100801.<Operation>`,
 * `Content-Type: application/x-amz-json-1.0` and `x-amzn-query-mode: true` (its
 * runtimeConfig.shared.js: AwsJson1_0Protocol, serviceTarget GraniteServiceVersion20100801,
 * awsQueryCompatible). The SigV4 signing name is `monitoring` (the SDK's endpoint rule set).
 */

export const CLOUDWATCH_TARGET_PREFIX = 'GraniteServiceVersion20100801'

/** StateValue. Source: API reference, MetricAlarm / SetAlarmState. */
export const ALARM_STATES = ['OK', 'ALARM', 'INSUFFICIENT_DATA'] as const
export type AlarmStateValue = (typeof ALARM_STATES)[number]
export type AlarmType = 'MetricAlarm' | 'CompositeAlarm'

/** What a new alarm reports until it is first evaluated, as the console shows it. */
const INITIAL_STATE_REASON = 'Unchecked: Initial alarm creation'

/** DescribeAlarms limits. Source: API reference, DescribeAlarms (AlarmNames: at most 100 items
 * of 1-255 characters; MaxRecords 1-100, default 50). */
const MAX_ALARM_NAMES = 100
const MAX_ALARM_NAME_LENGTH = 255
const DEFAULT_MAX_RECORDS = 50

export interface AlarmRecord {
  readonly account: string
  readonly region: string
  readonly name: string
  readonly type: AlarmType
  stateValue: AlarmStateValue
  stateReason: string
  stateUpdated: number
  readonly configurationUpdated: number
}

export type AlarmStore = Map<string, AlarmRecord>

export class AlarmControlError extends Error {}

export function alarmArn(account: string, region: string, name: string): string {
  return `arn:${topology.partition}:cloudwatch:${region}:${account}:alarm:${name}`
}

/** The alarm names a DescribeAlarms request asks for (for authorization), or undefined for all. */
export function requestedAlarmNames(input: Record<string, unknown>): string[] | undefined {
  const names = input.AlarmNames
  if (!Array.isArray(names) || names.length === 0) return undefined
  return names.filter((name): name is string => typeof name === 'string')
}

/** Whether the request may return composite alarms: those need DescribeAlarms on `*` (API
 * reference, DescribeAlarms: "you must be signed on with the cloudwatch:DescribeAlarms
 * permission that is scoped to *"). */
export function asksForCompositeAlarms(input: Record<string, unknown>): boolean {
  return Array.isArray(input.AlarmTypes) && input.AlarmTypes.includes('CompositeAlarm')
}

export function createCloudWatch(alarms: AlarmStore) {
  const operations: Record<string, (input: Record<string, unknown>, caller: Caller) => unknown> = {
    // https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
    DescribeAlarms(input, caller) {
      const names = requestedAlarmNames(input)
      if (Array.isArray(input.AlarmNames) && input.AlarmNames.length > MAX_ALARM_NAMES) {
        throw validation(
          `1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must have length less than or equal to ${MAX_ALARM_NAMES}`
        )
      }
      if (names?.some(name => name.length < 1 || name.length > MAX_ALARM_NAME_LENGTH)) {
        throw validation(
          `1 validation error detected: Value at 'alarmNames' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to ${MAX_ALARM_NAME_LENGTH}, Member must have length greater than or equal to 1]`
        )
      }
      if (names && typeof input.AlarmNamePrefix === 'string') {
        // JSON 1.0 names the error by its shape (the model's InvalidParameterCombinationException,
        // Query code InvalidParameterCombination).
        throw new AwsError(
          'InvalidParameterCombinationException',
          'AlarmNames and AlarmNamePrefix cannot be used together.',
          400
        )
      }
      if (input.NextToken !== undefined && typeof input.NextToken !== 'string') {
        throw new AwsError('InvalidNextToken', 'The next token specified is invalid.', 400)
      }
      // Without AlarmTypes only metric alarms are returned (API reference, AlarmTypes).
      const types: unknown[] = Array.isArray(input.AlarmTypes) ? input.AlarmTypes : ['MetricAlarm']
      const prefix = typeof input.AlarmNamePrefix === 'string' ? input.AlarmNamePrefix : ''
      const state = typeof input.StateValue === 'string' ? input.StateValue : undefined
      const matching = [...alarms.values()]
        .filter(alarm => alarm.account === caller.account && alarm.region === caller.region)
        .filter(alarm => (names ? names.includes(alarm.name) : alarm.name.startsWith(prefix)))
        .filter(alarm => types.includes(alarm.type))
        .filter(alarm => state === undefined || alarm.stateValue === state)
        .sort((a, b) => a.name.localeCompare(b.name))
      const max = typeof input.MaxRecords === 'number' ? input.MaxRecords : DEFAULT_MAX_RECORDS
      const start = typeof input.NextToken === 'string' ? Number(input.NextToken) || 0 : 0
      const page = matching.slice(start, start + max)
      const next = start + max < matching.length ? String(start + max) : undefined
      return {
        MetricAlarms: page.filter(alarm => alarm.type === 'MetricAlarm').map(alarmShape),
        CompositeAlarms: page.filter(alarm => alarm.type === 'CompositeAlarm').map(alarmShape),
        ...(next ? { NextToken: next } : {})
      }
    }
  }
  return {
    has: (operation: string) => operation in operations,
    call: (operation: string, input: Record<string, unknown>, caller: Caller) =>
      operations[operation]!(input, caller)
  }
}

/** The members of MetricAlarm / CompositeAlarm a reader looks at; timestamps as epoch seconds
 * (JSON 1.0's timestamp format). */
function alarmShape(alarm: AlarmRecord) {
  return {
    AlarmName: alarm.name,
    AlarmArn: alarmArn(alarm.account, alarm.region, alarm.name),
    ActionsEnabled: true,
    StateValue: alarm.stateValue,
    StateReason: alarm.stateReason,
    StateUpdatedTimestamp: alarm.stateUpdated / 1000,
    AlarmConfigurationUpdatedTimestamp: alarm.configurationUpdated / 1000
  }
}

function validation(message: string): AwsError {
  return new AwsError('ValidationError', message, 400)
}

/** Control: creates (or replaces) an alarm; it starts INSUFFICIENT_DATA unless a state is given. */
export function seedAlarm(alarms: AlarmStore, body: unknown): AlarmRecord {
  const seed = (body ?? {}) as Record<string, unknown>
  const { account, region, name } = locate(seed)
  const type = seed.type ?? 'MetricAlarm'
  if (type !== 'MetricAlarm' && type !== 'CompositeAlarm') {
    throw new AlarmControlError('type must be MetricAlarm or CompositeAlarm')
  }
  const now = Date.now()
  const alarm: AlarmRecord = {
    account,
    region,
    name,
    type,
    stateValue: 'INSUFFICIENT_DATA',
    stateReason: INITIAL_STATE_REASON,
    stateUpdated: now,
    configurationUpdated: now
  }
  if (seed.state !== undefined) applyState(alarm, seed.state, seed.reason)
  alarms.set(recordKey(account, region, name), alarm)
  return alarm
}

/** Control: sets an alarm's state, as SetAlarmState does (StateValue and StateReason required). */
export function setAlarmState(alarms: AlarmStore, body: unknown): AlarmRecord {
  const request = (body ?? {}) as Record<string, unknown>
  const { account, region, name } = locate(request)
  const alarm = alarms.get(recordKey(account, region, name))
  if (!alarm) throw new AlarmControlError(`No alarm ${account}/${region}/${name}`)
  applyState(alarm, request.state, request.reason)
  return alarm
}

function applyState(alarm: AlarmRecord, state: unknown, reason: unknown): void {
  if (!ALARM_STATES.includes(state as AlarmStateValue)) {
    throw new AlarmControlError(`state must be one of ${ALARM_STATES.join(', ')}`)
  }
  // SetAlarmState: StateReason is required, 0-1023 characters (API reference).
  if (typeof reason !== 'string' || reason.length > 1023) {
    throw new AlarmControlError('reason (at most 1023 characters) is required with a state')
  }
  alarm.stateValue = state as AlarmStateValue
  alarm.stateReason = reason
  alarm.stateUpdated = Date.now()
}

function locate(value: Record<string, unknown>): {
  account: string
  region: string
  name: string
} {
  const { account, region, name } = value
  if (typeof account !== 'string' || typeof region !== 'string' || typeof name !== 'string') {
    throw new AlarmControlError('account, region and name are required')
  }
  if (name.length < 1 || name.length > MAX_ALARM_NAME_LENGTH) {
    throw new AlarmControlError(`name must be 1-${MAX_ALARM_NAME_LENGTH} characters`)
  }
  return { account, region, name }
}
