import { describe, expect, it, beforeEach } from '@jest/globals'
import {
  BatchGetImageCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRepositoryPolicyCommand,
  ImageAlreadyExistsException,
  ImageTagAlreadyExistsException,
  PutImageCommand,
  RepositoryPolicyNotFoundException,
  SetRepositoryPolicyCommand
} from '@aws-sdk/client-ecr'
import {
  GetFunctionCommand,
  LambdaClient,
  ResourceNotFoundException,
  type GetFunctionCommandOutput
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { createContainerRegistry } from '../../src/adapters/ecr.js'
import { createFunctionService } from '../../src/adapters/lambda.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'

const ecrMock = mockClient(ECRClient)
const lambdaMock = mockClient(LambdaClient)
const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')

function accessDenied(): Error {
  return Object.assign(new Error('User is not authorized to perform: ecr:SetRepositoryPolicy'), {
    name: 'AccessDeniedException'
  })
}

beforeEach(() => {
  ecrMock.reset()
  lambdaMock.reset()
})

describe('container registry adapter', () => {
  const registry = () => createContainerRegistry(new ECRClient({ region: 'us-east-1' }))

  it('reads the tag mutability and its exclusion filters from DescribeRepositories', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          repositoryName: 'app',
          imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
          imageTagMutabilityExclusionFilters: [{ filter: 'latest', filterType: 'WILDCARD' }]
        }
      ]
    })
    await expect(registry().tagMutability(repository)).resolves.toEqual({
      setting: 'IMMUTABLE_WITH_EXCLUSION',
      exclusions: ['latest']
    })
    expect(ecrMock.commandCalls(DescribeRepositoriesCommand)[0]!.args[0].input).toEqual({
      registryId: '111111111111',
      repositoryNames: ['app']
    })
  })

  it('reads a missing repository policy as no policy', async () => {
    ecrMock
      .on(GetRepositoryPolicyCommand)
      .rejects(new RepositoryPolicyNotFoundException({ message: 'none', $metadata: {} }))
    await expect(registry().policy(repository)).resolves.toBeUndefined()
  })

  it('names the IAM action when setting the policy is denied', async () => {
    ecrMock.on(SetRepositoryPolicyCommand).rejects(accessDenied())
    await expect(registry().setPolicy(repository, '{}')).rejects.toMatchObject({
      id: 'access-denied',
      fix: expect.stringContaining('ecr:SetRepositoryPolicy')
    })
  })

  it('asks ECR for the manifest by digest, in every media type so an index shows as one', async () => {
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [
        {
          imageId: { imageDigest: 'sha256:abc' },
          imageManifest: '{"mediaType":"application/vnd.oci.image.index.v1+json"}',
          imageManifestMediaType: 'application/vnd.oci.image.index.v1+json'
        }
      ]
    })
    const manifest = await registry().manifest(repository, 'sha256:abc')
    expect(manifest.mediaType).toBe('application/vnd.oci.image.index.v1+json')
    const sent = ecrMock.commandCalls(BatchGetImageCommand)[0]!.args[0].input
    expect(sent.imageIds).toEqual([{ imageDigest: 'sha256:abc' }])
    expect(sent.acceptedMediaTypes).toContain('application/vnd.oci.image.index.v1+json')
  })

  it('reads a tag the repository does not hold as no image', async () => {
    ecrMock.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ imageId: { imageTag: 'inputs-x' }, failureCode: 'ImageNotFound' }]
    })
    await expect(registry().findTagged(repository, 'inputs-x')).resolves.toBeUndefined()
  })

  const stored = {
    digest: 'sha256:abc',
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    body: '{}'
  }

  it('adds a tag with PutImage, naming the digest; a tag that names the image already is no error', async () => {
    ecrMock
      .on(PutImageCommand)
      .rejects(new ImageAlreadyExistsException({ message: 'already', $metadata: {} }))
    await expect(registry().tagImage(repository, stored, 'v1')).resolves.toBeUndefined()
    expect(ecrMock.commandCalls(PutImageCommand)[0]!.args[0].input).toMatchObject({
      repositoryName: 'app',
      imageDigest: 'sha256:abc',
      imageTag: 'v1',
      imageManifest: '{}'
    })
  })

  it('explains an immutable tag that names another image', async () => {
    ecrMock
      .on(PutImageCommand)
      .rejects(new ImageTagAlreadyExistsException({ message: 'immutable', $metadata: {} }))
    await expect(registry().tagImage(repository, stored, 'v1')).rejects.toMatchObject({
      id: 'image-tag-immutable',
      fix: expect.stringContaining('mutable')
    })
  })
})

describe('function service adapter', () => {
  it('turns ResourceNotFoundException into a function-not-found error', async () => {
    lambdaMock
      .on(GetFunctionCommand)
      .rejects(new ResourceNotFoundException({ message: 'Function not found', $metadata: {} }))
    const service = createFunctionService(new LambdaClient({ region: 'us-east-1' }))
    await expect(service.describe('nope')).rejects.toMatchObject({ id: 'function-not-found' })
  })

  it('reads the image URI and digest of an image function', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: {
        FunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:app',
        FunctionName: 'app',
        PackageType: 'Image',
        CodeSha256: 'c'.repeat(64),
        Architectures: ['arm64'],
        LastUpdateStatus: 'Successful'
      },
      Code: { ImageUri: 'x@sha256:cc' }
    })
    const service = createFunctionService(new LambdaClient({ region: 'us-east-1' }))
    await expect(service.describe('app')).resolves.toMatchObject({
      packageType: 'Image',
      architectures: ['arm64'],
      codeSha256: 'c'.repeat(64),
      imageUri: 'x@sha256:cc'
    })
  })

  it('waits for a Pending function to become Active, reading its state and reason', async () => {
    const configuration = (State: 'Pending' | 'Active'): GetFunctionCommandOutput => ({
      $metadata: {},
      Configuration: {
        FunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:app',
        FunctionName: 'app',
        PackageType: 'Image',
        LastUpdateStatus: 'Successful' as const,
        State,
        StateReason: State === 'Pending' ? 'The function is being created.' : undefined,
        StateReasonCode: State === 'Pending' ? ('Creating' as const) : undefined
      }
    })
    lambdaMock
      .on(GetFunctionCommand)
      .resolvesOnce(configuration('Pending')) // the update waiter: Successful, done
      .resolvesOnce(configuration('Pending')) // describe: still Pending
      .resolvesOnce(configuration('Pending')) // the Active waiter's first poll
      .resolves(configuration('Active'))
    const service = createFunctionService(new LambdaClient({ region: 'us-east-1' }))
    const facts = await service.waitForUpdate('app', 10)
    expect(facts.state).toBe('Active')
    expect(lambdaMock.commandCalls(GetFunctionCommand).length).toBeGreaterThanOrEqual(4)
  })

  it('does not wait for an Inactive function to become Active (only an update restores it)', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: {
        FunctionName: 'app',
        PackageType: 'Image',
        LastUpdateStatus: 'Successful',
        State: 'Inactive',
        StateReasonCode: 'Idle'
      }
    })
    const service = createFunctionService(new LambdaClient({ region: 'us-east-1' }))
    const started = Date.now()
    const facts = await service.waitForUpdate('app', 10)
    expect(facts).toMatchObject({ state: 'Inactive', stateReasonCode: 'Idle' })
    expect(Date.now() - started).toBeLessThan(3000)
  })
})
