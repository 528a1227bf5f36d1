import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { ecrPolicyLayout } from '../../stack/stand-in/ecr-policy.js'
import {
  DescribeRepositoriesCommand,
  GetRepositoryPolicyCommand,
  SetRepositoryPolicyCommand
} from '@aws-sdk/client-ecr'
import {
  GetFunctionCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand
} from '@aws-sdk/client-lambda'
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** Each fault kind, injected through the control API and seen through the real SDK clients
 * (one attempt each, so the SDK's retries do not hide them). */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let clients: StandInClients
let digest: string

type SdkError = Error & { $fault?: string; $metadata?: { httpStatusCode?: number } }

async function caught(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise
  } catch (error) {
    return error as SdkError
  }
  throw new Error('expected the call to fail')
}

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  clients = clientsFor(standIn.url, TOOLING)
  digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
  // Lambda may pull only what the repository policy lets it, in its own account too.
  await control.createRepository({
    account: TOOLING,
    region: REGION,
    name: 'app',
    policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        }
      ]
    })
  })
  await control.createFunction({
    account: TOOLING,
    region: REGION,
    name: 'app',
    packageType: 'Image'
  })
})

const describeRepositories = () =>
  clients.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }))
const getFunction = () => clients.lambda.send(new GetFunctionCommand({ FunctionName: 'app' }))
const whoAmI = () => clients.sts.send(new GetCallerIdentityCommand({}))
const updateCode = () =>
  clients.lambda.send(
    new UpdateFunctionCodeCommand({ FunctionName: 'app', ImageUri: `${HOST}/app@${digest}` })
  )

describe('throttle', () => {
  it('makes ECR answer ThrottlingException', async () => {
    await control.injectFault({
      service: 'ecr',
      operation: 'DescribeRepositories',
      kind: 'throttle'
    })
    const error = await caught(describeRepositories())
    expect(error.name).toBe('ThrottlingException')
    expect(error.message).toBe('Rate exceeded')
  })

  it('makes Lambda answer TooManyRequestsException with HTTP 429 and a Reason', async () => {
    await control.injectFault({ service: 'lambda', operation: 'GetFunction', kind: 'throttle' })
    const error = (await caught(getFunction())) as SdkError & {
      Reason?: string
      retryAfterSeconds?: string
    }
    expect(error.name).toBe('TooManyRequestsException')
    expect(error.$metadata?.httpStatusCode).toBe(429)
    expect(error.Reason).toBe('CallerRateLimitExceeded')
    expect(error.retryAfterSeconds).toBe('1')
  })

  it('makes STS answer Throttling', async () => {
    await control.injectFault({ service: 'sts', operation: 'GetCallerIdentity', kind: 'throttle' })
    expect((await caught(whoAmI())).name).toBe('Throttling')
  })

  it('is retried away by an SDK client with retries left', async () => {
    await control.injectFault({
      service: 'ecr',
      operation: 'DescribeRepositories',
      kind: 'throttle'
    })
    const patient = clientsFor(standIn.url, TOOLING, { maxAttempts: 3 })
    const answer = await patient.ecr.send(
      new DescribeRepositoriesCommand({ repositoryNames: ['app'] })
    )
    expect(answer.$metadata.attempts).toBe(2)
  })
})

describe('server-error', () => {
  it.each([
    ['ecr', 'DescribeRepositories', describeRepositories, 'ServerException'],
    ['lambda', 'GetFunction', getFunction, 'ServiceException'],
    ['sts', 'GetCallerIdentity', whoAmI, 'InternalFailure']
  ] as const)('makes %s answer a server fault', async (service, operation, call, name) => {
    await control.injectFault({ service, operation, kind: 'server-error' })
    const error = await caught(call())
    expect(error.name).toBe(name)
    expect(error.$metadata?.httpStatusCode).toBe(500)
    expect(error.$fault).toBe('server')
  })
})

describe('slow', () => {
  it('delays the answer, then answers normally', async () => {
    await control.injectFault({
      service: 'lambda',
      operation: 'GetFunction',
      kind: 'slow',
      delayMs: 300
    })
    const started = Date.now()
    const answer = await getFunction()
    expect(Date.now() - started).toBeGreaterThanOrEqual(290)
    expect(answer.Configuration?.FunctionName).toBe('app')
  })
})

describe('conflict', () => {
  it('makes Lambda answer ResourceConflictException naming the function', async () => {
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'conflict'
    })
    const error = await caught(updateCode())
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toContain(`arn:aws:lambda:${REGION}:${TOOLING}:function:app`)
    expect(error.$metadata?.httpStatusCode).toBe(409)
  })

  it('is refused for a service that has no such error', async () => {
    await expect(
      control.injectFault({ service: 'ecr', operation: '*', kind: 'conflict' })
    ).rejects.toThrow(/does not exist for ecr/)
  })
})

describe('update-failed', () => {
  it('accepts the update, then ends it Failed with the given reason and code', async () => {
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      reason: 'The image manifest or layer media type is not supported.',
      reasonCode: 'ImageAccessDenied'
    })
    const accepted = await updateCode()
    expect(accepted.LastUpdateStatus).toBe('InProgress')
    const live = await getFunction()
    expect(live.Configuration).toMatchObject({
      LastUpdateStatus: 'Failed',
      LastUpdateStatusReason: 'The image manifest or layer media type is not supported.',
      LastUpdateStatusReasonCode: 'ImageAccessDenied'
    })
  })

  it('defaults the reason code to InvalidImage and fires only on the named operation', async () => {
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed'
    })
    await clients.lambda.send(
      new UpdateFunctionConfigurationCommand({ FunctionName: 'app', Description: 'x' })
    )
    expect((await getFunction()).Configuration?.LastUpdateStatus).toBe('Successful')
    await updateCode()
    expect((await getFunction()).Configuration?.LastUpdateStatusReasonCode).toBe('InvalidImage')
  })
})

describe('policy-race', () => {
  it('replaces the policy right after SetRepositoryPolicy succeeds', async () => {
    const theirs =
      '{"Version":"2012-10-17","Statement":[{"Sid":"Theirs","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}'
    const ours =
      '{"Version":"2012-10-17","Statement":[{"Sid":"Ours","Effect":"Allow","Principal":"*","Action":"ecr:BatchGetImage"}]}'
    await control.injectFault({
      service: 'ecr',
      operation: 'SetRepositoryPolicy',
      kind: 'policy-race',
      policy: theirs
    })
    const answer = await clients.ecr.send(
      new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: ours })
    )
    expect(answer.policyText).toBe(ecrPolicyLayout(ours))
    const now = await clients.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'app' }))
    expect(now.policyText).toBe(theirs)
  })
})

describe('how faults are counted and matched', () => {
  it('fires `times` times, then stops', async () => {
    await control.injectFault({
      service: 'lambda',
      operation: 'GetFunction',
      kind: 'throttle',
      times: 2
    })
    expect((await caught(getFunction())).name).toBe('TooManyRequestsException')
    expect((await caught(getFunction())).name).toBe('TooManyRequestsException')
    await expect(getFunction()).resolves.toBeDefined()
  })

  it('matches every operation of the service with "*" and no other service', async () => {
    await control.injectFault({ service: 'ecr', operation: '*', kind: 'server-error', times: 2 })
    await expect(getFunction()).resolves.toBeDefined()
    expect((await caught(describeRepositories())).name).toBe('ServerException')
    expect(
      (await caught(clients.ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'app' }))))
        .name
    ).toBe('ServerException')
  })

  it('logs the faulted calls with their status', async () => {
    await control.injectFault({ service: 'lambda', operation: 'GetFunction', kind: 'throttle' })
    await control.clearCalls()
    await caught(getFunction())
    await getFunction()
    expect((await control.calls()).map(call => call.status)).toEqual([429, 200])
  })

  it.each([
    ['an unknown kind', { service: 'lambda', operation: '*', kind: 'explode' }],
    ['an unknown service', { service: 's3', operation: '*', kind: 'throttle' }],
    ['zero times', { service: 'lambda', operation: '*', kind: 'throttle', times: 0 }],
    [
      'a policy race without a policy',
      { service: 'ecr', operation: 'SetRepositoryPolicy', kind: 'policy-race' }
    ]
  ])('refuses %s', async (_case, fault) => {
    const response = await fetch(`${standIn.url}/_stand-in/faults`, {
      method: 'POST',
      body: JSON.stringify(fault)
    })
    expect(response.status).toBe(400)
  })
})

describe('several faults armed at once', () => {
  it('arms a list, each on its own operation and count, and shows how often each fired', async () => {
    const armed = await control.injectFaults([
      { service: 'lambda', operation: 'GetFunction', kind: 'throttle', times: 2 },
      { service: 'ecr', operation: 'DescribeRepositories', kind: 'server-error' },
      { service: 'sts', operation: 'GetCallerIdentity', kind: 'throttle', times: 3 }
    ])
    expect(armed.map(fault => [fault.id, fault.remaining, fault.fired])).toEqual([
      [1, 2, 0],
      [2, 1, 0],
      [3, 3, 0]
    ])
    expect((await caught(getFunction())).name).toBe('TooManyRequestsException')
    expect((await caught(describeRepositories())).name).toBe('ServerException')
    expect((await caught(getFunction())).name).toBe('TooManyRequestsException')
    await expect(getFunction()).resolves.toBeDefined()
    await expect(describeRepositories()).resolves.toBeDefined()
    expect((await caught(whoAmI())).name).toBe('Throttling')
    expect(
      (await control.faults()).map(fault => [fault.spec.operation, fault.remaining, fault.fired])
    ).toEqual([
      ['GetFunction', 0, 2],
      ['DescribeRepositories', 0, 1],
      ['GetCallerIdentity', 2, 1]
    ])
  })

  it('lists spent faults until the plan is cleared, then numbers from 1 again', async () => {
    await control.injectFault({ service: 'lambda', operation: 'GetFunction', kind: 'throttle' })
    await caught(getFunction())
    expect(await control.faults()).toEqual([
      {
        id: 1,
        spec: { service: 'lambda', operation: 'GetFunction', kind: 'throttle', times: 1 },
        remaining: 0,
        fired: 1
      }
    ])
    await control.clearFaults()
    expect(await control.faults()).toEqual([])
    const [again] = await control.injectFaults([
      { service: 'ecr', operation: '*', kind: 'throttle' }
    ])
    expect(again?.id).toBe(1)
  })

  it('lets a later fault on the same operation fire once the earlier one is spent', async () => {
    await control.injectFaults([
      { service: 'lambda', operation: 'GetFunction', kind: 'server-error' },
      { service: 'lambda', operation: 'GetFunction', kind: 'throttle' }
    ])
    expect((await caught(getFunction())).name).toBe('ServiceException')
    expect((await caught(getFunction())).name).toBe('TooManyRequestsException')
    await expect(getFunction()).resolves.toBeDefined()
    expect((await control.faults()).map(fault => fault.fired)).toEqual([1, 1])
  })

  it('arms none of a list when one of its faults is invalid, and says which', async () => {
    await expect(
      control.injectFaults([
        { service: 'lambda', operation: 'GetFunction', kind: 'throttle' },
        { service: 'ecr', operation: 'UpdateFunctionCode', kind: 'conflict' }
      ])
    ).rejects.toThrow(/fault 2: a conflict fault does not exist for ecr/)
    expect(await control.faults()).toEqual([])
    await expect(getFunction()).resolves.toBeDefined()
  })

  it('refuses an empty list', async () => {
    await expect(control.injectFaults([])).rejects.toThrow(/at least one fault/)
  })
})
