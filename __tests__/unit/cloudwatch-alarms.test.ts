import { beforeEach, describe, expect, it } from '@jest/globals'
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import { mockClient } from 'aws-sdk-client-mock'
import { createAlarmReader } from '../../src/adapters/cloudwatch.js'
import { ActionError } from '../../src/domain/errors.js'

const cloudwatch = mockClient(CloudWatchClient)

beforeEach(() => {
  cloudwatch.reset()
})

describe('createAlarmReader', () => {
  it('asks for metric and composite alarms by name, and reads every page', async () => {
    cloudwatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({
        MetricAlarms: [{ AlarmName: 'errors', StateValue: 'OK', StateReason: 'fine' }],
        NextToken: 'page-2'
      })
      .resolvesOnce({
        CompositeAlarms: [{ AlarmName: 'health', StateValue: 'ALARM', StateReason: 'child fired' }]
      })
    const states = await createAlarmReader(new CloudWatchClient({})).states(['errors', 'health'])
    expect(states).toEqual([
      { name: 'errors', state: 'OK', reason: 'fine' },
      { name: 'health', state: 'ALARM', reason: 'child fired' }
    ])
    const inputs = cloudwatch.commandCalls(DescribeAlarmsCommand).map(call => call.args[0].input)
    expect(inputs).toEqual([
      {
        AlarmNames: ['errors', 'health'],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: undefined
      },
      {
        AlarmNames: ['errors', 'health'],
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: 'page-2'
      }
    ])
  })

  it('makes no call when no alarm is named', async () => {
    expect(await createAlarmReader(new CloudWatchClient({})).states([])).toEqual([])
    expect(cloudwatch.calls()).toHaveLength(0)
  })

  it('names the IAM action when access is denied', async () => {
    const denied = Object.assign(new Error('not authorized to perform cloudwatch:DescribeAlarms'), {
      name: 'AccessDeniedException'
    })
    cloudwatch.on(DescribeAlarmsCommand).rejects(denied)
    const error = await createAlarmReader(new CloudWatchClient({}))
      .states(['errors'])
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(ActionError)
    expect((error as ActionError).id).toBe('access-denied')
    expect((error as ActionError).reason).toContain('cloudwatch:DescribeAlarms')
  })
})
