import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException
} from '@aws-sdk/client-ecr'
import {
  CreateFunctionCommand,
  GetFunctionCommand,
  LambdaClient,
  ResourceConflictException,
  ResourceNotFoundException
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { createContainerRegistry } from '../../src/adapters/ecr.js'
import { createFunctionService, FUNCTION_NOT_FOUND } from '../../src/adapters/lambda.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'

const ecrMock = mockClient(ECRClient)
const lambdaMock = mockClient(LambdaClient)
const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const registry = () => createContainerRegistry(new ECRClient({ region: 'us-east-1' }))
const functions = () => createFunctionService(new LambdaClient({ region: 'us-east-1' }))
const metadata = { $metadata: {} }

beforeEach(() => {
  ecrMock.reset()
  lambdaMock.reset()
})

describe('ECR adapter, creating repositories', () => {
  it('tells a missing repository from an existing one', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'app' }] })
    await expect(registry().repositoryExists(repository)).resolves.toBe(true)
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
    await expect(registry().repositoryExists(repository)).resolves.toBe(false)
  })

  it('creates with scan on push and the chosen tag mutability, in the repository’s account', async () => {
    ecrMock.on(CreateRepositoryCommand).resolves({})
    await registry().createRepository(repository, 'IMMUTABLE')
    expect(ecrMock.commandCalls(CreateRepositoryCommand)[0]!.args[0].input).toEqual({
      registryId: '111111111111',
      repositoryName: 'app',
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true }
    })
  })

  it('takes a repository another run created meanwhile as created', async () => {
    ecrMock
      .on(CreateRepositoryCommand)
      .rejects(new RepositoryAlreadyExistsException({ message: 'exists', ...metadata }))
    await expect(registry().createRepository(repository, 'MUTABLE')).resolves.toBeUndefined()
  })

  it('names create-repository when the tag mutability read finds no repository', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
    await expect(registry().tagMutability(repository)).rejects.toMatchObject({
      id: 'repository-not-found',
      fix: expect.stringContaining('create-repository: true')
    })
  })
})

describe('Lambda adapter, creating functions', () => {
  const spec = {
    functionName: 'arn:aws:lambda:us-east-1:111111111111:function:new-fn',
    imageUri: `${repository.uri}@sha256:${'a'.repeat(64)}`,
    architecture: 'arm64' as const,
    roleArn: 'arn:aws:iam::111111111111:role/exec',
    memoryMb: 512,
    timeoutSeconds: 30
  }

  it('sends CreateFunction for an image function with the role, memory, timeout and architecture', async () => {
    lambdaMock.on(CreateFunctionCommand).resolves({ State: 'Pending', PackageType: 'Image' })
    const created = await functions().create(spec)
    expect(created.state).toBe('Pending')
    expect(lambdaMock.commandCalls(CreateFunctionCommand)[0]!.args[0].input).toEqual({
      FunctionName: spec.functionName,
      PackageType: 'Image',
      Code: { ImageUri: spec.imageUri },
      Architectures: ['arm64'],
      Role: spec.roleArn,
      MemorySize: 512,
      Timeout: 30
    })
  })

  it('says another run created it when Lambda answers the name is in use', async () => {
    lambdaMock
      .on(CreateFunctionCommand)
      .rejects(
        new ResourceConflictException({ message: 'Function already exist: new-fn', ...metadata })
      )
    await expect(functions().create(spec)).rejects.toMatchObject({ id: 'function-exists' })
  })

  it('names create-function-role in the fix for a missing function', async () => {
    lambdaMock
      .on(GetFunctionCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', ...metadata }))
    await expect(functions().describe('typo')).rejects.toMatchObject({
      id: FUNCTION_NOT_FOUND,
      fix: expect.stringContaining('create-function-role')
    })
  })
})
