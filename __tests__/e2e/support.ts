import { expect } from '@jest/globals'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun } from '../../stack/run-action.js'
import topology from '../../stack/topology.json' with { type: 'json' }

/** What the e2e suites share: the registry credential, and the check that none is left behind. */

/** The password the stand-in's GetAuthorizationToken hands out (stack/setup.sh made it). */
export const registryPassword = readFileSync(
  path.join(topology.stateDir, 'registry-password'),
  'utf8'
).trim()

/** The same credential as docker stores it in a config.json `auths` entry. */
export const registryAuth = Buffer.from(`AWS:${registryPassword}`).toString('base64')

/** Every file under a directory, recursively. */
export function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap(entry => {
    const full = path.join(dir, entry)
    const stat = statSync(full, { throwIfNoEntry: false })
    if (!stat) return []
    return stat.isDirectory() ? filesUnder(full) : [full]
  })
}

/** The registry credential must be in no log, output, summary or file the run left behind. */
export function expectNoCredentialLeft(run: ActionRun): void {
  // `::add-mask::` is how the runner learns a secret; it never shows that line, and masks the
  // value everywhere else. Every other line must be free of it.
  const shown = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  // A run that pushed must have told the runner to mask the password before using it.
  if (run.exitCode === 0 && run.stdout.includes('::group::Push')) {
    expect(run.stdout).toContain(`::add-mask::${registryPassword}`)
  }
  for (const text of [shown, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
    expect(text).not.toContain(registryPassword)
    expect(text).not.toContain(registryAuth)
  }
  const left = [...filesUnder(run.runnerTemp), ...filesUnder(run.home)]
  for (const file of left) {
    const content = readFileSync(file, 'utf8')
    expect(content.includes(registryPassword) || content.includes(registryAuth)).toBe(false)
  }
  expect(left.filter(file => file.endsWith('config.json'))).toEqual([])
  const userConfig = path.join(os.homedir(), '.docker', 'config.json')
  if (existsSync(userConfig)) expect(readFileSync(userConfig, 'utf8')).not.toContain(registryAuth)
}
