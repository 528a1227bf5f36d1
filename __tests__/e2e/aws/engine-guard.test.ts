import { describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import path from 'node:path'
import { EngineUseInAwsSuite, fixtureImage, fixturesDir, useSandbox } from '../harness.js'

/**
 * The guard of the store matrix. Suites under e2e/aws run once, on whichever image store comes
 * first, so what they prove must not depend on the store: their action gets no Docker engine.
 * An image already in the registry deploys without one; a build is stopped by the guard, which
 * names the fix.
 */

const sandbox = useSandbox()

describe('an AWS-only suite', () => {
  it('deploys an image already in the registry without reaching any engine', async () => {
    const image = await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
    const fn = await sandbox.seed({ label: 'guard-deploy' })
    const uri = await sandbox.copyImage(image, fn.repository)
    const run = await sandbox.run({ 'function-name': fn.name, image: uri })
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.outputs['image-uri']).toBe(uri)
    const live = await sandbox
      .clients()
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(live.Configuration?.CodeSha256).toBe(image.digest.replace('sha256:', ''))
  })

  it('fails, naming the fix, when its action would build an image', async () => {
    const fn = await sandbox.seed({ label: 'guard-build' })
    await expect(
      sandbox.run({
        'function-name': fn.name,
        repository: fn.repository,
        context: path.join(fixturesDir, 'provided-multistage'),
        target: 'runtime'
      })
    ).rejects.toThrow(EngineUseInAwsSuite)
  })
})
