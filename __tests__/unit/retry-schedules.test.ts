import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { Readable } from 'node:stream'
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr'
import {
  ATTEMPT_TIMEOUT_MS,
  CONNECTION_TIMEOUT_MS,
  MAX_ATTEMPTS,
  sdkClientSettings
} from '../../src/adapters/aws-clients.js'
import type { DockerEngine } from '../../src/adapters/docker.js'
import { DockerCommandError } from '../../src/adapters/docker-process.js'
import type { ContainerRegistry } from '../../src/adapters/ecr.js'
import {
  UPDATE_CONFLICT,
  type FunctionFacts,
  type FunctionService
} from '../../src/adapters/lambda.js'
import { REGISTRY_RETRY, RegistryHttp } from '../../src/adapters/registry-http.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { ActionError } from '../../src/domain/errors.js'
import type { BuiltImage } from '../../src/steps/build-image.js'
import { MAX_CONFLICT_ATTEMPTS, deployFunction } from '../../src/steps/deploy-function.js'
import {
  MAX_POLICY_WRITES,
  POLICY_REWRITE_BACKOFF_MS,
  grantLambdaPull
} from '../../src/steps/grant-pull.js'
import { PUSH_RETRY, pushImage } from '../../src/steps/push-image.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

/**
 * The back-off schedules of every retry the action makes, pinned here with a fake clock (or the
 * sleep the code takes), so the fault suites (__tests__/e2e/aws/faults.test.ts and
 * __tests__/e2e/engine/faults.test.ts) need not wait them out row by row: they prove each fault
 * kind once with real waits; these tests prove the attempt counts and the pauses between them.
 */

const REGION = 'us-east-1'
const ACCOUNT = '111111111111'
const repository = parseRepositoryUri(`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app`)
const DIGEST = `sha256:${'b'.repeat(64)}`
const CONFIG = `sha256:${'d'.repeat(64)}`
/** Any fixed instant: the clock only has to be the same on every run. */
const EPOCH = Date.parse('2026-12-01T00:00:00Z')

/** Calls `run` on the fake clock, firing timers until it settles; its result or rejection. */
async function onFakeClock<T>(run: () => Promise<T>): Promise<T> {
  const pending = run()
  let settled = false
  pending.then(
    () => (settled = true),
    () => (settled = true)
  )
  for (let step = 0; !settled && step < 10_000; step += 1) {
    await jest.advanceTimersToNextTimerAsync()
  }
  return pending
}

describe('AWS SDK clients (src/adapters/aws-clients.ts)', () => {
  /**
   * An ECR client as the action makes it, whose endpoint answers each attempt with the next of
   * `answers` (HTTP status and ECR error type) and then with success; the fake-clock time of
   * each attempt.
   */
  function ecrAnswering(answers: { status: number; type: string }[], env = {}) {
    const attemptsAt: number[] = []
    const client = new ECRClient({
      ...sdkClientSettings(REGION, env),
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      requestHandler: {
        handle: () => {
          attemptsAt.push(Date.now() - EPOCH)
          const answer = answers.shift()
          const body = answer ? { __type: answer.type, message: 'injected' } : { repositories: [] }
          return Promise.resolve({
            response: {
              statusCode: answer?.status ?? 200,
              headers: { 'content-type': 'application/x-amz-json-1.1' },
              body: Readable.from([Buffer.from(JSON.stringify(body))])
            }
          })
        }
      }
    })
    const describe = () =>
      onFakeClock(() => client.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] })))
    return { client, attemptsAt, describe }
  }
  const throttle = { status: 400, type: 'ThrottlingException' }
  const serverError = { status: 500, type: 'ServerException' }
  const gaps = (times: number[]) => times.slice(1).map((time, i) => time - times[i]!)

  let random: { mockReturnValue(value: number): unknown; mockRestore(): void }
  beforeEach(() => {
    jest.useFakeTimers({ now: EPOCH })
    // The SDK's back-off is "full jitter": a random share of a cap that doubles per retry. A draw
    // of 1 gives the cap itself, the longest the schedule can wait.
    random = jest.spyOn(Math, 'random').mockReturnValue(1)
  })
  afterEach(() => {
    random.mockRestore()
    jest.useRealTimers()
  })

  it('make each call at most MAX_ATTEMPTS (5) times, within the SDK’s time-outs per attempt', async () => {
    expect(MAX_ATTEMPTS).toBe(5)
    const settings = sdkClientSettings(REGION, {})
    expect(settings).toMatchObject({
      retryMode: 'adaptive',
      maxAttempts: 5,
      requestHandler: {
        connectionTimeout: CONNECTION_TIMEOUT_MS,
        requestTimeout: ATTEMPT_TIMEOUT_MS
      }
    })
    const ecr = ecrAnswering(Array.from({ length: 5 }, () => serverError))
    await expect(ecr.describe()).rejects.toMatchObject({ name: 'ServerException' })
    expect(ecr.attemptsAt).toHaveLength(5)
  })

  it('ride out four 5xx answers, pausing 50, 100, 200 and 400 ms at most', async () => {
    const ecr = ecrAnswering(Array.from({ length: 4 }, () => serverError))
    const answer = await ecr.describe()
    expect(answer.$metadata.attempts).toBe(5)
    expect(gaps(ecr.attemptsAt)).toEqual([50, 100, 200, 400])
  })

  it('back off from throttling with caps of 1, 2, 4 and 8 s, and a client-side rate limit', async () => {
    const ecr = ecrAnswering(Array.from({ length: 4 }, () => throttle))
    const answer = await ecr.describe()
    expect(answer.$metadata.attempts).toBe(5)
    // The first pause is the adaptive mode's rate limit rather than the 1 s back-off: once
    // throttled, the client sends at most its minimum rate (0.5 requests/s) until it recovers.
    expect(gaps(ecr.attemptsAt)).toEqual([2000, 2000, 4000, 8000])
    // The rate limit holds even when the jitter draws no back-off at all.
    random.mockReturnValue(0)
    const again = ecrAnswering([throttle, throttle])
    await again.describe()
    expect(gaps(again.attemptsAt)).toEqual([2000, 2000])
  })

  it('fail after five throttled attempts', async () => {
    const ecr = ecrAnswering(Array.from({ length: 5 }, () => throttle))
    await expect(ecr.describe()).rejects.toMatchObject({ name: 'ThrottlingException' })
    expect(ecr.attemptsAt).toHaveLength(5)
  })

  it('leave the attempts to AWS_MAX_ATTEMPTS when the workflow sets it', async () => {
    const saved = process.env.AWS_MAX_ATTEMPTS
    process.env.AWS_MAX_ATTEMPTS = '2'
    try {
      const ecr = ecrAnswering([serverError, serverError], { AWS_MAX_ATTEMPTS: '2' })
      await expect(ecr.describe()).rejects.toMatchObject({ name: 'ServerException' })
      expect(ecr.attemptsAt).toHaveLength(2)
    } finally {
      if (saved === undefined) delete process.env.AWS_MAX_ATTEMPTS
      else process.env.AWS_MAX_ATTEMPTS = saved
    }
  })
})

describe('UpdateFunctionCode on ResourceConflictException (src/steps/deploy-function.ts)', () => {
  const idle = {
    arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:app`,
    name: 'app',
    packageType: 'Image',
    architectures: ['x86_64'],
    codeSha256: 'a'.repeat(64),
    lastUpdateStatus: 'Successful',
    state: 'Active'
  } as unknown as FunctionFacts
  const target = {
    function: idle,
    repository,
    architecture: 'x86_64',
    changesArchitecture: false
  } as unknown as DeployTarget
  const image = { digest: DIGEST, imageUri: `${repository.uri}@${DIGEST}`, mediaType: '' }

  function conflicting(conflicts: number) {
    let updates = 0
    const lambda = {
      updateCode: () => {
        updates += 1
        if (updates <= conflicts) {
          return Promise.reject(
            new ActionError(UPDATE_CONFLICT, 'An update is in progress.', 'Wait.')
          )
        }
        return Promise.resolve({ ...idle, lastUpdateStatus: 'InProgress' })
      },
      waitForUpdate: () => Promise.resolve({ ...idle, codeSha256: 'b'.repeat(64) })
    } as unknown as FunctionService
    const pauses: number[] = []
    const sleep = (ms: number) => {
      pauses.push(ms)
      return Promise.resolve()
    }
    const deploy = () =>
      deployFunction(target, image, lambda, { wait: true, waitTimeoutSeconds: 60 }, sleep)
    return { deploy, pauses, updates: () => updates }
  }

  it('tries 4 times, pausing 1, 2 and 4 s after waiting for the other update', async () => {
    expect(MAX_CONFLICT_ATTEMPTS).toBe(4)
    const run = conflicting(3)
    await expect(run.deploy()).resolves.toMatchObject({ deployed: true })
    expect(run.updates()).toBe(4)
    expect(run.pauses).toEqual([1000, 2000, 4000])
  })

  it('gives up on the 4th conflict without pausing again', async () => {
    const run = conflicting(4)
    await expect(run.deploy()).rejects.toMatchObject({ id: UPDATE_CONFLICT })
    expect(run.updates()).toBe(4)
    expect(run.pauses).toEqual([1000, 2000, 4000])
  })
})

describe('repository policy writes undone by another writer (src/steps/grant-pull.ts)', () => {
  const target = {
    function: { arn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:app` },
    repository
  } as unknown as DeployTarget
  const theirs = JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Theirs',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/tf` },
        Action: 'ecr:DescribeImages'
      }
    ]
  })

  function racing(races: number) {
    let stored: string | undefined = theirs
    let writes = 0
    const registry = {
      policy: () => Promise.resolve(stored),
      setPolicy: (_repository: unknown, text: string) => {
        writes += 1
        stored = writes <= races ? theirs : text
        return Promise.resolve()
      }
    } as unknown as ContainerRegistry
    const pauses: number[] = []
    const pause = (ms: number) => {
      pauses.push(ms)
      return Promise.resolve()
    }
    return {
      grant: () => grantLambdaPull(target, registry, true, pause),
      pauses,
      writes: () => writes
    }
  }

  it('writes 5 times, pausing 1, 2, 4 and 8 s, when the first 4 are undone', async () => {
    expect([MAX_POLICY_WRITES, POLICY_REWRITE_BACKOFF_MS]).toEqual([5, 1000])
    const run = racing(4)
    await expect(run.grant()).resolves.toMatchObject({ status: 'updated' })
    expect(run.writes()).toBe(5)
    expect(run.pauses).toEqual([1000, 2000, 4000, 8000])
  })

  it('gives up after the 5th write is undone, without pausing again', async () => {
    const run = racing(5)
    await expect(run.grant()).rejects.toMatchObject({ id: 'repository-policy-not-converged' })
    expect(run.writes()).toBe(5)
    expect(run.pauses).toEqual([1000, 2000, 4000, 8000])
  })
})

describe('docker push (src/steps/push-image.ts)', () => {
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
  const PUSH_TIMEOUT_MS = 3_600_000

  /** A docker engine whose first `failures` pushes fail (a 5xx, or a stalled push stopped). */
  function failingPushes(failures: number, how: 'error' | 'timeout') {
    const pushesAt: number[] = []
    const timeouts: number[] = []
    const docker = {
      push: (_reference: string, _config: string, timeoutMs: number) => {
        pushesAt.push(Date.now() - EPOCH)
        timeouts.push(timeoutMs)
        if (pushesAt.length > failures) return Promise.resolve(DIGEST)
        return Promise.reject(
          how === 'error'
            ? new DockerCommandError(
                'docker-push-failed',
                'docker push failed with exit code 1',
                'Read the output',
                'received unexpected HTTP status: 500 Internal Server Error'
              )
            : new ActionError('docker-push-timeout', 'docker push did not finish in time.', '')
        )
      }
    } as unknown as DockerEngine
    const push = () =>
      onFakeClock(() =>
        pushImage(built, target, registry, docker, { ...PUSH_RETRY, timeoutMs: PUSH_TIMEOUT_MS })
      )
    return { push, pushesAt, timeouts }
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: EPOCH })
  })
  afterEach(() => {
    jest.useRealTimers()
  })

  it('pushes 3 times, 2 and then 4 s apart, each attempt bounded by push-timeout', async () => {
    expect(PUSH_RETRY).toEqual({ attempts: 3, backoffMs: 2000 })
    const run = failingPushes(2, 'error')
    await expect(run.push()).resolves.toMatchObject({ digest: DIGEST })
    expect(run.pushesAt).toEqual([0, 2000, 6000])
    expect(run.timeouts).toEqual([PUSH_TIMEOUT_MS, PUSH_TIMEOUT_MS, PUSH_TIMEOUT_MS])
  })

  it.each(['error', 'timeout'] as const)(
    'gives up after the 3rd failed push (%s), without pausing again',
    async how => {
      const run = failingPushes(3, how)
      await expect(run.push()).rejects.toMatchObject({ id: 'docker-push-failed' })
      expect(run.pushesAt).toEqual([0, 2000, 6000])
      expect(jest.getTimerCount()).toBe(0)
    }
  )
})

describe('registry requests of the action’s own client (src/adapters/registry-http.ts)', () => {
  const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: CONFIG, size: 2 },
    layers: []
  })

  /** A registry answering each request with the next of `failures`, then with the manifest. */
  function registryFailing(failures: { status: number; retryAfter?: string }[]) {
    const requestsAt: number[] = []
    const fetch = (() => {
      requestsAt.push(Date.now() - EPOCH)
      const failure = failures.shift()
      if (failure) {
        return Promise.resolve(
          new Response('busy', {
            status: failure.status,
            headers: failure.retryAfter ? { 'retry-after': failure.retryAfter } : {}
          })
        )
      }
      return Promise.resolve(
        new Response(manifest, {
          status: 200,
          headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }
        })
      )
    }) as typeof globalThis.fetch
    const client = new RegistryHttp({ fetch })
    const resolve = () =>
      onFakeClock(() => client.resolvePlatformDigest(`${HOST}/app:v1`, 'linux/amd64'))
    return { resolve, requestsAt }
  }

  beforeEach(() => {
    jest.useFakeTimers({ now: EPOCH })
  })
  afterEach(() => {
    jest.useRealTimers()
  })

  it('sends a request 4 times, 1, 2 and 4 s apart, on 5xx', async () => {
    expect(REGISTRY_RETRY).toEqual({ attempts: 4, backoffMs: 1000 })
    const run = registryFailing([{ status: 503 }, { status: 500 }, { status: 502 }])
    await expect(run.resolve()).resolves.toMatchObject({ requests: 4 })
    expect(run.requestsAt).toEqual([0, 1000, 3000, 7000])
  })

  it('gives up after the 4th answer that is still 5xx', async () => {
    const run = registryFailing(Array.from({ length: 4 }, () => ({ status: 503 })))
    await expect(run.resolve()).rejects.toMatchObject({ id: 'registry-unavailable' })
    expect(run.requestsAt).toEqual([0, 1000, 3000, 7000])
  })

  it('waits as long as a 429’s Retry-After says, at most 30 s', async () => {
    const run = registryFailing([
      { status: 429, retryAfter: '5' },
      { status: 429, retryAfter: '3600' },
      { status: 429 }
    ])
    await expect(run.resolve()).resolves.toMatchObject({ requests: 4 })
    expect(run.requestsAt).toEqual([0, 5000, 35_000, 39_000])
  })
})
