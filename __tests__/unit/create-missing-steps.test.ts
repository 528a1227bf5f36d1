import { describe, expect, it } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { ContainerRegistry } from '../../src/adapters/ecr.js'
import {
  FUNCTION_NOT_FOUND,
  type FunctionFacts,
  type FunctionService,
  type FunctionSpec
} from '../../src/adapters/lambda.js'
import { parseFunctionReference, repositoryLocation } from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'
import { createFunction } from '../../src/steps/create-function.js'
import { ensureRepositories, locateRepository } from '../../src/steps/create-repository.js'
import { findOrPlanFunction } from '../../src/steps/missing-function.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'
import type { PushedImage } from '../../src/steps/push-image.js'

const OWN = '111111111111'
const REGION = 'us-east-1'
const notFound = () => new ActionError(FUNCTION_NOT_FOUND, 'There is no Lambda function', 'fix')

const existing: FunctionFacts = {
  arn: `arn:aws:lambda:${REGION}:${OWN}:function:app`,
  name: 'app',
  packageType: 'Image',
  architectures: ['arm64'],
  codeSha256: 'a'.repeat(64),
  imageUri: '',
  lastUpdateStatus: 'Successful',
  lastUpdateStatusReason: '',
  state: 'Active',
  stateReason: '',
  stateReasonCode: '',
  memorySize: 128,
  timeout: 3,
  ephemeralStorageMb: 512,
  environment: {}
}

function aws(parts: { registry?: Partial<ContainerRegistry> } = {}): AwsServices {
  return {
    registry: () => parts.registry as ContainerRegistry,
    callerAccount: () => Promise.resolve(OWN)
  } as unknown as AwsServices
}

const creation = { role: 'lambda-exec', memoryMb: 512, timeoutSeconds: 30 }

describe('findOrPlanFunction', () => {
  const target = (given: string) => ({
    reference: parseFunctionReference(given),
    region: REGION,
    given
  })

  it('returns an existing function as Lambda describes it, with no creation', async () => {
    const found = await findOrPlanFunction(target('app'), creation, aws(), () =>
      Promise.resolve(existing)
    )
    expect(found).toEqual({ fn: existing })
  })

  it('plans a missing function when create-function-role is set: the role in its own account', async () => {
    const found = await findOrPlanFunction(target('new-fn'), creation, aws(), () =>
      Promise.reject(notFound())
    )
    expect(found.creation).toEqual({
      roleArn: `arn:aws:iam::${OWN}:role/lambda-exec`,
      memoryMb: 512,
      timeoutSeconds: 30
    })
    expect(found.fn).toMatchObject({
      arn: `arn:aws:lambda:${REGION}:${OWN}:function:new-fn`,
      name: 'new-fn',
      packageType: 'Image',
      codeSha256: '',
      memorySize: 512,
      timeout: 30
    })
  })

  it("puts a role name in the account of a function given by ARN, not the caller's", async () => {
    const found = await findOrPlanFunction(
      target(`arn:aws:lambda:${REGION}:222222222222:function:other`),
      creation,
      aws(),
      () => Promise.reject(notFound())
    )
    expect(found.creation?.roleArn).toBe('arn:aws:iam::222222222222:role/lambda-exec')
    expect(found.fn.arn).toBe(`arn:aws:lambda:${REGION}:222222222222:function:other`)
  })

  it('leaves a missing function an error without the opt-in', async () => {
    await expect(
      findOrPlanFunction(target('typo'), undefined, aws(), () => Promise.reject(notFound()))
    ).rejects.toMatchObject({ id: FUNCTION_NOT_FOUND })
  })

  it('does not turn other errors into a creation', async () => {
    const denied = new ActionError('access-denied', 'AWS refused lambda:GetFunction', 'grant it')
    await expect(
      findOrPlanFunction(target('app'), creation, aws(), () => Promise.reject(denied))
    ).rejects.toBe(denied)
  })
})

describe('locateRepository and ensureRepositories', () => {
  const own = repositoryLocation(OWN, REGION, 'app')
  const other = repositoryLocation('222222222222', REGION, 'app')
  const missing = new ActionError('repository-not-found', 'There is no ECR repository', 'fix')

  it('knows where a missing repository given by name will be when create-repository is set', async () => {
    const registry = { findRepository: () => Promise.reject(missing) }
    await expect(
      locateRepository(aws({ registry }), REGION, OWN, 'app', { tagMutability: 'MUTABLE' })
    ).resolves.toEqual(own)
    await expect(locateRepository(aws({ registry }), REGION, OWN, 'app', undefined)).rejects.toBe(
      missing
    )
  })

  it('creates only missing repositories of the own account, with the chosen mutability', async () => {
    const created: string[] = []
    const registry: Partial<ContainerRegistry> = {
      repositoryExists: () => Promise.resolve(false),
      createRepository: (repository, mutability) => {
        created.push(`${repository.uri} ${mutability}`)
        return Promise.resolve()
      }
    }
    const outcomes = await ensureRepositories(
      [own, other],
      { tagMutability: 'IMMUTABLE' },
      aws({ registry }),
      false
    )
    expect(created).toEqual([`${own.uri} IMMUTABLE`])
    expect(outcomes).toEqual([
      { repository: own.uri, status: 'created', tagMutability: 'IMMUTABLE' }
    ])
  })

  it('creates nothing in a dry run, and says what it would create', async () => {
    const registry: Partial<ContainerRegistry> = {
      repositoryExists: () => Promise.resolve(false),
      createRepository: () => Promise.reject(new Error('must not create'))
    }
    const outcomes = await ensureRepositories(
      [own],
      { tagMutability: 'MUTABLE' },
      aws({ registry }),
      true
    )
    expect(outcomes).toEqual([
      { repository: own.uri, status: 'would-create', tagMutability: 'MUTABLE' }
    ])
  })

  it('leaves existing repositories alone, and reads nothing without the opt-in', async () => {
    const registry: Partial<ContainerRegistry> = {
      repositoryExists: () => Promise.resolve(true),
      createRepository: () => Promise.reject(new Error('must not create'))
    }
    expect(
      await ensureRepositories([own], { tagMutability: 'MUTABLE' }, aws({ registry }), false)
    ).toEqual([])
    expect(await ensureRepositories([own], undefined, aws(), false)).toEqual([])
  })
})

describe('createFunction', () => {
  const target = {
    function: {
      ...existing,
      name: 'new-fn',
      arn: `arn:aws:lambda:${REGION}:${OWN}:function:new-fn`
    },
    region: REGION,
    account: OWN,
    repository: repositoryLocation(OWN, REGION, 'app'),
    architecture: 'arm64',
    changesArchitecture: false,
    given: 'new-fn',
    overrides: {},
    creation: { roleArn: `arn:aws:iam::${OWN}:role/exec`, memoryMb: 256, timeoutSeconds: 10 }
  } as DeployTarget
  const image = {
    imageUri: `${OWN}.dkr.ecr.${REGION}.amazonaws.com/app@sha256:${'b'.repeat(64)}`,
    digest: `sha256:${'b'.repeat(64)}`
  } as PushedImage

  function lambda(afterWait: Partial<FunctionFacts>) {
    const specs: FunctionSpec[] = []
    const service = {
      create: (spec: FunctionSpec) => {
        specs.push(spec)
        return Promise.resolve({ ...existing, state: 'Pending' })
      },
      waitUntilActive: () => Promise.resolve({ ...existing, ...afterWait })
    } as unknown as FunctionService
    return { service, specs }
  }

  it('creates the function from the digest on the plan’s architecture, and returns it Active', async () => {
    const { service, specs } = lambda({ state: 'Active', codeSha256: 'b'.repeat(64) })
    const outcome = await createFunction(target, image, service, {
      wait: false,
      waitTimeoutSeconds: 60
    })
    expect(specs).toEqual([
      {
        functionName: target.function.arn,
        imageUri: image.imageUri,
        architecture: 'arm64',
        roleArn: `arn:aws:iam::${OWN}:role/exec`,
        memoryMb: 256,
        timeoutSeconds: 10
      }
    ])
    expect(outcome).toMatchObject({ deployed: true, function: { state: 'Active' } })
  })

  it('fails with Lambda’s reason when the new function ends Failed', async () => {
    const { service } = lambda({
      state: 'Failed',
      stateReason: 'The image is not valid.',
      stateReasonCode: 'InvalidImage'
    })
    await expect(
      createFunction(target, image, service, { wait: true, waitTimeoutSeconds: 60 })
    ).rejects.toMatchObject({ id: 'function-create-failed' })
  })

  it('fails with a time-out when it is still Pending', async () => {
    const { service } = lambda({ state: 'Pending' })
    await expect(
      createFunction(target, image, service, { wait: true, waitTimeoutSeconds: 5 })
    ).rejects.toMatchObject({ id: 'function-create-timeout' })
  })
})
