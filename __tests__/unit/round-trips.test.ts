import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ImageTagAlreadyExistsException,
  PutImageCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotFoundException,
  ServerException
} from '@aws-sdk/client-ecr'
import { mockClient } from 'aws-sdk-client-mock'
import path from 'node:path'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { DockerEngine } from '../../src/adapters/docker.js'
import { createContainerRegistry, type ContainerRegistry } from '../../src/adapters/ecr.js'
import { FUNCTION_NOT_FOUND, type FunctionFacts } from '../../src/adapters/lambda.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'
import { parseConfig } from '../../src/inputs.js'
import type { BuiltImage } from '../../src/steps/build-image.js'
import { ensureRepositories } from '../../src/steps/create-repository.js'
import { pushImage } from '../../src/steps/push-image.js'
import { resolveTargets, type DeployTarget } from '../../src/steps/resolve-target.js'
import { readTagMutabilities } from '../../src/steps/tag-mutability.js'

/**
 * The AWS round trips of a deploy, counted on a mocked ECR client: one DescribeRepositories per
 * repository and run, the named repository read while the functions are, and a build pushed once
 * per repository, its other tags written with PutImage of the pushed manifest.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const URI = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app`
const metadata = { $metadata: {} }
const FIXTURE = path.join(import.meta.dirname, '..', 'fixtures', 'provided-multistage')
const ecrMock = mockClient(ECRClient)

beforeEach(() => {
  ecrMock.reset()
})

const described = {
  repositories: [
    {
      registryId: ACCOUNT,
      repositoryName: 'app',
      repositoryUri: URI,
      imageTagMutability: 'IMMUTABLE' as const
    }
  ]
}

function facts(name: string): FunctionFacts {
  return {
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`,
    name,
    packageType: 'Image',
    architectures: ['x86_64'],
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
}

/** AWS with the real ECR adapter over the mocked client (one per region, as in a run). */
function aws(describe: (name: string) => Promise<FunctionFacts>): AwsServices {
  const registry = createContainerRegistry(new ECRClient({ region: REGION }))
  return {
    registry: () => registry,
    functions: () => ({ describe }),
    callerAccount: () => Promise.resolve(ACCOUNT)
  } as unknown as AwsServices
}

function config(inputs: Record<string, string>) {
  const all: Record<string, string> = {
    'function-name': 'app',
    repository: 'app',
    context: FIXTURE,
    ...inputs
  }
  return parseConfig(name => all[name] ?? '', { AWS_REGION: REGION })
}

const describeCalls = () => ecrMock.commandCalls(DescribeRepositoriesCommand).length

describe('one DescribeRepositories per repository and run', () => {
  it('takes the lookup of a named repository, the create-repository check and the tag mutability from one call', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves(described)
    const settings = config({ 'create-repository': 'true' })
    const services = aws(name => Promise.resolve(facts(name)))
    const plan = await resolveTargets(settings, services)
    expect(
      await ensureRepositories(plan.repositories, settings.createRepository, services, false)
    ).toEqual([])
    const mutabilities = await readTagMutabilities(plan.repositories, services)
    expect(mutabilities.get(URI)).toMatchObject({ setting: 'IMMUTABLE' })
    expect(describeCalls()).toBe(1)
  })

  it('does not describe a repository it created: its tag mutability is the one it was created with', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
    ecrMock.on(CreateRepositoryCommand).resolves({
      repository: { ...described.repositories[0], imageTagMutability: 'IMMUTABLE' }
    })
    const settings = config({ 'create-repository': 'true' })
    const services = aws(name => Promise.resolve(facts(name)))
    const plan = await resolveTargets(settings, services)
    const created = await ensureRepositories(
      plan.repositories,
      settings.createRepository,
      services,
      false
    )
    expect(created.map(outcome => outcome.status)).toEqual(['created'])
    const mutabilities = await readTagMutabilities(plan.repositories, services)
    expect(mutabilities.get(URI)).toMatchObject({ setting: 'IMMUTABLE' })
    expect(describeCalls()).toBe(1)
  })

  it('describes again a repository another run created meanwhile: its settings are that run’s', async () => {
    const repository = parseRepositoryUri(URI)
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejectsOnce(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
      .resolves(described)
    ecrMock
      .on(CreateRepositoryCommand)
      .rejects(new RepositoryAlreadyExistsException({ message: 'exists', ...metadata }))
    const registry = createContainerRegistry(new ECRClient({ region: REGION }))
    expect(await registry.repositoryExists(repository)).toBe(false)
    await registry.createRepository(repository, 'MUTABLE')
    expect(await registry.tagMutability(repository)).toMatchObject({ setting: 'IMMUTABLE' })
    expect(describeCalls()).toBe(2)
  })

  it('sends one call for reads that ask at the same time', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves(described)
    const repository = parseRepositoryUri(URI)
    const registry = createContainerRegistry(new ECRClient({ region: REGION }))
    const [mutability, exists, location] = await Promise.all([
      registry.tagMutability(repository),
      registry.repositoryExists(repository),
      registry.findRepository(ACCOUNT, 'app')
    ])
    expect(mutability).toMatchObject({ setting: 'IMMUTABLE' })
    expect(exists).toBe(true)
    expect(location.uri).toBe(URI)
    expect(describeCalls()).toBe(1)
  })

  it('asks again after a failed call instead of remembering the failure', async () => {
    const repository = parseRepositoryUri(URI)
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejectsOnce(new ServerException({ message: 'Internal error', ...metadata }))
      .resolves(described)
    const registry = createContainerRegistry(new ECRClient({ region: REGION }))
    await expect(registry.tagMutability(repository)).rejects.toThrow('Internal error')
    expect(await registry.tagMutability(repository)).toMatchObject({ setting: 'IMMUTABLE' })
    expect(describeCalls()).toBe(2)
  })
})

describe('reads that do not depend on each other', () => {
  it('looks the named repository up while the functions are read', async () => {
    const events: string[] = []
    ecrMock.on(DescribeRepositoriesCommand).callsFake(() => {
      events.push('DescribeRepositories')
      return Promise.resolve(described)
    })
    const slowGetFunction = async (name: string) => {
      events.push('GetFunction sent')
      await new Promise(resolve => setTimeout(resolve, 50))
      events.push('GetFunction answered')
      return facts(name)
    }
    const plan = await resolveTargets(config({}), aws(slowGetFunction))
    expect(plan.repositories.map(repository => repository.uri)).toEqual([URI])
    // Both asked before either answered (in a sequence, GetFunction's answer came first).
    expect(events.slice(0, 2).sort()).toEqual(['DescribeRepositories', 'GetFunction sent'])
    expect(events[2]).toBe('GetFunction answered')
  })

  it('still names the function first when the function and the repository are both missing', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
    const missing = new ActionError(FUNCTION_NOT_FOUND, 'There is no Lambda function app', 'fix')
    await expect(
      resolveTargets(
        config({}),
        aws(() => Promise.reject(missing))
      )
    ).rejects.toBe(missing)
    expect(describeCalls()).toBe(1)
  })

  it('names the repository when only the repository is missing', async () => {
    ecrMock
      .on(DescribeRepositoriesCommand)
      .rejects(new RepositoryNotFoundException({ message: 'not found', ...metadata }))
    await expect(
      resolveTargets(
        config({}),
        aws(name => Promise.resolve(facts(name)))
      )
    ).rejects.toMatchObject({ id: 'repository-not-found' })
  })
})

describe('a build pushed once per repository', () => {
  const repository = parseRepositoryUri(URI)
  const target = { repository } as unknown as DeployTarget
  const DIGEST = `sha256:${'c'.repeat(64)}`
  const CONFIG = `sha256:${'d'.repeat(64)}`
  const MANIFEST = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: { digest: CONFIG },
    layers: []
  })
  const INPUTS = `${URI}:inputs-${'e'.repeat(64)}`
  const built = {
    image: { id: CONFIG },
    configDigest: CONFIG,
    references: [INPUTS, `${URI}:v1`, `${URI}:latest`],
    platform: 'linux/amd64'
  } as unknown as BuiltImage
  const fast = { attempts: 3, backoffMs: 0, timeoutMs: 1000 }

  /** A docker engine that records each push and answers the pushed digest. */
  function docker() {
    const pushed: string[] = []
    const engine = {
      push: (reference: string) => {
        pushed.push(reference)
        return Promise.resolve(DIGEST)
      }
    } as unknown as DockerEngine
    return { engine, pushed }
  }

  function registry(): ContainerRegistry {
    const real = createContainerRegistry(new ECRClient({ region: REGION }))
    // The token is not this test's subject.
    return {
      ...real,
      authorization: () => Promise.resolve({ username: 'AWS', password: 'secret' })
    }
  }

  const storedManifest = (body: string) => ({
    images: [
      {
        imageId: { imageDigest: DIGEST },
        imageManifest: body,
        imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json'
      }
    ]
  })

  it('runs one docker push, of the inputs tag, and writes every other tag with PutImage of the pushed manifest', async () => {
    ecrMock.on(BatchGetImageCommand).resolves(storedManifest(MANIFEST))
    ecrMock.on(PutImageCommand).resolves({})
    const { engine, pushed } = docker()
    const image = await pushImage(built, target, registry(), engine, fast)
    expect(pushed).toEqual([INPUTS])
    expect(image).toEqual({
      digest: DIGEST,
      imageUri: `${URI}@${DIGEST}`,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json'
    })
    expect(ecrMock.commandCalls(PutImageCommand).map(call => call.args[0].input)).toEqual(
      ['v1', 'latest'].map(tag => ({
        registryId: ACCOUNT,
        repositoryName: 'app',
        imageManifest: MANIFEST,
        imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        imageDigest: DIGEST,
        imageTag: tag
      }))
    )
  })

  it('writes no other tag when ECR holds another image than the one built', async () => {
    const other = MANIFEST.replace(CONFIG, `sha256:${'f'.repeat(64)}`)
    ecrMock.on(BatchGetImageCommand).resolves(storedManifest(other))
    const { engine, pushed } = docker()
    await expect(pushImage(built, target, registry(), engine, fast)).rejects.toMatchObject({
      id: 'pushed-image-differs'
    })
    expect(pushed).toEqual([INPUTS])
    expect(ecrMock.commandCalls(PutImageCommand)).toHaveLength(0)
  })

  it('fails naming the tag when an immutable tag names another image, and writes no tag after it', async () => {
    ecrMock.on(BatchGetImageCommand).resolves(storedManifest(MANIFEST))
    ecrMock
      .on(PutImageCommand)
      .rejects(new ImageTagAlreadyExistsException({ message: 'tag exists', ...metadata }))
    const { engine } = docker()
    await expect(pushImage(built, target, registry(), engine, fast)).rejects.toMatchObject({
      id: 'image-tag-immutable',
      reason: expect.stringContaining(`${URI}:v1`)
    })
    expect(ecrMock.commandCalls(PutImageCommand).map(call => call.args[0].input.imageTag)).toEqual([
      'v1'
    ])
  })

  it('pushes a single tag with docker push alone', async () => {
    ecrMock.on(BatchGetImageCommand).resolves(storedManifest(MANIFEST))
    const { engine, pushed } = docker()
    await pushImage({ ...built, references: [`${URI}:v1`] }, target, registry(), engine, fast)
    expect(pushed).toEqual([`${URI}:v1`])
    expect(ecrMock.commandCalls(PutImageCommand)).toHaveLength(0)
  })
})
