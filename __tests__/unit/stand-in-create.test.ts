import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { CreateRepositoryCommand, type ECRClient } from '@aws-sdk/client-ecr'
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  UpdateFunctionCodeCommand,
  type CreateFunctionCommandInput,
  type LambdaClient
} from '@aws-sdk/client-lambda'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** CreateFunction and CreateRepository as the stand-in answers them, through the real SDK. */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const USER = `arn:aws:iam::${ACCOUNT}:user/stand-in`
const ROLE = `arn:aws:iam::${ACCOUNT}:role/exec`

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

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let lambda: LambdaClient
let ecr: ECRClient
let unique = 0

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  ;({ lambda, ecr } = clientsFor(standIn.url, ACCOUNT))
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
  await control.setIdentityPolicies(USER, {
    All: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'lambda:*', 'iam:PassRole'], Resource: '*' }]
    }
  })
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

/** A repository Lambda may pull from, holding one image. */
async function image(options: { policy?: string } = {}) {
  unique += 1
  const name = `created-${unique}`
  await control.createRepository({
    account: ACCOUNT,
    region: REGION,
    name,
    policy: 'policy' in options ? options.policy : LAMBDA_PULL_POLICY
  })
  const digest = registry.pushImage(HOST, name, { tag: 'v1', label: name })
  return { name, digest, imageUri: `${HOST}/${name}@${digest}` }
}

function create(
  overrides: Partial<CreateFunctionCommandInput> &
    Pick<CreateFunctionCommandInput, 'FunctionName' | 'Code'>
) {
  return lambda.send(
    new CreateFunctionCommand({
      PackageType: 'Image',
      Role: ROLE,
      ...overrides
    })
  )
}

describe('CreateFunction', () => {
  it('creates a Pending image function (Creating) that becomes Active after the update delay', async () => {
    const img = await image()
    await control.setUpdateDelay(300)
    const answer = await create({
      FunctionName: img.name,
      Code: { ImageUri: img.imageUri },
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 60
    })
    expect(answer.$metadata.httpStatusCode).toBe(201)
    expect(answer).toMatchObject({
      State: 'Pending',
      StateReasonCode: 'Creating',
      PackageType: 'Image',
      CodeSha256: img.digest.slice(7),
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 60,
      Role: ROLE
    })
    // Pending refuses updates, as for any new function ("Lambda function states").
    const refused = await caught(
      lambda.send(new UpdateFunctionCodeCommand({ FunctionName: img.name, ImageUri: img.imageUri }))
    )
    expect(refused.name).toBe('ResourceConflictException')
    await new Promise(resolve => setTimeout(resolve, 350))
    const live = await lambda.send(new GetFunctionCommand({ FunctionName: img.name }))
    expect(live.Configuration?.State).toBe('Active')
    expect(live.Code?.ResolvedImageUri).toBe(img.imageUri)
  })

  it('refuses a name in use with 409 ResourceConflictException', async () => {
    const img = await image()
    await create({ FunctionName: img.name, Code: { ImageUri: img.imageUri } })
    const error = await caught(create({ FunctionName: img.name, Code: { ImageUri: img.imageUri } }))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.$metadata?.httpStatusCode).toBe(409)
    expect(error.message).toBe(`Function already exist: ${img.name}`)
  })

  it.each([
    ['a Role that is not a role ARN', { Role: 'exec' }, 'ValidationException'],
    [
      'a role Lambda cannot assume',
      { Role: `arn:aws:iam::${ACCOUNT}:role/untrusted-exec` },
      'InvalidParameterValueException'
    ],
    [
      'a role of another account',
      { Role: 'arn:aws:iam::222222222222:role/exec' },
      'InvalidParameterValueException'
    ],
    ['MemorySize under 128', { MemorySize: 64 }, 'ValidationException'],
    ['Timeout over 900', { Timeout: 901 }, 'ValidationException'],
    ['PackageType Image without ImageUri', { Code: {} }, 'InvalidParameterValueException']
  ])('refuses %s', async (_name, overrides, code) => {
    const img = await image()
    const error = await caught(
      create({ FunctionName: img.name, Code: { ImageUri: img.imageUri }, ...overrides })
    )
    expect(error.name).toBe(code)
    expect((await control.state()).functions).toEqual([])
  })

  it('refuses an image the repository policy does not let Lambda pull, and one not in ECR', async () => {
    const closed = await image({ policy: undefined })
    expect(
      (await caught(create({ FunctionName: closed.name, Code: { ImageUri: closed.imageUri } })))
        .name
    ).toBe('AccessDeniedException')
    const open = await image()
    const missing = `${HOST}/${open.name}@sha256:${'0'.repeat(64)}`
    expect(
      (await caught(create({ FunctionName: open.name, Code: { ImageUri: missing } }))).name
    ).toBe('InvalidParameterValueException')
  })

  it('needs iam:PassRole on the role, for lambda.amazonaws.com', async () => {
    const img = await image()
    await control.setIdentityPolicies(USER, {
      LambdaOnly: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'lambda:*'], Resource: '*' }]
      }
    })
    const denied = await caught(
      create({ FunctionName: img.name, Code: { ImageUri: img.imageUri } })
    )
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain(`iam:PassRole on resource: ${ROLE}`)

    await control.setIdentityPolicies(USER, {
      PassToEc2: {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['ecr:*', 'lambda:*'], Resource: '*' },
          {
            Effect: 'Allow',
            Action: 'iam:PassRole',
            Resource: ROLE,
            Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } }
          }
        ]
      }
    })
    expect(
      (await caught(create({ FunctionName: img.name, Code: { ImageUri: img.imageUri } }))).name
    ).toBe('AccessDeniedException')
  })

  it('needs lambda:CreateFunction on the function ARN', async () => {
    const img = await image()
    await control.setIdentityPolicies(USER, {
      NoCreate: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['ecr:*', 'iam:PassRole', 'lambda:GetFunction'],
            Resource: '*'
          }
        ]
      }
    })
    const denied = await caught(
      create({ FunctionName: img.name, Code: { ImageUri: img.imageUri } })
    )
    expect(denied.message).toContain(
      `lambda:CreateFunction on resource: arn:aws:lambda:${REGION}:${ACCOUNT}:function:${img.name}`
    )
  })
})

describe('CreateRepository', () => {
  it('keeps scan on push and the tag mutability it was created with', async () => {
    const answer = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'scanned',
        imageTagMutability: 'IMMUTABLE',
        imageScanningConfiguration: { scanOnPush: true }
      })
    )
    expect(answer.repository).toMatchObject({
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true }
    })
    const plain = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'plain' }))
    expect(plain.repository?.imageScanningConfiguration).toEqual({ scanOnPush: false })
    const again = await caught(ecr.send(new CreateRepositoryCommand({ repositoryName: 'plain' })))
    expect(again.name).toBe('RepositoryAlreadyExistsException')
  })

  it('needs ecr:CreateRepository', async () => {
    await control.setIdentityPolicies(USER, {
      NoCreate: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: ['ecr:DescribeRepositories'], Resource: '*' }]
      }
    })
    const denied = await caught(ecr.send(new CreateRepositoryCommand({ repositoryName: 'nope' })))
    expect(denied.name).toBe('AccessDeniedException')
    expect(denied.message).toContain('ecr:CreateRepository')
  })
})
