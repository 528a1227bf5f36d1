import { describe, expect, it } from '@jest/globals'
import type { ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import { fixturesDir, useSandbox } from '../harness.js'
import { engineLeftovers, expectNoCredentialLeft } from '../support.js'

/**
 * The action's secrets and crash paths, end to end (dist/index.js, the real engine and registry,
 * the AWS stand-in): a function variable that is a secret stays off every command line and out of
 * the log while the smoke test runs; a cancelled smoke test leaves no container or network; a
 * runner whose GITHUB_OUTPUT cannot be written gets one annotation, not a dump of the bundle
 * (aws/hardening.test.ts: it needs no build). Serial: the sampler reads every process's command
 * line on the machine, and the cancelled run must end within the runner's grace period.
 */

const fixtures = fixturesDir
const SECRET = `s3cr3t-${process.pid}-token-value`

const sandbox = useSandbox()

function seed(label: string, environment: Record<string, string>) {
  return sandbox.seed({
    label: `hardening-${label}`,
    function: { timeout: 90, memorySize: 256, environment }
  })
}

function deploy(
  fn: { name: string; repository: string },
  inputs: Record<string, string>,
  options: { onStart?: (child: ChildProcess) => void } = {}
): Promise<ActionRun> {
  return sandbox.run(
    {
      'function-name': fn.name,
      repository: fn.repository,
      tags: 'hardening',
      'wait-timeout': '60',
      ...inputs
    },
    options
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

describe('a function variable that is a secret, in the smoke test', () => {
  it('is on no command line while the test runs, and the log shows only ***', async () => {
    const fn = await seed('secret', { API_TOKEN: SECRET })
    const sampler = startSampler()
    const run = await deploy(fn, {
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
    const fn = await seed('cancel', { API_TOKEN: SECRET })
    let child: ChildProcess | undefined
    let signalled = 0
    const run = await deploy(
      fn,
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
    expect(engineLeftovers(`lambda-smoke-${child!.pid}-`)).toEqual({ containers: '', networks: '' })
    expect(run.stdout).toContain('::error::[cancelled]')
    expectNoCredentialLeft(run)
  })
})
