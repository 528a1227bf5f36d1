import { describe, expect, it } from '@jest/globals'
import type { DockerEngine } from '../../src/adapters/docker.js'
import type { ContainerRegistry } from '../../src/adapters/ecr.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { DockerCommandError } from '../../src/adapters/docker-process.js'
import { ActionError } from '../../src/domain/errors.js'
import type { BuiltImage } from '../../src/steps/build-image.js'
import { inputsTagFirst, isImmutableTagRefusal, pushImage } from '../../src/steps/push-image.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

const DIGEST = `sha256:${'c'.repeat(64)}`
const CONFIG = `sha256:${'d'.repeat(64)}`
const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const target = { repository } as unknown as DeployTarget
const built = {
  image: { id: DIGEST },
  configDigest: CONFIG,
  references: [`${repository.uri}:v1`],
  platform: 'linux/amd64'
} as unknown as BuiltImage

const registry = {
  authorization: () => Promise.resolve({ username: 'AWS', password: 'secret' }),
  manifest: () =>
    Promise.resolve({
      digest: DIGEST,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      body: JSON.stringify({ config: { digest: CONFIG } })
    })
} as unknown as ContainerRegistry

const pushFailure = (text: string) =>
  new DockerCommandError(
    'docker-push-failed',
    `docker push failed with exit code 1: ${text}`,
    'Read the output',
    text
  )

/** A docker engine whose push fails with the given messages, in order, then succeeds. */
function flakyDocker(failures: string[]) {
  let pushes = 0
  const docker = {
    push: () => {
      pushes += 1
      const failure = failures.shift()
      return failure === undefined ? Promise.resolve(DIGEST) : Promise.reject(pushFailure(failure))
    }
  } as unknown as DockerEngine
  return { docker, pushes: () => pushes }
}

const fast = { attempts: 3, backoffMs: 0, timeoutMs: 1000 }

describe('pushImage retries', () => {
  it('pushes again after a registry 5xx or a connection reset', async () => {
    const docker = flakyDocker([
      'received unexpected HTTP status: 500 Internal Server Error',
      'read tcp 127.0.0.1:443: read: connection reset by peer'
    ])
    const pushed = await pushImage(built, target, registry, docker.docker, fast)
    expect(pushed.digest).toBe(DIGEST)
    expect(docker.pushes()).toBe(3)
  })

  it('gives up after the bounded number of attempts, with the last failure', async () => {
    const docker = flakyDocker(['503 Service Unavailable', '503 Service Unavailable', 'EOF'])
    await expect(pushImage(built, target, registry, docker.docker, fast)).rejects.toMatchObject({
      id: 'docker-push-failed',
      reason: expect.stringMatching(/failed 3 times; the last failure: .*EOF/)
    })
    expect(docker.pushes()).toBe(3)
  })

  it('does not retry what another attempt cannot fix', async () => {
    const docker = flakyDocker(['denied: User is not authorized to perform ecr:PutImage'])
    await expect(pushImage(built, target, registry, docker.docker, fast)).rejects.toMatchObject({
      reason: expect.stringContaining('denied')
    })
    expect(docker.pushes()).toBe(1)
  })

  it.each(['denied', 'unauthorized', 'immutable'])(
    'retries a 5xx for a repository and tag named "%s": only docker’s own error lines count',
    async word => {
      const reference = `${repository.registry}/${word}-app:${word}`
      const docker = flakyDocker([
        `received unexpected HTTP status: 500 Internal Server Error (pushing ${reference})`
      ])
      const pushed = await pushImage(
        { ...built, references: [reference] },
        target,
        registry,
        docker.docker,
        fast
      )
      expect(pushed.digest).toBe(DIGEST)
      expect(docker.pushes()).toBe(2)
    }
  )

  it.each([
    'unauthorized: authentication required',
    "tag invalid: The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable.",
    "name unknown: The repository with name 'app' does not exist in the registry",
    'An image does not exist locally with the tag: app'
  ])('does not retry "%s"', async line => {
    const docker = flakyDocker([line])
    await expect(pushImage(built, target, registry, docker.docker, fast)).rejects.toThrow()
    expect(docker.pushes()).toBe(1)
  })

  it('pushes again after a push that timed out, and says so when every attempt does', async () => {
    let pushes = 0
    const docker = {
      push: () => {
        pushes += 1
        return Promise.reject(
          new ActionError('docker-push-timeout', 'docker push did not finish within 1 s', 'fix')
        )
      }
    } as unknown as DockerEngine
    await expect(pushImage(built, target, registry, docker, fast)).rejects.toMatchObject({
      id: 'docker-push-failed',
      reason: expect.stringMatching(/failed 3 times; the last failure: docker push did not finish/)
    })
    expect(pushes).toBe(3)
  })
})

describe('pushImage with every tag in place already', () => {
  it('pushes nothing and deploys the image the kept tags name, checked from ECR', async () => {
    const docker = flakyDocker([])
    const nothingToWrite = { ...built, references: [] } as unknown as BuiltImage
    const pushed = await pushImage(nothingToWrite, target, registry, docker.docker, fast, DIGEST)
    expect(docker.pushes()).toBe(0)
    expect(pushed).toEqual({
      digest: DIGEST,
      imageUri: `${repository.uri}@${DIGEST}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json'
    })
  })

  it('still verifies that the kept image is the built one', async () => {
    const other = {
      ...registry,
      manifest: () =>
        Promise.resolve({
          digest: DIGEST,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          body: JSON.stringify({ config: { digest: `sha256:${'e'.repeat(64)}` } })
        })
    } as unknown as ContainerRegistry
    const nothingToWrite = { ...built, references: [] } as unknown as BuiltImage
    await expect(
      pushImage(nothingToWrite, target, other, flakyDocker([]).docker, fast, DIGEST)
    ).rejects.toMatchObject({ id: 'pushed-image-differs' })
  })
})

describe('isImmutableTagRefusal', () => {
  it.each([
    [
      'ECR’s refusal of an immutable tag, as docker prints it',
      "tag invalid: The image tag 'inputs-abc' already exists in the 'app' repository and cannot be overwritten because the tag is immutable.",
      true
    ],
    [
      'the same behind the daemon’s prefix, on a later line',
      "The push refers to repository [x/app]\nError response from daemon: tag invalid: The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the tag is immutable.",
      true
    ],
    ['another invalid tag', 'tag invalid: the tag is malformed', false],
    ['a denied push', 'denied: not authorized to perform ecr:PutImage', false],
    [
      'a repository named after the words',
      'retrying x/immutable-tag-invalid: connection reset',
      false
    ]
  ])('%s: %s', (_case, output, refused) => {
    expect(isImmutableTagRefusal(pushFailure(output))).toBe(refused)
  })

  it('is false for errors that are not a docker push’s', () => {
    expect(
      isImmutableTagRefusal(
        new ActionError(
          'image-tag-immutable',
          'tag invalid: cannot be overwritten because the tag is immutable',
          'x'
        )
      )
    ).toBe(false)
  })
})

describe('inputsTagFirst', () => {
  const inputs = `${repository.uri}:inputs-${'e'.repeat(64)}`
  it('moves the inputs tag to the front, keeping the others in order', () => {
    expect(
      inputsTagFirst([`${repository.uri}:v1`, `${repository.uri}:latest`, inputs], inputs)
    ).toEqual([inputs, `${repository.uri}:v1`, `${repository.uri}:latest`])
  })
  it.each([
    ['is not written (kept, or no inputs digest)', [`${repository.uri}:v1`], inputs],
    ['is not known', [`${repository.uri}:v1`, inputs], undefined]
  ])('leaves the order alone when the inputs tag %s', (_case, references, reference) => {
    expect(inputsTagFirst(references, reference)).toEqual(references)
  })
})
