import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import { getExecOutput } from '@actions/exec'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  createDockerEngine,
  type DockerEngine,
  type InspectedImage
} from '../../../src/adapters/docker.js'
import { runCli } from '../../../src/cli/run.js'
import { buildArguments } from '../../../src/domain/build-command.js'
import { ActionError } from '../../../src/domain/errors.js'
import { parseSmokeTestSettings } from '../../../src/domain/smoke-test-settings.js'
import { smokeTestImage, type SmokeTestFunction } from '../../../src/steps/smoke-test.js'
import { engineLeftovers } from '../support.js'

/**
 * The smoke test against the real Docker engine: each fixture image is built as the action builds
 * (buildx, one platform, loaded), then run read-only, non-root, memory-limited, against the
 * Runtime API this process serves on the container's network.
 */

const fixtures = path.join(import.meta.dirname, '..', '..', 'fixtures')
const FIXTURES = [
  'smoke-good',
  'smoke-plain-ric',
  'smoke-provided-bootstrap',
  'smoke-writes-outside-tmp',
  'smoke-root-only-files',
  'smoke-init-crash',
  'smoke-error-response',
  'smoke-timeout',
  'smoke-out-of-memory'
] as const
type Fixture = (typeof FIXTURES)[number]

const docker: DockerEngine = createDockerEngine()
const tag = `lambda-image-deploy-smoke-${process.pid}`
const images = new Map<Fixture, InspectedImage>()
const platform = `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`
let workDir: string

const fn: SmokeTestFunction = {
  name: 'orders',
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders',
  region: 'us-east-1',
  memoryMb: 128,
  timeoutSeconds: 3
}

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'smoke-e2e-'))
  const { context: builder } = await docker.describe(undefined)
  for (const fixture of FIXTURES) {
    const context = path.join(fixtures, fixture)
    await docker.run(
      buildArguments({
        context,
        file: path.join(context, 'Dockerfile'),
        platform,
        buildArgs: [],
        labels: [],
        imageRefs: [`${tag}:${fixture}`],
        secretFiles: [],
        cacheFrom: [],
        cacheTo: [],
        builder,
        metadataFile: path.join(workDir, `${fixture}.metadata.json`)
      }),
      { BUILDX_NO_DEFAULT_ATTESTATIONS: '1' }
    )
    images.set(fixture, await docker.inspectImage(`${tag}:${fixture}`))
  }
})

afterAll(async () => {
  await getExecOutput('docker', ['image', 'rm', ...FIXTURES.map(f => `${tag}:${f}`)], {
    ignoreReturnCode: true,
    silent: true
  })
  rmSync(workDir, { recursive: true, force: true })
})

afterEach(() => {
  // Whatever happened, the smoke test leaves no container and no network behind.
  expect(engineLeftovers(`lambda-smoke-${process.pid}-`)).toEqual({ containers: '', networks: '' })
})

function settings(inputs: Record<string, string> = {}) {
  return parseSmokeTestSettings(
    name => ({ 'smoke-test': 'true', ...inputs })[name] ?? '',
    file => readFileSync(file, 'utf8')
  )
}

function image(fixture: Fixture): InspectedImage {
  const found = images.get(fixture)
  if (!found) throw new Error(`${fixture} was not built`)
  return found
}

async function failure(
  fixture: Fixture,
  inputs: Record<string, string> = {},
  function_: SmokeTestFunction = fn
): Promise<ActionError> {
  try {
    await smokeTestImage(image(fixture), settings(inputs), function_, docker)
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error(`${fixture} passed the smoke test`)
}

describe('smoke test of a built image', () => {
  it('passes an AWS nodejs base image: aws-lambda-ric gets each event and returns the result', async () => {
    const report = await smokeTestImage(
      image('smoke-good'),
      settings({
        'smoke-test-events': '{"order": 1}\n{"order": 2}',
        'smoke-test-expect': [
          'subset {"echo": {"order": 1}, "tmp": "writable", "user": "993:990"}',
          'subset {"echo": {"order": 2}}'
        ].join('\n')
      }),
      fn,
      docker
    )
    expect(report.invocations.map(invocation => invocation.event)).toEqual([
      'event 1 (line 1)',
      'event 2 (line 2)'
    ])
    const first = JSON.parse(report.invocations[0]?.response ?? '{}') as Record<string, unknown>
    expect(first).toMatchObject({
      functionName: 'orders',
      memoryLimitInMB: '128',
      invokedFunctionArn: fn.arn,
      hasDeadline: true,
      env: {
        AWS_REGION: 'us-east-1',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/orders',
        LAMBDA_TASK_ROOT: '/var/task',
        TZ: ':UTC',
        _HANDLER: 'index.handler'
      }
    })
    expect(report.initSeconds).toBeGreaterThan(0)
    expect(report.initSeconds).toBeLessThan(10)
  })

  it('passes an image without AWS base: node with aws-lambda-ric from npm as ENTRYPOINT', async () => {
    const report = await smokeTestImage(
      image('smoke-plain-ric'),
      settings({
        'smoke-test-events': '{"name": "ric"}',
        'smoke-test-expect': 'equals {"greeting": "hello ric", "plain": true}'
      }),
      fn,
      docker
    )
    expect(report.invocations).toHaveLength(1)
  })

  it('passes a custom sh bootstrap on provided:al2023, running as uid 993', async () => {
    const report = await smokeTestImage(
      image('smoke-provided-bootstrap'),
      settings({
        'smoke-test-expect': 'equals {"handler": "function.handler", "uid": 993, "bytes": 2}'
      }),
      fn,
      docker
    )
    expect(report.invocations).toHaveLength(1)
  })

  it("applies the function's ImageConfig command override", async () => {
    const report = await smokeTestImage(
      image('smoke-provided-bootstrap'),
      settings({ 'smoke-test-expect': 'subset {"handler": "reports.handler"}' }),
      { ...fn, overrides: { command: ['reports.handler'] } },
      docker
    )
    expect(report.invocations).toHaveLength(1)
  })

  it('fails on a response that does not match the expectation, saying where', async () => {
    const error = await failure('smoke-good', {
      'smoke-test-events': '{"order": 1}',
      'smoke-test-expect': 'subset {"echo": {"order": 2}}'
    })
    expect(error.id).toBe('smoke-test-unexpected-response')
    expect(error.reason).toContain('$.echo.order: expected 2, got 1')
  })

  it('fails a function that writes outside /tmp, naming the read-only file system', async () => {
    const error = await failure('smoke-writes-outside-tmp')
    expect(error.id).toBe('smoke-test-read-only-file-system')
    expect(error.reason).toContain('wrote outside /tmp while handling event 1 ({})')
    expect(error.reason).toContain('/var/task/cache.json')
  })

  it('fails a function that needs a file only root can read', async () => {
    const error = await failure('smoke-root-only-files')
    expect(error.id).toBe('smoke-test-permission-denied')
    expect(error.reason).toContain("EACCES: permission denied, open '/var/task/settings.json'")
  })

  it('fails a runtime that exits during init, with its output', async () => {
    const error = await failure('smoke-init-crash')
    expect(error.id).toBe('smoke-test-exited')
    expect(error.reason).toContain('exited with code 3 during init')
    expect(error.reason).toContain('bootstrap: DATABASE_URL is not set, giving up')
  })

  it('fails a function that returns an error, with errorType and errorMessage', async () => {
    const error = await failure('smoke-error-response', { 'smoke-test-events': '{"orderId": 7}' })
    expect(error.id).toBe('smoke-test-function-error')
    expect(error.reason).toContain('OrderNotFound: order 7 does not exist')
  })

  it('stops a function that runs past its timeout', async () => {
    const started = performance.now()
    const error = await failure('smoke-timeout', {}, { ...fn, timeoutSeconds: 2 })
    expect(error.id).toBe('smoke-test-timeout')
    expect(error.reason).toContain('did not respond to event 1 ({}) within 2 seconds')
    // The handler sleeps 60 s: the container was killed, not waited for.
    expect(performance.now() - started).toBeLessThan(20_000)
  })

  it('kills a function that goes over its memory size, and says so', async () => {
    const error = await failure('smoke-out-of-memory')
    expect(error.id).toBe('smoke-test-out-of-memory')
    expect(error.reason).toContain('ran out of its 128 MB of memory while handling event 1')
  })

  it('passes the same handler given the memory it needs', async () => {
    const report = await smokeTestImage(
      image('smoke-out-of-memory'),
      settings({ 'smoke-test-expect': 'equals {"allocated": 16}' }),
      { ...fn, memoryMb: 1024 },
      docker
    )
    expect(report.invocations).toHaveLength(1)
  })

  it('caps the deadline at smoke-test-timeout when the function allows longer', async () => {
    const error = await failure(
      'smoke-timeout',
      { 'smoke-test-timeout': '1' },
      { ...fn, timeoutSeconds: 900 }
    )
    expect(error.id).toBe('smoke-test-timeout')
    expect(error.reason).toContain('within 1 second;')
  })
})

describe('lambda-image-deploy check --smoke-test', () => {
  async function check(argv: string[]) {
    let stdout = ''
    let stderr = ''
    const code = await runCli(['check', ...argv], {
      stdout: text => {
        stdout += text
      },
      stderr: text => {
        stderr += text
      },
      readTextFile: file => Promise.resolve(readFileSync(file, 'utf8')),
      env: {}
    })
    return { code, stdout, stderr }
  }

  it('checks and runs a local image, exiting 0 when it passes', async () => {
    const result = await check([
      `${tag}:smoke-provided-bootstrap`,
      '--smoke-test',
      '--event',
      '{"a": 1}',
      '--expect',
      'subset {"uid": 993, "bytes": 7}'
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('passes the image checks (x86_64)')
    expect(result.stdout).toContain('passes the smoke test')
  })

  it('exits 1 with the error id when the smoke test fails', async () => {
    const result = await check([`${tag}:smoke-init-crash`, '--smoke-test'])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain('[smoke-test-exited]')
  })
})
