import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { getExecOutput } from '@actions/exec'
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import topology from '../../stack/topology.json' with { type: 'json' }
import { expectNoCredentialLeft } from './support.js'

/**
 * The action's secrets and crash paths, end to end (dist/index.js, the real engine and registry,
 * the AWS stand-in): a function variable that is a secret stays off every command line and out of
 * the log while the smoke test runs; a cancelled smoke test leaves no container or network; a
 * runner whose GITHUB_OUTPUT cannot be written gets one annotation, not a dump of the bundle.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const REGISTRY = topology.ecrRegistries.find(r => r.account === ACCOUNT && r.region === REGION)!
const fixtures = path.join(repoRoot, '__tests__', 'fixtures')
const SECRET = `s3cr3t-${process.pid}-token-value`

let standIn: StandIn
let control: StandInControl
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  await standIn?.close()
})

async function seed(label: string, environment?: Record<string, string>): Promise<string> {
  unique += 1
  const name = `hardening-${label}-${process.pid}-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    architectures: ['x86_64'],
    timeout: 90,
    memorySize: 256,
    ...(environment ? { environment } : {})
  })
  return name
}

function deploy(
  name: string,
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; onStart?: (child: ChildProcess) => void } = {}
): Promise<ActionRun> {
  return runAction(
    {
      'function-name': name,
      repository: `${REGISTRY.host}/${name}`,
      tags: 'hardening',
      'wait-timeout': '60',
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION, ...options }
  )
}

/** Every process's command line, as any user of the machine can read it. */
function commandLines(): string[] {
  const lines: string[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      lines.push(readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' '))
    } catch {
      // The process ended between the listing and the read.
    }
  }
  return lines
}

/** Reads every /proc/PID/cmdline over and over until stopped. */
function startSampler() {
  let running = true
  let sweeps = 0
  let sawSecret = false
  let sawDockerRun = false
  const loop = () => {
    if (!running) return
    for (const line of commandLines()) {
      if (line.includes(SECRET)) sawSecret = true
      if (/docker run --name lambda-smoke-/.test(line)) sawDockerRun = true
    }
    sweeps += 1
    setTimeout(loop, 2)
  }
  loop()
  return {
    stop: () => {
      running = false
      return { sweeps, sawSecret, sawDockerRun }
    }
  }
}

async function leftOver(prefix: string): Promise<{ containers: string; networks: string }> {
  const containers = await getExecOutput(
    'docker',
    ['ps', '--all', '--quiet', '--filter', `name=${prefix}`],
    { silent: true }
  )
  const networks = await getExecOutput(
    'docker',
    ['network', 'ls', '--quiet', '--filter', `name=${prefix}`],
    { silent: true }
  )
  return { containers: containers.stdout.trim(), networks: networks.stdout.trim() }
}

describe('a function variable that is a secret, in the smoke test', () => {
  it('is on no command line while the test runs, and the log shows only ***', async () => {
    const name = await seed('secret', { API_TOKEN: SECRET })
    const sampler = startSampler()
    const run = await deploy(name, {
      context: path.join(fixtures, 'smoke-secret-variable'),
      'smoke-test': 'true',
      'smoke-test-events': '{"order": 1}'
    })
    const seen = sampler.stop()
    if (run.exitCode !== 0) console.log(run.stdout.slice(-4000), run.stderr)
    expect(run.exitCode).toBe(0)
    // The sampler ran while docker ran the container, and never saw the value.
    expect(seen.sawDockerRun).toBe(true)
    expect(seen.sweeps).toBeGreaterThan(20)
    expect(seen.sawSecret).toBe(false)
    // The runner is told to mask it before the container starts; no other line carries it.
    const lines = run.stdout.split('\n')
    const maskLine = lines.indexOf(`::add-mask::${SECRET}`)
    expect(maskLine).toBeGreaterThanOrEqual(0)
    expect(maskLine).toBeLessThan(lines.findIndex(line => line.includes('docker run --name')))
    const shown = lines.filter(line => !line.startsWith('::add-mask::')).join('\n')
    expect(shown).not.toContain(SECRET)
    expect(run.stderr).not.toContain(SECRET)
    expect(run.summary).not.toContain(SECRET)
    // The function did print it (at init, per event, in its response): shown as ***.
    expect(shown).toContain('init with token ***')
    expect(shown).toContain('handling with token ***')
    expect(shown).toMatch(/response \{"token":"\*\*\*"\}/)
    expectNoCredentialLeft(run)
  })

  it('leaves no container or network when the job is cancelled mid-invocation', async () => {
    const name = await seed('cancel', { API_TOKEN: SECRET })
    let child: ChildProcess | undefined
    let signalled = 0
    const run = await deploy(
      name,
      {
        context: path.join(fixtures, 'smoke-secret-variable'),
        'smoke-test': 'true',
        'smoke-test-events': '{"hold": true}',
        'smoke-test-timeout': '80'
      },
      {
        onStart: started => {
          child = started
          let out = ''
          started.stdout?.on('data', (chunk: Buffer) => {
            out += chunk.toString()
            if (signalled === 0 && out.includes('handling with token')) {
              signalled = performance.now()
              started.kill('SIGTERM')
            }
          })
        }
      }
    )
    const exitedAfterMs = performance.now() - signalled
    expect(signalled).toBeGreaterThan(0)
    expect(run.exitCode).toBe(143)
    // Within the runner's grace period from SIGINT to SIGKILL.
    expect(exitedAfterMs).toBeLessThan(7_500)
    expect(await leftOver(`lambda-smoke-${child!.pid}-`)).toEqual({ containers: '', networks: '' })
    expect(run.stdout).toContain('::error::[cancelled]')
    expectNoCredentialLeft(run)
  })
})

describe('a runner whose GITHUB_OUTPUT cannot be written', () => {
  it('fails with one ::error:: line, after the deploy, printing under 20 kB', async () => {
    const name = await seed('no-output')
    await control.clearCalls()
    const run = await deploy(
      name,
      { context: path.join(fixtures, 'provided-multistage'), target: 'runtime' },
      { env: { GITHUB_OUTPUT: path.join(repoRoot, 'no-such-directory', 'github-output') } }
    )
    expect(run.exitCode).not.toBe(0)
    const errors = run.stdout.split('\n').filter(line => line.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^::error::\[outputs-not-written\] .*the deploy itself ran/)
    expect(Buffer.byteLength(run.stdout) + Buffer.byteLength(run.stderr)).toBeLessThan(20_000)
    // The summary is still written, and names the failure.
    expect(run.summary).toContain('outputs-not-written')
    const calls = (await control.calls()).map(call => `${call.service}:${call.operation}`)
    expect(calls).toContain('lambda:UpdateFunctionCode')
  })
})
