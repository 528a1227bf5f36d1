import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  PublishVersionCommand,
  UpdateFunctionCodeCommand,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import type { FunctionSeed } from '../../stack/stand-in/control-types.js'
import { invokeTarget } from '../../stack/stand-in/lambda-kinds.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import type { FunctionRecord } from '../../stack/stand-in/state.js'

/** Lambda Managed Instances (functions on a capacity provider) and durable functions in the
 * stand-in, through the real SDK client: $LATEST.PUBLISHED, publishing that provisions, the new
 * states, and the invokes Lambda refuses. Sources in stack/stand-in/lambda-kinds.ts. */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const PROVIDER = `arn:aws:lambda:${REGION}:${TOOLING}:capacity-provider:stand-in-provider`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let lambda: LambdaClient
let unique = 0

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  lambda = clientsFor(standIn.url, TOOLING).lambda
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

const LAMBDA_PULL_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    }
  ]
})

/** A function running image v1 of its own repository, with v2 pushed beside it. */
async function seedFunction(kind: Partial<FunctionSeed>) {
  unique += 1
  const name = `kinds-${unique}`
  await control.createRepository({
    account: TOOLING,
    region: REGION,
    name,
    policy: LAMBDA_PULL_POLICY
  })
  const v1 = registry.pushImage(HOST, name, { tag: 'v1', label: `${name}-1` })
  const v2 = registry.pushImage(HOST, name, { tag: 'v2', label: `${name}-2` })
  await control.createFunction({
    account: TOOLING,
    region: REGION,
    name,
    packageType: 'Image',
    imageUri: `${HOST}/${name}@${v1}`,
    ...kind
  })
  return { name, v1, v2, repository: `${HOST}/${name}` }
}

const configuration = (name: string, qualifier?: string) =>
  lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: qualifier }))

const settle = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

async function updateTo(name: string, imageUri: string) {
  await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: imageUri }))
  await settle(20)
}

describe('a function on a capacity provider (Lambda Managed Instances)', () => {
  it('shows CapacityProviderConfig, an ActiveNonInvocable $LATEST and an Active $LATEST.PUBLISHED with its code', async () => {
    const fn = await seedFunction({ managedInstances: { capacityProviderArn: PROVIDER } })
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(got.Configuration?.CapacityProviderConfig).toEqual({
      LambdaManagedInstancesCapacityProviderConfig: { CapacityProviderArn: PROVIDER }
    })
    expect(got.Configuration?.State).toBe('ActiveNonInvocable')
    const published = await configuration(fn.name, '$LATEST.PUBLISHED')
    expect(published).toMatchObject({
      Version: '$LATEST.PUBLISHED',
      State: 'Active',
      CodeSha256: fn.v1.replace('sha256:', ''),
      FunctionArn: `arn:aws:lambda:${REGION}:${TOOLING}:function:${fn.name}:$LATEST.PUBLISHED`
    })
  })

  it('publishes to $LATEST.PUBLISHED with PublishTo: Pending while it provisions, then Active with the new code', async () => {
    const fn = await seedFunction({
      managedInstances: { capacityProviderArn: PROVIDER, provisioningMs: 300 }
    })
    await updateTo(fn.name, `${fn.repository}:v2`)
    const answer = await lambda.send(
      new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' })
    )
    expect(answer).toMatchObject({ Version: '$LATEST.PUBLISHED', State: 'Pending' })
    expect(answer.StateReasonCode).toBe('Creating')
    await settle(350)
    const published = await configuration(fn.name, '$LATEST.PUBLISHED')
    expect(published.State).toBe('Active')
    expect(published.CodeSha256).toBe(fn.v2.replace('sha256:', ''))
    // $LATEST.PUBLISHED is not a numbered version: none was made.
    const numbered = await caught(configuration(fn.name, '1'))
    expect(numbered.name).toBe('ResourceNotFoundException')
  })

  it('provisions numbered versions too', async () => {
    const fn = await seedFunction({
      managedInstances: { capacityProviderArn: PROVIDER, provisioningMs: 300 }
    })
    await updateTo(fn.name, `${fn.repository}:v2`)
    const answer = await lambda.send(new PublishVersionCommand({ FunctionName: fn.name }))
    expect(answer).toMatchObject({ Version: '1', State: 'Pending' })
    await settle(350)
    expect((await configuration(fn.name, '1')).State).toBe('Active')
  })

  it('ends a publish the capacity provider cannot serve in Failed with the reason code', async () => {
    const fn = await seedFunction({
      managedInstances: {
        capacityProviderArn: PROVIDER,
        provisioningMs: 50,
        provisioningFailure: { reasonCode: 'InsufficientCapacity' }
      }
    })
    await updateTo(fn.name, `${fn.repository}:v2`)
    await lambda.send(
      new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' })
    )
    await settle(100)
    const published = await configuration(fn.name, '$LATEST.PUBLISHED')
    expect(published.State).toBe('Failed')
    expect(published.StateReasonCode).toBe('InsufficientCapacity')
    expect(published.StateReason).toBeTruthy()
  })

  it('publishes to $LATEST.PUBLISHED with UpdateFunctionCode PublishTo', async () => {
    const fn = await seedFunction({ managedInstances: { capacityProviderArn: PROVIDER } })
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}:v2`,
        PublishTo: 'LATEST_PUBLISHED'
      })
    )
    expect(answer.Version).toBe('$LATEST.PUBLISHED')
    expect(answer.CodeSha256).toBe(fn.v2.replace('sha256:', ''))
  })

  it('refuses an invoke of $LATEST: only published versions run', async () => {
    const fn = await seedFunction({ managedInstances: { capacityProviderArn: PROVIDER } })
    const error = await caught(
      lambda.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: '$LATEST' }))
    )
    expect(error.name).toBe('InvalidParameterValueException')
    expect(error.message).toContain('$LATEST.PUBLISHED')
  })

  it('refuses an invoke of a version still being provisioned', async () => {
    const fn = await seedFunction({
      managedInstances: { capacityProviderArn: PROVIDER, provisioningMs: 60_000 }
    })
    await updateTo(fn.name, `${fn.repository}:v2`)
    await lambda.send(
      new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' })
    )
    const error = await caught(lambda.send(new InvokeCommand({ FunctionName: fn.name })))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toContain('Pending')
  })

  it('has no $LATEST.PUBLISHED to invoke before anything was published', async () => {
    unique += 1
    const name = `kinds-${unique}`
    await control.createFunction({
      account: TOOLING,
      region: REGION,
      name,
      packageType: 'Image',
      managedInstances: { capacityProviderArn: PROVIDER }
    })
    const error = await caught(lambda.send(new InvokeCommand({ FunctionName: name })))
    expect(error.name).toBe('ResourceNotFoundException')
  })
})

describe('seeding a function kind (control API)', () => {
  it('refuses a provisioning failure without a known reason code or a reason', async () => {
    const error = await caught(
      control.createFunction({
        account: TOOLING,
        region: REGION,
        name: 'kinds-bad-seed',
        packageType: 'Image',
        managedInstances: {
          capacityProviderArn: PROVIDER,
          provisioningFailure: { reasonCode: 'NoSuchCode' }
        }
      })
    )
    expect(error.message).toContain('InsufficientCapacity')
  })

  it('refuses managedInstances without a capacity provider ARN', async () => {
    const error = await caught(
      control.createFunction({
        account: TOOLING,
        region: REGION,
        name: 'kinds-no-arn',
        packageType: 'Image',
        managedInstances: { capacityProviderArn: '' }
      })
    )
    expect(error.message).toContain('capacityProviderArn')
  })
})

describe('PublishTo on any other function', () => {
  it('is refused (only functions on a capacity provider have $LATEST.PUBLISHED)', async () => {
    const fn = await seedFunction({})
    const error = await caught(
      lambda.send(
        new PublishVersionCommand({ FunctionName: fn.name, PublishTo: 'LATEST_PUBLISHED' })
      )
    )
    expect(error.name).toBe('InvalidParameterValueException')
  })
})

describe('a durable function', () => {
  it('shows its DurableConfig', async () => {
    const fn = await seedFunction({ durableConfig: { ExecutionTimeout: 3600 } })
    expect((await configuration(fn.name)).DurableConfig).toEqual({ ExecutionTimeout: 3600 })
  })

  it('refuses an unqualified invoke and one of $LATEST', async () => {
    const fn = await seedFunction({ durableConfig: { ExecutionTimeout: 3600 } })
    for (const qualifier of [undefined, '$LATEST']) {
      const error = await caught(
        lambda.send(new InvokeCommand({ FunctionName: fn.name, Qualifier: qualifier }))
      )
      expect(error.name).toBe('InvalidParameterValueException')
      expect(error.message).toContain('version or alias')
    }
  })
})

describe('where an invoke goes (lambda-kinds.ts invokeTarget)', () => {
  const record = (kind: Partial<FunctionRecord>) =>
    ({
      account: TOOLING,
      region: REGION,
      name: 'f',
      packageType: 'Image',
      versions: [],
      aliases: {},
      ...kind
    }) as unknown as FunctionRecord
  const published = {
    version: '$LATEST.PUBLISHED',
    code: { codeSha256: 'ab', codeSize: 0 },
    settings: {} as never,
    lastModified: '',
    revisionId: 'r',
    description: ''
  }

  it('sends an unqualified invoke of a Managed Instances function to $LATEST.PUBLISHED', () => {
    const fn = record({
      managedInstances: { capacityProviderArn: PROVIDER },
      latestPublished: published
    })
    expect(invokeTarget(fn, undefined, undefined)).toBe(published)
  })

  it('lets a durable function with AllowInvokeLatest run $LATEST', () => {
    const fn = record({ durableConfig: { AllowInvokeLatest: true } })
    expect(invokeTarget(fn, undefined, undefined)).toBeUndefined()
  })

  it('lets a durable function run a version', () => {
    const fn = record({ durableConfig: {} })
    expect(invokeTarget(fn, '3', published)).toBe(published)
  })
})
