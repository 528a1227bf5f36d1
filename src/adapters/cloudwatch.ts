import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import type { AlarmState } from '../domain/rollout-plan.js'
import { explainAwsError } from './aws-errors.js'

/** The CloudWatch alarms a rollout watches. */
export interface AlarmReader {
  /** The state of each named alarm that exists (metric and composite alarms alike). */
  states(names: readonly string[]): Promise<AlarmState[]>
}

/** DescribeAlarms takes at most 100 AlarmNames (API reference); inputs.ts keeps to that. */
export function createAlarmReader(client: CloudWatchClient): AlarmReader {
  return {
    async states(names) {
      if (names.length === 0) return []
      const found: AlarmState[] = []
      let nextToken: string | undefined
      try {
        do {
          const answer = await client.send(
            new DescribeAlarmsCommand({
              AlarmNames: [...names],
              // Without AlarmTypes only metric alarms come back (API reference, AlarmTypes).
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              NextToken: nextToken
            })
          )
          for (const alarm of [...(answer.MetricAlarms ?? []), ...(answer.CompositeAlarms ?? [])]) {
            found.push({
              name: alarm.AlarmName ?? '',
              state: alarm.StateValue ?? '',
              reason: alarm.StateReason ?? ''
            })
          }
          nextToken = answer.NextToken
        } while (nextToken)
      } catch (error) {
        throw explainAwsError(error, 'cloudwatch:DescribeAlarms', `alarms ${names.join(', ')}`)
      }
      return found
    }
  }
}
