import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
  waitUntilFunctionUpdatedV2,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** Lambda's side: the update state machine, the ImageUri checks, names, versions and aliases,
 * all through the real SDK client. Images come from an in-memory registry. */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const REGION = 'us-east-1'
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const EU_HOST = `${TOOLING}.dkr.ecr.eu-west-1.amazonaws.com`

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

async function caught(
  promise: Promise<unknown>
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

/** The repository policy Lambda needs in its own account too (Knowledge Center
 * "lambda-ecr-image", same account). */
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

/** A repository with one pushed image that Lambda may pull, and an Image function in the same
 * account. */
async function seedImageFunction(
  options: { packageType?: 'Image' | 'Zip'; architecture?: string } = {}
) {
  unique += 1
  const name = `fn-${unique}`
  await control.createRepository({
    account: TOOLING,
    region: REGION,
    name,
    policy: LAMBDA_PULL_POLICY
  })
  await control.createFunction({
    account: TOOLING,
    region: REGION,
    name,
    packageType: options.packageType ?? 'Image'
  })
  const digest = registry.pushImage(HOST, name, {
    tag: 'v1',
    architecture: options.architecture,
    label: name
  })
  return { name, digest, repository: `${HOST}/${name}` }
}

describe('UpdateFunctionCode', () => {
  it('resolves a tag to the digest: CodeSha256 is the digest hex and ResolvedImageUri names it', async () => {
    const fn = await seedImageFunction()
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    expect(answer.CodeSha256).toBe(fn.digest.replace('sha256:', ''))
    expect(answer.LastUpdateStatus).toBe('InProgress')
    const live = await lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Code).toEqual({
      RepositoryType: 'ECR',
      ImageUri: `${fn.repository}:v1`,
      ResolvedImageUri: `${fn.repository}@${fn.digest}`
    })
  })

  it('keeps the resolved digest when the tag moves on later', async () => {
    const fn = await seedImageFunction()
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    registry.pushImage(HOST, fn.name, { tag: 'v1', label: 'newer' })
    const live = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn.name }))
    expect(live.CodeSha256).toBe(fn.digest.replace('sha256:', ''))
  })

  it('is InProgress, refuses a second update with ResourceConflictException, then becomes Successful', async () => {
    const fn = await seedImageFunction()
    await control.setUpdateDelay(300)
    const imageUri = `${fn.repository}@${fn.digest}`
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: imageUri }))
    const conflict = await caught(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: imageUri }))
    )
    expect(conflict.name).toBe('ResourceConflictException')
    expect(conflict.message).toBe(
      `The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:${REGION}:${TOOLING}:function:${fn.name}`
    )
    await new Promise(resolve => setTimeout(resolve, 350))
    const live = await lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.LastUpdateStatus).toBe('Successful')
    expect(live.Configuration?.State).toBe('Active')
  })

  it('lets the SDK waiter see the update finish', async () => {
    const fn = await seedImageFunction()
    await control.setUpdateDelay(200)
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    const result = await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { FunctionName: fn.name }
    )
    expect(result.state).toBe('SUCCESS')
  })

  it('changes the architecture when asked and records the image’s own', async () => {
    const fn = await seedImageFunction({ architecture: 'arm64' })
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}:v1`,
        Architectures: ['arm64']
      })
    )
    expect(answer.Architectures).toEqual(['arm64'])
    const record = (await control.state()).functions.find(candidate => candidate.name === fn.name)
    expect(record?.code.imageArchitecture).toBe('arm64')
  })

  it('accepts an image of the other architecture, as Lambda does, and records the mismatch', async () => {
    const fn = await seedImageFunction({ architecture: 'arm64' })
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    expect(answer.Architectures).toEqual(['x86_64'])
    const record = (await control.state()).functions.find(candidate => candidate.name === fn.name)
    expect(record?.code.imageArchitecture).toBe('arm64')
  })

  it('refuses an architecture Lambda does not have with a validation error', async () => {
    const fn = await seedImageFunction()
    const error = await caught(
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: fn.name,
          ImageUri: `${fn.repository}:v1`,
          Architectures: ['aarch64' as 'arm64']
        })
      )
    )
    expect(error.name).toBe('ValidationException')
  })

  it('changes nothing on DryRun', async () => {
    const fn = await seedImageFunction()
    const before = await control.stateText()
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}:v1`,
        DryRun: true
      })
    )
    expect(answer.LastUpdateStatus).toBe('Successful')
    expect(await control.stateText()).toBe(before)
  })

  it('refuses an image index with Lambda’s media-type message', async () => {
    const fn = await seedImageFunction()
    registry.pushIndex(HOST, fn.name, 'multi', [fn.digest])
    const error = await caught(
      lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:multi` })
      )
    )
    expect(error.name).toBe('InvalidParameterValueException')
    expect(error.message).toBe(
      `The image manifest, config or layer media type for the source image ${fn.repository}:multi is not supported.`
    )
  })

  it.each([
    ['a missing tag', (fn: { repository: string }) => `${fn.repository}:nope`],
    ['an unknown repository', () => `${HOST}/never-created:v1`]
  ])('refuses %s as a source image that does not exist', async (_case, uriOf) => {
    const fn = await seedImageFunction()
    const imageUri = uriOf(fn)
    const error = await caught(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: imageUri }))
    )
    expect(error.name).toBe('InvalidParameterValueException')
    expect(error.message).toBe(
      `Source image ${imageUri} does not exist. Provide a valid source image.`
    )
  })

  it.each([
    ['an image in another region', (fn: { name: string }) => `${EU_HOST}/${fn.name}:v1`],
    ['something that is not an ECR URI', () => 'docker.io/library/alpine:3']
  ])('refuses %s as an invalid source image', async (_case, uriOf) => {
    const fn = await seedImageFunction()
    const imageUri = uriOf(fn)
    const error = await caught(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: imageUri }))
    )
    expect(error.name).toBe('InvalidParameterValueException')
    expect(error.message).toBe(
      `Source image ${imageUri} is not valid. Provide a valid source image.`
    )
  })

  it('refuses an ImageUri for a Zip function', async () => {
    const fn = await seedImageFunction({ packageType: 'Zip' })
    const error = await caught(
      lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
      )
    )
    expect(error.name).toBe('InvalidParameterValueException')
    expect(error.message).toBe(
      "Please don't provide ImageUri when updating a function with packageType Zip."
    )
  })

  it('asks an Image function for an ImageUri', async () => {
    const fn = await seedImageFunction()
    const error = await caught(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: fn.name }))
    )
    expect(error.message).toBe(
      'Please provide ImageUri when updating a function with packageType Image.'
    )
  })

  it('guards on RevisionId with PreconditionFailedException', async () => {
    const fn = await seedImageFunction()
    const error = await caught(
      lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: fn.name,
          ImageUri: `${fn.repository}:v1`,
          RevisionId: 'stale'
        })
      )
    )
    expect(error.name).toBe('PreconditionFailedException')
    expect(error.$metadata?.httpStatusCode).toBe(412)
  })
})

describe('cross-account images', () => {
  const workloadArn = (name: string) => `arn:aws:lambda:${REGION}:${WORKLOAD}:function:${name}`
  const grant = (sourceArnKey = 'aws:sourceArn') =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'CrossAccount',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${WORKLOAD}:root` },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        },
        {
          Sid: 'LambdaService',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: 'ecr:*',
          Condition: {
            StringLike: { [sourceArnKey]: `arn:aws:lambda:${REGION}:${WORKLOAD}:function:*` }
          }
        }
      ]
    })

  async function seedCrossAccount(policy?: string) {
    unique += 1
    const name = `cross-${unique}`
    await control.createRepository({ account: TOOLING, region: REGION, name, policy })
    await control.createFunction({ account: WORKLOAD, region: REGION, name, packageType: 'Image' })
    const digest = registry.pushImage(HOST, name, { tag: 'v1', label: name })
    return { name, digest, imageUri: `${HOST}/${name}@${digest}` }
  }

  const workloadLambda = () => clientsFor(standIn.url, WORKLOAD).lambda

  it('refuses without a repository policy, with Lambda’s AccessDeniedException', async () => {
    const fn = await seedCrossAccount()
    const error = await caught(
      workloadLambda().send(
        new UpdateFunctionCodeCommand({ FunctionName: workloadArn(fn.name), ImageUri: fn.imageUri })
      )
    )
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toBe(
      'Lambda does not have permission to access the ECR image. Check the ECR permissions.'
    )
    expect(error.$metadata?.httpStatusCode).toBe(403)
  })

  it('accepts when the policy grants the account and Lambda for its functions', async () => {
    const fn = await seedCrossAccount(grant())
    const answer = await workloadLambda().send(
      new UpdateFunctionCodeCommand({ FunctionName: workloadArn(fn.name), ImageUri: fn.imageUri })
    )
    expect(answer.CodeSha256).toBe(fn.digest.replace('sha256:', ''))
  })

  it('reads the aws:sourceARN condition key case-blind', async () => {
    const fn = await seedCrossAccount(grant('aws:sourceARN'))
    await expect(
      workloadLambda().send(
        new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: fn.imageUri })
      )
    ).resolves.toBeDefined()
  })

  it('refuses when only the account is granted, not Lambda', async () => {
    const policy = JSON.parse(grant()) as { Statement: unknown[] }
    const fn = await seedCrossAccount(
      JSON.stringify({ ...policy, Statement: [policy.Statement[0]] })
    )
    const error = await caught(
      workloadLambda().send(
        new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: fn.imageUri })
      )
    )
    expect(error.name).toBe('AccessDeniedException')
  })

  it('refuses a caller reaching into another account’s function', async () => {
    const fn = await seedCrossAccount(grant())
    const error = await caught(
      lambda.send(new GetFunctionCommand({ FunctionName: workloadArn(fn.name) }))
    )
    expect(error.name).toBe('AccessDeniedException')
  })
})

describe('function names and qualifiers', () => {
  it.each([
    ['a name', (name: string) => name],
    ['a partial ARN', (name: string) => `${TOOLING}:function:${name}`],
    ['a full ARN', (name: string) => `arn:aws:lambda:${REGION}:${TOOLING}:function:${name}`],
    ['a name with $LATEST', (name: string) => `${name}:$LATEST`]
  ])('finds the function by %s', async (_case, nameOf) => {
    const fn = await seedImageFunction()
    const answer = await lambda.send(
      new GetFunctionConfigurationCommand({ FunctionName: nameOf(fn.name) })
    )
    expect(answer.FunctionName).toBe(fn.name)
  })

  it('answers ResourceNotFoundException with the function ARN for a missing function', async () => {
    const error = await caught(lambda.send(new GetFunctionCommand({ FunctionName: 'nowhere' })))
    expect(error.name).toBe('ResourceNotFoundException')
    expect(error.message).toBe(
      `Function not found: arn:aws:lambda:${REGION}:${TOOLING}:function:nowhere`
    )
    expect(error.$metadata?.httpStatusCode).toBe(404)
  })

  it('does not find a function of another region', async () => {
    const fn = await seedImageFunction()
    const error = await caught(
      clientsFor(standIn.url, TOOLING, { region: 'eu-west-1' }).lambda.send(
        new GetFunctionCommand({ FunctionName: fn.name })
      )
    )
    expect(error.name).toBe('ResourceNotFoundException')
  })
})

describe('configuration, versions and aliases', () => {
  it('updates ImageConfig and Environment through the same InProgress cycle', async () => {
    const fn = await seedImageFunction()
    await control.setUpdateDelay(300)
    const answer = await lambda.send(
      new UpdateFunctionConfigurationCommand({
        FunctionName: fn.name,
        ImageConfig: { Command: ['app.handler'] },
        Environment: { Variables: { STAGE: 'test' } }
      })
    )
    expect(answer.LastUpdateStatus).toBe('InProgress')
    expect(answer.ImageConfigResponse?.ImageConfig?.Command).toEqual(['app.handler'])
    expect(answer.Environment?.Variables).toEqual({ STAGE: 'test' })
    const conflict = await caught(lambda.send(new PublishVersionCommand({ FunctionName: fn.name })))
    expect(conflict.name).toBe('ResourceConflictException')
  })

  it('publishes numbered versions and reuses the last one when nothing changed', async () => {
    const fn = await seedImageFunction()
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    const first = await lambda.send(new PublishVersionCommand({ FunctionName: fn.name }))
    const again = await lambda.send(new PublishVersionCommand({ FunctionName: fn.name }))
    expect(first.Version).toBe('1')
    expect(again.Version).toBe('1')
    expect(first.FunctionArn).toBe(`arn:aws:lambda:${REGION}:${TOOLING}:function:${fn.name}:1`)
    expect(first.CodeSha256).toBe(fn.digest.replace('sha256:', ''))
  })

  it('publishes with the code update when Publish is set', async () => {
    const fn = await seedImageFunction()
    const answer = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}:v1`,
        Publish: true
      })
    )
    expect(answer.Version).toBe('1')
  })

  it('creates, reads and shifts an alias, guarded by its RevisionId', async () => {
    const fn = await seedImageFunction()
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    await lambda.send(new PublishVersionCommand({ FunctionName: fn.name }))
    const second = registry.pushImage(HOST, fn.name, { tag: 'v2', label: 'second' })
    await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}@${second}`
      })
    )
    await lambda.send(new PublishVersionCommand({ FunctionName: fn.name }))

    const created = await lambda.send(
      new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '1' })
    )
    expect(created.AliasArn).toBe(`arn:aws:lambda:${REGION}:${TOOLING}:function:${fn.name}:live`)
    const shifted = await lambda.send(
      new UpdateAliasCommand({
        FunctionName: fn.name,
        Name: 'live',
        RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } },
        RevisionId: created.RevisionId
      })
    )
    expect(shifted.RoutingConfig?.AdditionalVersionWeights).toEqual({ '2': 0.1 })
    const stale = await caught(
      lambda.send(
        new UpdateAliasCommand({
          FunctionName: fn.name,
          Name: 'live',
          FunctionVersion: '2',
          RevisionId: created.RevisionId
        })
      )
    )
    // Lambda API reference, UpdateAlias, Errors: PreconditionFailedException, HTTP 412, when
    // the RevisionId does not match the alias's latest.
    expect(stale.name).toBe('PreconditionFailedException')
    expect(stale.$metadata?.httpStatusCode).toBe(412)
    const read = await lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: 'live' }))
    expect(read.FunctionVersion).toBe('1')

    const byAlias = await lambda.send(
      new GetFunctionCommand({ FunctionName: fn.name, Qualifier: 'live' })
    )
    expect(byAlias.Configuration?.Version).toBe('1')
    expect(byAlias.Configuration?.CodeSha256).toBe(fn.digest.replace('sha256:', ''))
  })

  it('refuses an alias to a version that does not exist, and a duplicate alias', async () => {
    const fn = await seedImageFunction()
    const missing = await caught(
      lambda.send(
        new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '7' })
      )
    )
    expect(missing.name).toBe('ResourceNotFoundException')
    await lambda.send(
      new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '$LATEST' })
    )
    const duplicate = await caught(
      lambda.send(
        new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '$LATEST' })
      )
    )
    expect(duplicate.name).toBe('ResourceConflictException')
    const absent = await caught(
      lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: 'other' }))
    )
    expect(absent.name).toBe('ResourceNotFoundException')
  })
})

describe('function states', () => {
  const state = (name: string, request: Record<string, unknown>) =>
    control.setFunctionState({
      account: TOOLING,
      region: REGION,
      name,
      state: 'Active',
      ...request
    })
  const configuration = async (name: string) =>
    lambda.send(new GetFunctionConfigurationCommand({ FunctionName: name }))

  it('keeps a Pending function Pending for the time given, then makes it Active with a new RevisionId', async () => {
    const fn = await seedImageFunction()
    await state(fn.name, { state: 'Pending', pendingMs: 300 })
    const pending = await configuration(fn.name)
    expect(pending).toMatchObject({
      State: 'Pending',
      StateReason: 'The function is being created.',
      StateReasonCode: 'Creating'
    })
    await new Promise(resolve => setTimeout(resolve, 350))
    const active = await configuration(fn.name)
    expect(active.State).toBe('Active')
    expect(active.StateReason).toBeUndefined()
    expect(active.RevisionId).not.toBe(pending.RevisionId)
  })

  it('restores an Inactive function with a code update: Pending (Restoring), then Active', async () => {
    const fn = await seedImageFunction()
    await state(fn.name, { state: 'Inactive' })
    expect(await configuration(fn.name)).toMatchObject({
      State: 'Inactive',
      StateReasonCode: 'Idle'
    })
    await control.setUpdateDelay(200)
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    expect(await configuration(fn.name)).toMatchObject({
      State: 'Pending',
      StateReasonCode: 'Restoring',
      LastUpdateStatus: 'InProgress'
    })
    await new Promise(resolve => setTimeout(resolve, 250))
    expect(await configuration(fn.name)).toMatchObject({
      State: 'Active',
      LastUpdateStatus: 'Successful'
    })
  })

  it('leaves a Failed function Failed when the update that was to restore it fails', async () => {
    const fn = await seedImageFunction()
    await state(fn.name, { state: 'Failed', reasonCode: 'ImageDeleted' })
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed'
    })
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: fn.name, ImageUri: `${fn.repository}:v1` })
    )
    expect(await configuration(fn.name)).toMatchObject({
      State: 'Failed',
      StateReasonCode: 'ImageDeleted',
      LastUpdateStatus: 'Failed'
    })
  })

  it.each(['Inactive', 'Failed'])('refuses PublishVersion of a %s function', async name => {
    const fn = await seedImageFunction()
    await state(fn.name, { state: name })
    const error = await caught(lambda.send(new PublishVersionCommand({ FunctionName: fn.name })))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toBe(
      `The operation cannot be performed at this time. The function is currently in the following state: ${name}`
    )
  })

  it('refuses an unknown state through the control API', async () => {
    const fn = await seedImageFunction()
    await expect(state(fn.name, { state: 'Sleeping' })).rejects.toThrow(/\(400\)/)
  })
})
