import { beforeEach, describe, expect, it } from '@jest/globals'
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch'
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr'
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts'
import { mockClient } from 'aws-sdk-client-mock'
import { createAwsServices } from '../../src/adapters/aws-clients.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'

// ECR, STS and CloudWatch are loaded at their first call (start-up, issue 25): these pin that a
// service handed out before its load answers exactly as one made with its client at hand.
const ecrMock = mockClient(ECRClient)
const stsMock = mockClient(STSClient)
const cloudWatchMock = mockClient(CloudWatchClient)
const env = { AWS_REGION: 'us-east-1' }
const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')

beforeEach(() => {
  ecrMock.reset()
  stsMock.reset()
  cloudWatchMock.reset()
})

describe('AWS services loaded at their first call', () => {
  it('reach ECR from a registry handed out before ECR was loaded', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [{ repositoryName: 'app', imageTagMutability: 'IMMUTABLE' }]
    })
    const registry = createAwsServices(env).registry('us-east-1')
    await expect(registry.tagMutability(repository)).resolves.toMatchObject({
      setting: 'IMMUTABLE'
    })
    await expect(registry.repositoryExists(repository)).resolves.toBe(true)
    expect(ecrMock.commandCalls(DescribeRepositoriesCommand)[0]!.args[0].input).toEqual({
      registryId: '111111111111',
      repositoryNames: ['app']
    })
  })

  it('pass an ECR error on from the loaded service unchanged', async () => {
    ecrMock.on(DescribeRepositoriesCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: ecr:DescribeRepositories'), {
        name: 'AccessDeniedException'
      })
    )
    await expect(
      createAwsServices(env).registry('us-east-1').tagMutability(repository)
    ).rejects.toMatchObject({ id: 'access-denied' })
  })

  it('can be awaited like any other value (a service is not a promise)', async () => {
    const services = createAwsServices(env)
    const registry = services.registry('us-east-1')
    expect(await Promise.resolve(registry)).toBe(registry)
    expect(ecrMock.calls()).toHaveLength(0)
  })

  it('ask STS for the caller account once, however often it is asked', async () => {
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: '222222222222' })
    const services = createAwsServices(env)
    const answers = await Promise.all([services.callerAccount(), services.callerAccount()])
    expect(answers).toEqual(['222222222222', '222222222222'])
    expect(stsMock.commandCalls(GetCallerIdentityCommand)).toHaveLength(1)
    expect(stsMock.commandCalls(AssumeRoleCommand)).toHaveLength(0)
  })

  it('read CloudWatch alarms through a reader handed out before CloudWatch was loaded', async () => {
    cloudWatchMock.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'errors', StateValue: 'ALARM' }]
    })
    const alarms = createAwsServices(env).alarms('us-east-1')
    await expect(alarms.states(['errors'])).resolves.toEqual([
      { name: 'errors', state: 'ALARM', reason: '' }
    ])
    expect(cloudWatchMock.commandCalls(DescribeAlarmsCommand)[0]!.args[0].input).toMatchObject({
      AlarmNames: ['errors']
    })
  })
})
