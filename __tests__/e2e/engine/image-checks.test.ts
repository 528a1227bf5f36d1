import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../../stack/run-action.js'
import { startStandIn, type StandIn } from '../../../stack/stand-in/server.js'
import { StandInControl } from '../../../stack/stand-in/control-client.js'

/**
 * Every image-check finding (issue 4) through the action: the real engine builds a fixture that
 * triggers it, and the step fails (or warns) with the finding's id before anything is pushed.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const fixtures = path.join(repoRoot, '__tests__', 'fixtures')

let standIn: StandIn
let control: StandInControl
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn.close()
})

async function deployFixture(
  fixture: string,
  inputs: Record<string, string> = {},
  environment?: Record<string, string>
): Promise<{ run: ActionRun; name: string }> {
  unique += 1
  const name = `checks-${process.pid}-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    environment
  })
  const run = await runAction(
    {
      'function-name': name,
      repository: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`,
      context: path.join(fixtures, fixture),
      'build-args': `VERSION=${name}`,
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
  return { run, name }
}

function annotation(id: string, level: 'error' | 'warning'): string {
  return `::${level} title=${id} (Lambda image check)`
}

describe('findings that stop the step before the push', () => {
  it.each([
    [
      'an entrypoint for another architecture',
      'wrong-architecture',
      {},
      'entrypoint-wrong-architecture'
    ],
    ['a missing entrypoint', 'missing-entrypoint', {}, 'entrypoint-missing'],
    ['a symbolic-link entrypoint', 'symlink-entrypoint', {}, 'entrypoint-symlink'],
    ['an entrypoint only root may run', 'private-entrypoint', {}, 'entrypoint-not-executable'],
    ['an entrypoint that is a directory', 'not-a-file-entrypoint', {}, 'entrypoint-not-a-file'],
    [
      'task files only their owner can read',
      'unreadable-task-files',
      {},
      'task-files-not-readable'
    ],
    [
      'a function-config entrypoint that is not in the image',
      'provided-multistage',
      { target: 'runtime', 'function-config': '"*":\n  entrypoint: ["/opt/not-there"]' },
      'override-entrypoint-missing'
    ],
    [
      'a warning, with warnings-as-errors',
      'no-runtime-client',
      { 'warnings-as-errors': 'true' },
      'runtime-interface-client-not-found'
    ]
  ])('refuses %s', async (_, fixture, inputs: Record<string, string>, id) => {
    await control.clearCalls()
    const { run, name } = await deployFixture(fixture, inputs)
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[image-checks-failed]')
    expect(run.stdout).toContain(annotation(id, 'error'))
    expect(run.stdout).not.toContain('::group::Push')
    expect(await control.registryTags(ACCOUNT, REGION, name)).toEqual([])
    expect((await control.calls()).map(call => call.operation)).not.toContain('UpdateFunctionCode')
  })
})

describe('warnings and waivers', () => {
  it('warns, with the client to add, when no runtime interface client is recognised', async () => {
    const { run } = await deployFixture('no-runtime-client')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(annotation('runtime-interface-client-not-found', 'warning'))
    expect(run.stdout).toContain('pip install awslambdaric')
  })

  it('waives a finding by its id, as a notice', async () => {
    const { run } = await deployFixture('unreadable-task-files', {
      'ignore-findings': 'task-files-not-readable'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('::notice::Waived by ignore-findings: [task-files-not-readable]')
    expect(run.stdout).not.toContain(annotation('task-files-not-readable', 'error'))
  })
})

describe('smoke test through the action', () => {
  it('invokes a good image with the function’s variables before pushing it, showing no value', async () => {
    const secret = `token-${process.pid}-not-for-logs`
    const { run } = await deployFixture(
      'smoke-good',
      {
        'smoke-test': 'true',
        'smoke-test-events': '{"order": 7}',
        'smoke-test-expect':
          'subset {"echo": {"order": 7}, "tmp": "writable", "user": "993:990", "env": {"GREETING": "hello"}}'
      },
      { GREETING: 'hello', API_TOKEN: secret }
    )
    // The variables reach docker through an env file, never the command line; the runner is
    // told to mask the value, and no other line shows it.
    expect(run.stdout).toMatch(/docker run --name lambda-smoke-\S+ .*--env-file=/)
    expect(run.stdout).not.toContain('API_TOKEN=')
    expect(run.stdout).toContain(`::add-mask::${secret}`)
    const shown = run.stdout
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    expect(shown + run.stderr + run.summary).not.toContain(secret)
    expect(run.stdout + run.stderr).not.toContain('::error')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('::group::Smoke test')
    expect(run.stdout.indexOf('::group::Smoke test')).toBeLessThan(
      run.stdout.indexOf('::group::Push')
    )
    expect(run.summary).toContain('<h3>Smoke test</h3>')
  })

  it('stops before the push when the function returns an error', async () => {
    const { run, name } = await deployFixture('smoke-error-response', { 'smoke-test': 'true' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[smoke-test-function-error]')
    expect(await control.registryTags(ACCOUNT, REGION, name)).toEqual([])
  })
})
