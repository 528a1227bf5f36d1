import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { repoRoot } from '../../../stack/run-action.js'
import { fixtureImage, useSandbox } from '../harness.js'

/**
 * The action's crash paths that need no build (dist/index.js, the real registry, the AWS
 * stand-in): a runner whose GITHUB_OUTPUT cannot be written gets one annotation, not a dump of
 * the bundle, after a deploy of an image already in the registry. The secret and cancel paths of
 * the smoke test are in serial/hardening.test.ts.
 */

const sandbox = useSandbox()

describe('a runner whose GITHUB_OUTPUT cannot be written', () => {
  it('fails with one ::error:: line, after the deploy, printing under 20 kB', async () => {
    const fn = await sandbox.seed({
      label: 'hardening-no-output',
      function: { timeout: 90, memorySize: 256 }
    })
    const image = await sandbox.copyImage(
      await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' }),
      fn.repository,
      'hardening'
    )
    await sandbox.control.clearCalls()
    const run = await sandbox.run(
      { 'function-name': fn.name, image, 'wait-timeout': '60' },
      { env: { GITHUB_OUTPUT: path.join(repoRoot, 'no-such-directory', 'github-output') } }
    )
    expect(run.exitCode).not.toBe(0)
    const errors = run.stdout.split('\n').filter(line => line.startsWith('::error::'))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^::error::\[outputs-not-written\] .*the deploy itself ran/)
    expect(Buffer.byteLength(run.stdout) + Buffer.byteLength(run.stderr)).toBeLessThan(20_000)
    // The summary is still written, and names the failure.
    expect(run.summary).toContain('outputs-not-written')
    const calls = (await sandbox.control.calls()).map(call => `${call.service}:${call.operation}`)
    expect(calls).toContain('lambda:UpdateFunctionCode')
  })
})
