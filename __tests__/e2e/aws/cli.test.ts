import { describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot, runCli, type CliRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  NO_ENGINE_SOCKET,
  TOOLING_ACCOUNT,
  assertNoEngineReached,
  fixtureImage,
  fixturesDir,
  useSandbox
} from '../harness.js'

/**
 * The bundled CLI (dist/cli, or ACTION_BUNDLE_DIR/cli) in a terminal (issue 27): GITHUB_ACTIONS
 * unset, as on a laptop. Its `deploy` runs the action's own path with the action's inputs as
 * options; here on an image already in the registry (`--image`), so no engine is needed. A
 * terminal gets plain text: no workflow command (`::group::`, `::error::`) and no `[command]`
 * echo reaches it.
 */

const sandbox = useSandbox()
const firstImage = () => fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
const secondImage = () =>
  fixtureImage({
    fixture: 'provided-multistage',
    target: 'runtime',
    buildArgs: { VERSION: 'second' }
  })

/** The CLI as a user runs it in a terminal: GITHUB_ACTIONS unset (runCli starts from no env). */
async function terminal(argv: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const run = await runCli(argv, {
    standInUrl: sandbox.url,
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    env: {
      DOCKER_HOST: `unix://${NO_ENGINE_SOCKET}`,
      HOME: mkdtempSync(path.join(os.tmpdir(), 'cli-home-')),
      AWS_ENDPOINT_URL_CLOUDWATCH: sandbox.url,
      // The stack's registries use a CA made on this machine (as in runAction).
      ...(process.env.NODE_EXTRA_CA_CERTS
        ? { NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS }
        : {}),
      ...env
    }
  })
  assertNoEngineReached(run)
  return run
}

/** Lines a terminal would show as workflow commands or command echoes. */
function runnerLines(run: CliRun): string[] {
  return `${run.stdout}\n${run.stderr}`
    .split('\n')
    .filter(line => line.startsWith('::') || line.startsWith('[command]'))
}

describe('lambda-image-deploy in a terminal', () => {
  it('prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      version: string
    }
    const run = await terminal(['--version'])
    expect(run).toMatchObject({ exitCode: 0, stdout: `lambda-image-deploy ${version}\n` })
  })

  it('prints base-image as JSON with no workflow command', async () => {
    const dockerfile = path.join(fixturesDir, 'dockerfiles', 'lambda-node.Dockerfile')
    const run = await terminal(['base-image', dockerfile, '--build-arg', 'NODE_VERSION=20'])
    expect(run.exitCode).toBe(0)
    expect(runnerLines(run)).toEqual([])
    // The fixture's runtime stage starts FROM public.ecr.aws/lambda/nodejs:${NODE_VERSION}.
    expect((JSON.parse(run.stdout) as { name: string }).name).toBe(
      'public.ecr.aws/lambda/nodejs:20'
    )
  })

  it('deploys an image with the action’s inputs as options, in plain text', async () => {
    const fn = await sandbox.seed({ label: 'cli-deploy', image: await firstImage() })
    const image = await sandbox.copyImage(await secondImage(), fn.repository, 'second')
    const run = await terminal(['deploy', '--function-name', fn.name, '--image', image])
    expect(run.stderr).toBe('')
    expect(run.exitCode).toBe(0)
    expect(runnerLines(run)).toEqual([])
    // Group titles become headings; the outputs are printed at the end.
    expect(run.stdout).toMatch(/^==> \S/m)
    expect(run.stdout).toContain('\n==> Outputs\n')
    expect(run.stdout).toContain(`\nimage-uri: ${image}\n`)
    expect(run.stdout).toContain('\ndeployed: true\n')
    const after = await sandbox
      .clients(fn.functionAccount, fn.region)
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(after.Code?.ImageUri).toBe(image)
  })

  it('takes inputs from INPUT_ variables too, as the runner passes them', async () => {
    const fn = await sandbox.seed({ label: 'cli-env', image: await firstImage() })
    const image = await sandbox.copyImage(await secondImage(), fn.repository, 'second')
    const run = await terminal(['deploy', '--image', image], { 'INPUT_FUNCTION-NAME': fn.name })
    expect(run.exitCode).toBe(0)
    const after = await sandbox
      .clients(fn.functionAccount, fn.region)
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(after.Code?.ImageUri).toBe(image)
  })

  it('reports a failed deploy as a plain error line and exits 1, changing nothing', async () => {
    const fn = await sandbox.seed({ label: 'cli-fail', image: await firstImage() })
    const missing = sandbox.uniqueName('cli-missing')
    const before = await sandbox.control.state()
    const run = await terminal(['deploy', '--function-name', missing, '--image', fn.image!])
    expect(run.exitCode).toBe(1)
    expect(runnerLines(run)).toEqual([])
    expect(run.stdout).toMatch(/^error: \[function-not-found\] .*\S/m)
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('keeps the workflow commands inside a GitHub Actions step, where the runner reads them', async () => {
    const fn = await sandbox.seed({ label: 'cli-in-step', image: await firstImage() })
    const run = await terminal(['deploy', '--function-name', fn.name, '--image', fn.image!], {
      GITHUB_ACTIONS: 'true'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(/^::group::/m)
  })

  it('refuses --image-uri, naming --image, with exit code 2', async () => {
    const run = await terminal(['deploy', '--function-name', 'f', '--image-uri', 'x'])
    expect(run.exitCode).toBe(2)
    expect(run.stdout).toBe('')
    expect(run.stderr).toContain('--image-uri is not an input of this action')
    expect(run.stderr).toContain('use --image')
  })
})
