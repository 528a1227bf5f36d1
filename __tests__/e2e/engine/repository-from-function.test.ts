import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { fixtureImage, fixturesDir, useSandbox } from '../harness.js'

/**
 * `function-name` alone, on the build path: the repository is the one the function already runs
 * its image from, and the new build is pushed there (through the real engine and registry, so
 * the push provably lands in that repository). With `image` the repository is the image's own,
 * so this exists only when the action builds. The refusals, which happen before anything is
 * built, are in aws/repository-from-function.test.ts.
 */

const sandbox = useSandbox()

describe('the repository taken from the function', () => {
  it('pushes a new build to the repository the function runs its image from', async () => {
    const fn = await sandbox.seed({
      label: 'derived',
      image: await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
    })

    const run = await sandbox.run({
      'function-name': fn.name,
      context: path.join(fixturesDir, 'provided-multistage'),
      target: 'runtime',
      'build-args': 'VERSION=2'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(
      `repository is empty: pushing to ${fn.repository}, the repository ${fn.name} runs its image from.`
    )
    expect(run.outputs.repository).toBe(fn.repository)
    expect(run.outputs['image-uri']).toMatch(new RegExp(`^${fn.repository}@sha256:[0-9a-f]{64}$`))
    expect(run.outputs['image-digest']).not.toBe(fn.digest)
    expect(run.outputs.deployed).toBe('true')
    expect(run.summary).toContain('repository was empty; taken from the image')
  })
})
