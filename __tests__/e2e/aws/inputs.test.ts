import { describe, expect, it } from '@jest/globals'
import { GetAliasCommand, GetFunctionCommand } from '@aws-sdk/client-lambda'
import { fixtureImage, useSandbox } from '../harness.js'
import { expectFailure } from '../support.js'

/**
 * Inputs as users coming from neighbouring actions write them (issue 27): aws-lambda-deploy's
 * `image-uri`, docker/build-push-action's `linux/amd64`, and an alias without `publish: true`.
 * Deploy-only runs of an image already in the registry, so no engine is needed.
 */

const sandbox = useSandbox()
const firstImage = () => fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
const secondImage = () =>
  fixtureImage({
    fixture: 'provided-multistage',
    target: 'runtime',
    buildArgs: { VERSION: 'second' }
  })

describe('inputs written in a neighbouring action’s words', () => {
  it('refuses image-uri, naming the image input, and changes nothing', async () => {
    const fn = await sandbox.seed({ label: 'image-uri', image: await firstImage() })
    const other = await sandbox.copyImage(await secondImage(), fn.repository, 'other')
    const before = await sandbox.control.state()
    const run = await sandbox.run({ 'function-name': fn.name, 'image-uri': other })
    expectFailure(run, 'unknown-input')
    expect(run.stdout).toContain(`Rename image-uri to image (image: ${other})`)
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('takes architecture linux/amd64 as x86_64, switching an arm64 function to it', async () => {
    // The fixture image is built for amd64 (fixtureImage's default architecture).
    const fn = await sandbox.seed({ label: 'platform', architecture: 'arm64' })
    const image = await sandbox.copyImage(await firstImage(), fn.repository, 'amd64')
    const run = await sandbox.run({
      'function-name': fn.name,
      image,
      architecture: 'linux/amd64'
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.architecture).toBe('x86_64')
    const after = await sandbox
      .clients(fn.functionAccount, fn.region)
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(after.Configuration?.Architectures).toEqual(['x86_64'])
    expect(after.Code?.ImageUri).toBe(image)
  })
})

describe('alias implies a published version', () => {
  it('publishes a version and points a new alias at it, with no publish input', async () => {
    const fn = await sandbox.seed({ label: 'alias-only', image: await firstImage() })
    const image = await sandbox.copyImage(await secondImage(), fn.repository, 'second')
    const run = await sandbox.run({ 'function-name': fn.name, image, alias: 'live' })
    expect(run.exitCode).toBe(0)
    // The seeded function has no versions: this run's is the first.
    expect(run.outputs.version).toBe('1')
    const lambda = sandbox.clients(fn.functionAccount, fn.region).lambda
    const alias = await lambda.send(new GetAliasCommand({ FunctionName: fn.name, Name: 'live' }))
    expect(alias.FunctionVersion).toBe('1')
    const version = await lambda.send(
      new GetFunctionCommand({ FunctionName: fn.name, Qualifier: '1' })
    )
    expect(version.Code?.ImageUri).toBe(image)
  })
})
