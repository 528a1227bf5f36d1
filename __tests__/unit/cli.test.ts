import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from '@jest/globals'
import type { CliIo } from '../../src/cli/command.js'
import { runCli } from '../../src/cli/run.js'

const root = fileURLToPath(new URL('../..', import.meta.url))
const fixture = (name: string): string => `__tests__/fixtures/dockerfiles/${name}`

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI in this process, with files read relative to the repository root. */
async function runInProcess(
  argv: string[],
  env: Record<string, string | undefined> = {}
): Promise<Run> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: text => {
      stdout += text
    },
    stderr: text => {
      stderr += text
    },
    readTextFile: path => readFile(new URL(path, `file://${root}`), 'utf8'),
    env
  }
  const code = await runCli(argv, io)
  return { code, stdout, stderr }
}

/** Runs src/cli.ts as its own node process, the way a user runs the command. */
function runProcess(argv: string[]): Promise<Run> {
  const env = { ...process.env }
  delete env.NODE_OPTIONS // jest's --experimental-vm-modules is not for the child
  return new Promise(resolve => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...argv],
      { cwd: root, env },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ code, stdout, stderr })
      }
    )
  })
}

describe('lambda-image-deploy base-image, as a process', () => {
  it('prints the AWS base image of the target stage as JSON and exits 0', async () => {
    const run = await runProcess([
      'base-image',
      fixture('lambda-node.Dockerfile'),
      '--target',
      'runtime',
      '--build-arg',
      'NODE_VERSION=20',
      '--platform',
      'linux/arm64'
    ])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual({
      dockerfile: fixture('lambda-node.Dockerfile'),
      target: { index: 1, name: 'runtime' },
      name: 'public.ecr.aws/lambda/nodejs:20',
      reference: {
        registry: 'public.ecr.aws',
        repository: 'lambda/nodejs',
        tag: '20',
        digest: null,
        canonical: 'public.ecr.aws/lambda/nodejs:20'
      },
      scratch: false,
      isAwsLambdaBase: true,
      platform: null,
      platformIsSymbolic: false,
      line: 14,
      chain: [
        {
          index: 1,
          name: 'runtime',
          line: 14,
          from: 'public.ecr.aws/lambda/nodejs:20',
          platform: null
        }
      ],
      copiedFrom: [
        {
          name: 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1',
          reference: {
            registry: 'public.ecr.aws',
            repository: 'awsguru/aws-lambda-adapter',
            tag: '0.9.1',
            digest: null,
            canonical: 'public.ecr.aws/awsguru/aws-lambda-adapter:0.9.1'
          },
          stage: { index: 1, name: 'runtime' },
          line: 16
        }
      ],
      labels: { 'org.opencontainers.image.base.name': 'public.ecr.aws/lambda/nodejs:20' }
    })
    expect(run.stderr).toBe('')
  })

  it('reports a pinned non-AWS base image with its digest label', async () => {
    const run = await runProcess(['base-image', fixture('non-aws.Dockerfile')])
    expect(run.code).toBe(0)
    const output = JSON.parse(run.stdout) as Record<string, unknown>
    const digest = 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef'
    expect(output).toMatchObject({
      isAwsLambdaBase: false,
      reference: { registry: 'docker.io', repository: 'library/python', tag: '3.12-slim', digest },
      labels: { 'org.opencontainers.image.base.digest': digest }
    })
  })

  it('exits 1 with the error id on stderr and nothing on stdout when an ARG has no value', async () => {
    const run = await runProcess(['base-image', fixture('unset-arg.Dockerfile')])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('BASE_IMAGE')
    expect(run.stderr).toContain('[dockerfile-variable-without-value]')
  })

  it('exits 2 for an unknown option', async () => {
    const run = await runProcess(['base-image', fixture('scratch.Dockerfile'), '--tag', 'x'])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain("'--tag'")
  })
})

describe('runCli', () => {
  it('lists the commands and the exit codes for --help, on stdout, with 0', async () => {
    const run = await runInProcess(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('base-image')
    expect(run.stdout).toContain('Exit codes: 0 ok, 1 findings or failure, 2 usage error.')
  })

  it('shows the help on stderr and exits 2 without a command', async () => {
    const run = await runInProcess([])
    expect(run.code).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('Usage: lambda-image-deploy <command>')
  })

  it('exits 2 for an unknown command', async () => {
    const run = await runInProcess(['build'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('unknown command "build"')
  })

  it("prints the command's own help for base-image --help", async () => {
    const run = await runInProcess(['base-image', '--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('--build-arg KEY=VALUE')
  })

  it('exits 2 when the Dockerfile is missing from the command line', async () => {
    const run = await runInProcess(['base-image', '--target', 'app'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('give the path of the Dockerfile')
  })

  it('exits 2 for two Dockerfiles', async () => {
    const run = await runInProcess(['base-image', 'a', 'b'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('give one Dockerfile, not 2')
  })

  it('exits 2 for a build arg without a name', async () => {
    const run = await runInProcess([
      'base-image',
      fixture('scratch.Dockerfile'),
      '--build-arg',
      '=1'
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('has no name')
  })

  it('takes a build arg given without a value from the environment, as docker does', async () => {
    const run = await runInProcess(
      ['base-image', fixture('unset-arg.Dockerfile'), '--build-arg', 'BASE_IMAGE'],
      { BASE_IMAGE: 'public.ecr.aws/lambda/java:21' }
    )
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({
      name: 'public.ecr.aws/lambda/java:21',
      isAwsLambdaBase: true
    })
  })

  it('leaves out a build arg given without a value that the environment does not have', async () => {
    const run = await runInProcess([
      'base-image',
      fixture('unset-arg.Dockerfile'),
      '--build-arg',
      'BASE_IMAGE'
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('[dockerfile-variable-without-value]')
  })

  it('passes --target and --platform through', async () => {
    const run = await runInProcess([
      'base-image',
      fixture('lambda-node.Dockerfile'),
      '--target=build',
      '--platform=linux/arm64'
    ])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({
      target: { index: 0, name: 'build' },
      name: 'node:22-bookworm',
      platform: '$BUILDPLATFORM',
      platformIsSymbolic: true
    })
  })

  it('reports scratch with null name and reference and no labels', async () => {
    const run = await runInProcess(['base-image', fixture('scratch.Dockerfile')])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({
      scratch: true,
      name: null,
      reference: null,
      labels: {}
    })
  })

  it('exits 1 naming the path when the Dockerfile cannot be read', async () => {
    const run = await runInProcess(['base-image', 'no/such/Dockerfile'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('"no/such/Dockerfile" (ENOENT)')
    expect(run.stderr).toContain('[dockerfile-unreadable]')
  })

  it('exits 1 for an unknown target', async () => {
    const run = await runInProcess([
      'base-image',
      fixture('lambda-node.Dockerfile'),
      '--target',
      'prod'
    ])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('[dockerfile-target-not-found]')
  })
})
