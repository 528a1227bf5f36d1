import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import type { ContainerOptions, DockerEngine, RunningContainer } from '../../src/adapters/docker.js'
import {
  launchLambdaContainer,
  type LambdaContainerLaunch
} from '../../src/adapters/lambda-container-launch.js'

/**
 * The one launcher the smoke test and the stand-in's Invoke share: the exact `docker run`
 * arguments (after `--name`) for the functions and images they run, the env file it writes and
 * what it hands the docker CLI by name. The rows are written out by hand from what Lambda does
 * (LAMBDA-IMAGE-FACTS "Runtime requirements"), not computed by the code under test.
 */

interface Started {
  name: string
  args: readonly string[]
  options: ContainerOptions | undefined
}

function recordingDocker(started: Started[]): DockerEngine {
  const unused = () => Promise.reject(new Error('not used by the launcher'))
  return {
    describe: unused,
    run: unused,
    inspectImage: unused,
    push: unused,
    withImageFiles: unused,
    createNetwork: unused,
    startContainer(name, args, options): RunningContainer {
      started.push({ name, args, options })
      const exit = Promise.resolve({ exitCode: 0, oomKilled: false })
      return { exited: exit, output: () => [], remove: () => exit }
    }
  }
}

type LaunchedImage = LambdaContainerLaunch['image']

const amd64Image = {
  id: 'sha256:1111111111111111111111111111111111111111111111111111111111111111',
  os: 'linux',
  architecture: 'amd64',
  entrypoint: ['/lambda-entrypoint.sh'],
  cmd: ['index.handler'],
  workingDir: '/var/task',
  env: ['PATH=/usr/bin']
} satisfies LaunchedImage

const arm64Image = {
  ...amd64Image,
  id: 'sha256:2222222222222222222222222222222222222222222222222222222222222222',
  architecture: 'arm64',
  variant: 'v8'
} satisfies LaunchedImage

/** An OS-only image whose entrypoint is the runtime itself, with no CMD. */
const bareImage = {
  ...amd64Image,
  id: 'sha256:3333333333333333333333333333333333333333333333333333333333333333',
  entrypoint: [],
  cmd: ['/var/runtime/bootstrap', '--serve']
} satisfies LaunchedImage

const orders = {
  name: 'orders',
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders',
  region: 'us-east-1',
  memoryMb: 128,
  timeoutSeconds: 3
}

/** The ten options every Lambda container gets, for an image of `platform` and `memoryMb`. */
const lambdaLike = (platform: string, network: string, memoryMb: number, tmpMb = 512) => [
  '--pull=never',
  `--platform=${platform}`,
  `--network=${network}`,
  '--read-only',
  `--tmpfs=/tmp:rw,exec,nosuid,nodev,size=${tmpMb}m,mode=1777`,
  '--user=993:990',
  '--cap-drop=ALL',
  '--security-opt=no-new-privileges',
  `--memory=${memoryMb}m`,
  `--memory-swap=${memoryMb}m`,
  '--ulimit=nofile=1024:1024'
]

type Row = {
  readonly case: string
  readonly launch: Omit<LambdaContainerLaunch, 'secretDir'>
  /** The expected arguments; ENV_FILE stands for `--env-file=SECRETDIR/env`. */
  readonly args: readonly string[]
  /** What the docker CLI gets in its environment, for `--env NAME`. */
  readonly byName: Record<string, string>
}

const ENV_FILE = '--env-file=<secretDir>/env'

const rows: readonly Row[] = [
  {
    case: 'the smoke test of an amd64 image, as built',
    launch: {
      name: 'lambda-smoke-1-aa',
      image: amd64Image,
      function: orders,
      runtimeApi: '172.18.0.1:40000',
      network: 'lambda-smoke-1-aa'
    },
    args: [
      ...lambdaLike('linux/amd64', 'lambda-smoke-1-aa', 128),
      ENV_FILE,
      '--entrypoint=/lambda-entrypoint.sh',
      amd64Image.id,
      'index.handler'
    ],
    byName: {}
  },
  {
    case: 'an arm64/v8 image with 10,240 MB of /tmp and 3,008 MB of memory',
    launch: {
      name: 'lambda-smoke-2-bb',
      image: arm64Image,
      function: { ...orders, memoryMb: 3008, ephemeralStorageMb: 10240 },
      runtimeApi: '172.19.0.1:40001',
      network: 'lambda-smoke-2-bb'
    },
    args: [
      ...lambdaLike('linux/arm64/v8', 'lambda-smoke-2-bb', 3008, 10240),
      ENV_FILE,
      '--entrypoint=/lambda-entrypoint.sh',
      arm64Image.id,
      'index.handler'
    ],
    byName: {}
  },
  {
    case: "the stand-in's Invoke of version 3 with the function's ImageConfig",
    launch: {
      name: 'stand-in-invoke-9-cc',
      image: amd64Image,
      function: {
        ...orders,
        version: '3',
        overrides: {
          entryPoint: ['/usr/bin/node', '/opt/ric.js'],
          command: ['app.handler', '--verbose'],
          workingDirectory: '/srv/app',
          environment: { STAGE: 'prod' }
        }
      },
      runtimeApi: '172.20.0.1:40002',
      network: 'stand-in-invoke-9-cc'
    },
    args: [
      ...lambdaLike('linux/amd64', 'stand-in-invoke-9-cc', 128),
      ENV_FILE,
      '--workdir=/srv/app',
      '--entrypoint=/usr/bin/node',
      amd64Image.id,
      '/opt/ric.js',
      'app.handler',
      '--verbose'
    ],
    byName: {}
  },
  {
    case: "the stand-in's Invoke with ImageConfig fields left unset (undefined)",
    launch: {
      name: 'stand-in-invoke-9-dd',
      image: amd64Image,
      function: {
        ...orders,
        version: '$LATEST',
        overrides: {
          entryPoint: undefined,
          command: undefined,
          workingDirectory: undefined,
          environment: undefined
        }
      },
      runtimeApi: '172.20.0.1:40003',
      network: 'stand-in-invoke-9-dd'
    },
    args: [
      ...lambdaLike('linux/amd64', 'stand-in-invoke-9-dd', 128),
      ENV_FILE,
      '--entrypoint=/lambda-entrypoint.sh',
      amd64Image.id,
      'index.handler'
    ],
    byName: {}
  },
  {
    case: 'an image without ENTRYPOINT: no --entrypoint, the CMD runs',
    launch: {
      name: 'lambda-smoke-3-ee',
      image: bareImage,
      function: orders,
      runtimeApi: '172.18.0.1:40004',
      network: 'lambda-smoke-3-ee'
    },
    args: [
      ...lambdaLike('linux/amd64', 'lambda-smoke-3-ee', 128),
      ENV_FILE,
      bareImage.id,
      '/var/runtime/bootstrap',
      '--serve'
    ],
    byName: {}
  },
  {
    case: 'a variable with a line break: passed by name, its value only in the CLI environment',
    launch: {
      name: 'lambda-smoke-4-ff',
      image: amd64Image,
      function: {
        ...orders,
        overrides: { environment: { CERT: 'line one\nline two', STAGE: 'prod' } }
      },
      runtimeApi: '172.18.0.1:40005',
      network: 'lambda-smoke-4-ff'
    },
    args: [
      ...lambdaLike('linux/amd64', 'lambda-smoke-4-ff', 128),
      ENV_FILE,
      '--env',
      'CERT',
      '--entrypoint=/lambda-entrypoint.sh',
      amd64Image.id,
      'index.handler'
    ],
    byName: { CERT: 'line one\nline two' }
  }
]

let secretDir: string

beforeEach(() => {
  secretDir = mkdtempSync(path.join(os.tmpdir(), 'launch-test-'))
})

afterEach(() => {
  rmSync(secretDir, { recursive: true, force: true })
})

function launched(row: Row): Started {
  const started: Started[] = []
  launchLambdaContainer(recordingDocker(started), { ...row.launch, secretDir })
  expect(started).toHaveLength(1)
  return started[0]!
}

/** The env file's variables, as docker reads them: everything after the first `=`. */
function envFileVariables(): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path.join(secretDir, 'env'), 'utf8')
      .split('\n')
      .filter(line => line !== '')
      .map(line => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )
}

describe('launchLambdaContainer', () => {
  it.each(rows)('gives docker run the exact arguments for $case', row => {
    const { name, args } = launched(row)
    expect(name).toBe(row.launch.name)
    expect(args).toEqual(
      row.args.map(arg => (arg === ENV_FILE ? `--env-file=${path.join(secretDir, 'env')}` : arg))
    )
  })

  it.each(rows)('hands the docker CLI only the variables passed by name for $case', row => {
    expect(launched(row).options?.env).toEqual(row.byName)
  })

  it.each(rows)('writes the Runtime API address into the env file (mode 0600) for $case', row => {
    launched(row)
    const file = path.join(secretDir, 'env')
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(envFileVariables().AWS_LAMBDA_RUNTIME_API).toBe(row.launch.runtimeApi)
  })

  it('puts no variable value on the command line', () => {
    const row = rows[2]!
    const args = launched(row).args.join(' ')
    expect(args).not.toContain('prod')
    expect(args).not.toContain(row.launch.runtimeApi)
    expect(envFileVariables().STAGE).toBe('prod')
  })

  it("names the function's version and a fresh 32-hex-digit stream in the log stream name", () => {
    launched(rows[2]!)
    const first = envFileVariables()
    expect(first.AWS_LAMBDA_FUNCTION_VERSION).toBe('3')
    expect(first.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[3\][0-9a-f]{32}$/)
    launched(rows[2]!)
    expect(envFileVariables().AWS_LAMBDA_LOG_STREAM_NAME).not.toBe(first.AWS_LAMBDA_LOG_STREAM_NAME)
  })

  it("passes the caller's mask for the container's output on to docker", () => {
    const mask = (line: string) => line.replace('secret', '***')
    const started: Started[] = []
    launchLambdaContainer(recordingDocker(started), { ...rows[0]!.launch, secretDir, mask })
    expect(started[0]?.options?.mask?.('a secret')).toBe('a ***')
  })

  it('returns the container docker started', async () => {
    const started: Started[] = []
    const container = launchLambdaContainer(recordingDocker(started), {
      ...rows[0]!.launch,
      secretDir
    })
    await expect(container.exited).resolves.toEqual({ exitCode: 0, oomKilled: false })
  })
})
