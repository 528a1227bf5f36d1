import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'

/**
 * `function-name` alone, when the repository cannot be taken from the functions: the action
 * refuses while resolving the targets, before anything is built. The run has no engine (aws/),
 * so a build it started would fail the test. Pushing to the repository taken from the function
 * is in engine/repository-from-function.test.ts.
 */

const sandbox = useSandbox()

/** The build inputs of a run that must stop before it builds. */
const build = {
  context: path.join(fixturesDir, 'provided-multistage'),
  target: 'runtime'
}

describe('the repository taken from the function', () => {
  it('needs the input for a function that runs no image yet, and changes nothing', async () => {
    const fn = await sandbox.seed({ label: 'no-image' })
    const updatesBefore = await sandbox.callsTo('UpdateFunctionCode')
    const run = await sandbox.run({ ...build, 'function-name': fn.name })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[repository-not-derivable]')
    expect(run.stdout).toContain(`${fn.name} runs no image yet`)
    expect(run.stdout).toContain('Set repository')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(updatesBefore)
    // Refused while resolving the targets: nothing was built, so nothing could be pushed.
    expect(run.outputs.built).toBeUndefined()
    expect(run.outputs['image-uri']).toBeUndefined()
  })

  it('needs the input when the functions run images from two repositories', async () => {
    const digest = `sha256:${'1'.repeat(64)}`
    const first = sandbox.uniqueName('two-a')
    const second = sandbox.uniqueName('two-b')
    for (const name of [first, second]) {
      await sandbox.control.createFunction({
        account: TOOLING_ACCOUNT,
        region: DEFAULT_REGION,
        name,
        packageType: 'Image',
        imageUri: `${registryHost()}/${name}@${digest}`
      })
    }
    const run = await sandbox.run({ ...build, 'function-name': `${first}\n${second}` })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[repository-not-derivable]')
    expect(run.stdout).toContain(`${registryHost()}/${first}: ${first}`)
    expect(run.stdout).toContain(`${registryHost()}/${second}: ${second}`)
  })
})
