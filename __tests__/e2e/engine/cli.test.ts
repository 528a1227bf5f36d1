import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runCli, type CliRun } from '../../../stack/run-action.js'
import { fixturesDir } from '../harness.js'

/**
 * The bundled CLI's `check` in a terminal (issue 27): GITHUB_ACTIONS unset, as on a laptop. It
 * runs the action's own image checks and smoke test against the engine, whose steps log
 * workflow commands and `[command]` echoes for the runner; a terminal must get plain text.
 */

const tag = `lambda-image-deploy-cli-${process.pid}:smoke-provided-bootstrap`

beforeAll(() => {
  // The fixture passes the image checks and the smoke test (its Dockerfile says so), built here
  // for amd64, Lambda's x86_64.
  execFileSync(
    'docker',
    [
      'buildx',
      'build',
      '--load',
      '--provenance=false',
      '--sbom=false',
      '--platform=linux/amd64',
      '--tag',
      tag,
      path.join(fixturesDir, 'smoke-provided-bootstrap')
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }
  )
})

afterAll(() => {
  execFileSync('docker', ['image', 'rm', tag], { stdio: 'ignore' })
})

/** The CLI as a user runs it in a terminal: GITHUB_ACTIONS unset (runCli starts from no env). */
function terminal(argv: string[]): Promise<CliRun> {
  const engine: Record<string, string> = {
    HOME: mkdtempSync(path.join(os.tmpdir(), 'cli-home-'))
  }
  for (const name of ['DOCKER_HOST', 'DOCKER_CONFIG'] as const) {
    const value = process.env[name]
    if (value) engine[name] = value
  }
  // The CLI's check calls no AWS API; the endpoint only completes runCli's settings.
  return runCli(argv, { standInUrl: 'http://127.0.0.1:9', env: engine })
}

describe('lambda-image-deploy check in a terminal', () => {
  it('checks and smoke-tests a local image in plain text, with no workflow command', async () => {
    const run = await terminal(['check', tag, '--smoke-test', '--event', '{"a": 1}'])
    expect(run.stderr).toBe('')
    expect(run.exitCode).toBe(0)
    const runnerLines = `${run.stdout}\n${run.stderr}`
      .split('\n')
      .filter(line => line.startsWith('::') || line.startsWith('[command]'))
    expect(runnerLines).toEqual([])
    expect(run.stdout).toContain(`${tag}: passes the image checks (x86_64).`)
    expect(run.stdout).toContain(`${tag}: passes the smoke test`)
    // What the runner would fold or annotate is there as text: headings and the commands run.
    expect(run.stdout).toMatch(/^==> Smoke test: /m)
    expect(run.stdout).toMatch(/^\$ docker run /m)
  })
})
