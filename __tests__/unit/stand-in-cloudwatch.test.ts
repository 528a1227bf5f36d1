import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch'
import {
  CreateAliasCommand,
  GetAliasCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import { createAlarmReader } from '../../src/adapters/cloudwatch.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** The stand-in's CloudWatch (DescribeAlarms, alarms set through the control API) and the
 * alias routing a rollout writes, through the real SDK clients and the action's own adapter. */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const USER = `arn:aws:iam::${TOOLING}:user/stand-in`

let standIn: StandIn
let control: StandInControl
let cloudwatch: CloudWatchClient
let lambda: LambdaClient
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0, registry: new MemoryRegistry() })
  control = new StandInControl(standIn.url)
  const clients = clientsFor(standIn.url, TOOLING)
  cloudwatch = clients.cloudwatch
  lambda = clients.lambda
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
})

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

const alarm = (name: string) => ({ account: TOOLING, region: REGION, name })

describe('DescribeAlarms', () => {
  it('answers the named alarms with their state and reason; a new alarm is INSUFFICIENT_DATA', async () => {
    await control.createAlarm(alarm('errors'))
    await control.createAlarm({ ...alarm('latency'), state: 'OK', reason: 'fine' })
    await control.createAlarm(alarm('other'))
    const answer = await cloudwatch.send(
      new DescribeAlarmsCommand({ AlarmNames: ['errors', 'latency', 'missing'] })
    )
    expect(
      answer.MetricAlarms?.map(a => [a.AlarmName, a.StateValue, a.StateReason, a.AlarmArn])
    ).toEqual([
      [
        'errors',
        'INSUFFICIENT_DATA',
        'Unchecked: Initial alarm creation',
        `arn:aws:cloudwatch:${REGION}:${TOOLING}:alarm:errors`
      ],
      ['latency', 'OK', 'fine', `arn:aws:cloudwatch:${REGION}:${TOOLING}:alarm:latency`]
    ])
    expect(answer.MetricAlarms?.[0]?.StateUpdatedTimestamp).toBeInstanceOf(Date)
  })

  it('shows a state set through the control API, as SetAlarmState sets it', async () => {
    await control.createAlarm(alarm('errors'))
    await control.setAlarmState({ ...alarm('errors'), state: 'ALARM', reason: 'Threshold Crossed' })
    const states = await createAlarmReader(cloudwatch).states(['errors'])
    expect(states).toEqual([{ name: 'errors', state: 'ALARM', reason: 'Threshold Crossed' }])
  })

  it('returns composite alarms only when AlarmTypes asks for them', async () => {
    await control.createAlarm({ ...alarm('health'), type: 'CompositeAlarm' })
    const metricOnly = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['health'] }))
    expect(metricOnly.CompositeAlarms ?? []).toEqual([])
    const both = await createAlarmReader(cloudwatch).states(['health'])
    expect(both.map(a => a.name)).toEqual(['health'])
  })

  it('keeps alarms per region', async () => {
    await control.createAlarm({ ...alarm('errors'), region: 'eu-west-1' })
    expect(await createAlarmReader(cloudwatch).states(['errors'])).toEqual([])
  })

  it('refuses AlarmNames with AlarmNamePrefix, and more than 100 names', async () => {
    const both = await caught(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['a'], AlarmNamePrefix: 'a' }))
    )
    expect(both.name).toBe('InvalidParameterCombinationException')
    const many = await caught(
      cloudwatch.send(
        new DescribeAlarmsCommand({ AlarmNames: Array.from({ length: 101 }, (_, i) => `a${i}`) })
      )
    )
    expect(many.message).toContain('less than or equal to 100')
  })

  it('needs cloudwatch:DescribeAlarms on the named alarms, and on * for composite alarms', async () => {
    await control.createAlarm(alarm('errors'))
    await control.setIdentityPolicies(USER, {
      Alarms: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: 'cloudwatch:DescribeAlarms',
            Resource: `arn:aws:cloudwatch:${REGION}:${TOOLING}:alarm:errors`
          }
        ]
      }
    })
    const metric = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['errors'] }))
    expect(metric.MetricAlarms?.map(a => a.AlarmName)).toEqual(['errors'])
    const other = await caught(
      cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: ['latency'] }))
    )
    expect(other.name).toBe('AccessDeniedException')
    const composite = await caught(createAlarmReader(cloudwatch).states(['errors']))
    expect(composite.message).toContain('cloudwatch:DescribeAlarms')
  })
})

describe('alias routing as a rollout writes it', () => {
  /** A function with published versions 1 and 2, and alias live on 1. */
  async function functionWithTwoVersions(name: string): Promise<void> {
    await control.createFunction({ account: TOOLING, region: REGION, name, packageType: 'Image' })
    await lambda.send(new PublishVersionCommand({ FunctionName: name }))
    await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: name,
        Environment: { Variables: { RELEASE: '2' } }
      })
    )
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 10, minDelay: 1 },
      { FunctionName: name }
    )
    expect((await lambda.send(new PublishVersionCommand({ FunctionName: name }))).Version).toBe('2')
    await lambda.send(
      new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' })
    )
  }

  const update = (name: string, version: string, weights: Record<string, number>) =>
    lambda.send(
      new UpdateAliasCommand({
        FunctionName: name,
        Name: 'live',
        FunctionVersion: version,
        RoutingConfig: { AdditionalVersionWeights: weights }
      })
    )

  it('shifts weight step by step, then moves the version and clears the routing', async () => {
    await functionWithTwoVersions('routed')
    await update('routed', '1', { '2': 0.1 })
    const split = await lambda.send(new GetAliasCommand({ FunctionName: 'routed', Name: 'live' }))
    expect(split).toMatchObject({
      FunctionVersion: '1',
      RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } }
    })
    await update('routed', '2', {})
    const moved = await lambda.send(new GetAliasCommand({ FunctionName: 'routed', Name: 'live' }))
    expect(moved.FunctionVersion).toBe('2')
    expect(moved.RoutingConfig).toBeUndefined()
  })

  it.each([
    ['two additional versions', '1', { '2': 0.1, '3': 0.1 }, 'InvalidParameterValueException'],
    ['a weight above 1', '1', { '2': 1.5 }, 'ValidationException'],
    ['a weight on the primary version', '2', { '2': 0.5 }, 'InvalidParameterValueException'],
    ['a weight on $LATEST', '1', { $LATEST: 0.5 }, 'ValidationException'],
    ['a weight on a version that does not exist', '1', { '9': 0.5 }, 'ResourceNotFoundException']
  ])('refuses %s', async (_what, version, weights, error) => {
    const name = `bad-${(unique += 1)}`
    await functionWithTwoVersions(name)
    const refused = await caught(update(name, version, weights))
    expect(refused.name).toBe(error)
  })
})
