import { describe, expect, it } from '@jest/globals'
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand
} from '@aws-sdk/client-lambda'
import type { ActionRun } from '../../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixtureImage, useSandbox } from '../harness.js'
import { functionsOf } from '../support.js'

/**
 * Issue 26 items 1 and 2, end to end. A function on a capacity provider (Lambda Managed
 * Instances) runs published versions only: the action publishes the new code ($LATEST.PUBLISHED,
 * or a numbered version with publish), waits while the stand-in "provisions" it, and reports
 * which version serves; a publish the capacity provider cannot serve fails with its reason
 * code. A durable function is verified through a version, or the run is refused before any
 * change. The stand-in RUNS the images for Invoke (real engine of the test process); the action
 * gets none. Images: the smoke-good fixture (answers with the event and
 * AWS_LAMBDA_FUNCTION_VERSION) replaces the smoke-error-response one (throws), so which code ran
 * is known from how the fixtures were made.
 */

const sandbox = useSandbox()
const PROVIDER = `arn:aws:lambda:${DEFAULT_REGION}:${TOOLING_ACCOUNT}:capacity-provider:fleet`

interface FunctionEntry {
  status: string
  version?: string
  alias?: string
  serving?: string
  error?: string
  plan?: string[]
  verify?: { qualifier: string; executedVersion?: string; passed: boolean; reason?: string }
}

const entryOf = (run: ActionRun) => functionsOf<FunctionEntry>(run)[0]

/** A function running the throwing image, with the answering image copied beside it. */
async function seed(label: string, kind: Record<string, unknown>, policy?: string) {
  const fn = await sandbox.seed({
    label,
    policy,
    image: await fixtureImage({ fixture: 'smoke-error-response' }),
    function: { timeout: 10, ...kind }
  })
  const image = await sandbox.copyImage(
    await fixtureImage({ fixture: 'smoke-good' }),
    fn.repository
  )
  return { ...fn, image, newDigest: image.slice(image.indexOf('@sha256:') + 8) }
}

/** Lambda's pull grant in the repository's own account (Knowledge Center "lambda-ecr-image"). */
const LAMBDA_PULL_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'LambdaECRImageRetrievalPolicy',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    }
  ]
})

const managed = (extra: Record<string, unknown> = {}) => ({
  managedInstances: { capacityProviderArn: PROVIDER, provisioningMs: 1500, ...extra }
})

const lambda = () => sandbox.clients().lambda
const versionOf = (name: string, qualifier: string) =>
  lambda().send(new GetFunctionConfigurationCommand({ FunctionName: name, Qualifier: qualifier }))

describe('a function on a capacity provider (Lambda Managed Instances)', () => {
  it('is deployed through $LATEST.PUBLISHED: unqualified invokes run the new image once it is Active', async () => {
    const fn = await seed('mi-latest', managed())
    const run = await sandbox.run({ 'function-name': fn.name, image: fn.image })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.version).toBe('$LATEST.PUBLISHED')
    expect(run.outputs.deployed).toBe('true')
    expect(entryOf(run)?.serving).toBe('$LATEST.PUBLISHED (unqualified invokes)')
    expect(run.summary).toContain('serves: $LATEST.PUBLISHED')
    expect(run.stdout).toContain(
      'provisioning execution environments for version $LATEST.PUBLISHED'
    )
    const published = await versionOf(fn.name, '$LATEST.PUBLISHED')
    expect(published.State).toBe('Active')
    expect(published.CodeSha256).toBe(fn.newDigest)
    // What callers get: the unqualified invoke runs the new image in $LATEST.PUBLISHED.
    const answer = await lambda().send(
      new InvokeCommand({ FunctionName: fn.name, Payload: Buffer.from('{"orderId":7}') })
    )
    expect(answer.FunctionError).toBeUndefined()
    expect(answer.ExecutedVersion).toBe('$LATEST.PUBLISHED')
    const body = JSON.parse(Buffer.from(answer.Payload!).toString('utf8')) as {
      echo: unknown
      env: Record<string, string>
    }
    expect(body.echo).toEqual({ orderId: 7 })
    expect(body.env.AWS_LAMBDA_FUNCTION_VERSION).toBe('$LATEST.PUBLISHED')
  })

  it('with publish and an alias: waits for the numbered version, verifies it by number, then moves the alias', async () => {
    const fn = await seed('mi-alias', managed())
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      'verify-event': '{"orderId": 8}',
      'verify-expect':
        'subset {"echo": {"orderId": 8}, "env": {"AWS_LAMBDA_FUNCTION_VERSION": "1"}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.version).toBe('1')
    expect(entryOf(run)?.verify).toMatchObject({
      qualifier: '1',
      executedVersion: '1',
      passed: true
    })
    expect(entryOf(run)?.serving).toContain('alias live')
    expect((await versionOf(fn.name, '1')).State).toBe('Active')
    const alias = await lambda().send(new GetAliasCommand({ FunctionName: fn.name, Name: 'live' }))
    expect(alias.FunctionVersion).toBe('1')
  })

  it('verifies through $LATEST.PUBLISHED without publish', async () => {
    const fn = await seed('mi-verify', managed())
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'verify-event': '{"orderId": 9}',
      'verify-expect':
        'subset {"echo": {"orderId": 9}, "env": {"AWS_LAMBDA_FUNCTION_VERSION": "$LATEST.PUBLISHED"}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(entryOf(run)?.verify).toMatchObject({
      qualifier: '$LATEST.PUBLISHED',
      executedVersion: '$LATEST.PUBLISHED',
      passed: true
    })
  })

  it('fails when the capacity provider cannot serve the publish, naming InsufficientCapacity and a fix', async () => {
    const fn = await seed(
      'mi-capacity',
      managed({ provisioningMs: 500, provisioningFailure: { reasonCode: 'InsufficientCapacity' } })
    )
    const run = await sandbox.run({ 'function-name': fn.name, image: fn.image })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[published-version-not-ready]')
    expect(run.stdout).toContain('$LATEST.PUBLISHED')
    expect(run.stdout).toContain('is Failed (InsufficientCapacity)')
    expect(run.stdout).toContain('allow more instance types or subnets')
    expect(entryOf(run)?.status).toBe('failed')
    expect((await versionOf(fn.name, '$LATEST.PUBLISHED')).StateReasonCode).toBe(
      'InsufficientCapacity'
    )
  })

  it('leaves the alias alone when the numbered version ends ActiveNonInvocable (VcpuLimitExceeded)', async () => {
    const fn = await seed(
      'mi-vcpu',
      managed({
        provisioningMs: 500,
        provisioningFailure: { reasonCode: 'VcpuLimitExceeded', state: 'ActiveNonInvocable' }
      })
    )
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('is ActiveNonInvocable (VcpuLimitExceeded)')
    expect(run.stdout).toContain('alias live was not moved')
    expect(run.stdout).toContain('vCPU quota')
    const missing = await lambda()
      .send(new GetAliasCommand({ FunctionName: fn.name, Name: 'live' }))
      .then(
        () => undefined,
        (error: Error) => error.name
      )
    expect(missing).toBe('ResourceNotFoundException')
  })

  it('dry-run says it would publish $LATEST.PUBLISHED and wait for it, and publishes nothing', async () => {
    // With Lambda's pull grant in place already, as after any earlier deploy: the plan's
    // DryRun of UpdateFunctionCode needs it.
    const fn = await seed('mi-dry', managed(), LAMBDA_PULL_POLICY)
    const before = await sandbox.control.state()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'dry-run': 'true',
      'verify-event': '{}'
    })
    expect(run.exitCode).toBe(0)
    expect(entryOf(run)?.plan?.join('\n')).toContain(
      'publish $LATEST.PUBLISHED (unqualified invokes run it: the function is on a capacity provider)'
    )
    expect(run.stdout).toContain(
      `Dry run: would invoke ${fn.name} once with verify-event (inline) on $LATEST.PUBLISHED once it is published and ready; nothing was invoked.`
    )
    expect(await sandbox.control.state()).toEqual(before)
  })
})

describe('a Managed Instances function with publish and no alias', () => {
  it('is refused before any change: the numbered version would serve nothing', async () => {
    const fn = await seed('mi-publish-only', managed())
    const before = await sandbox.control.state()
    const run = await sandbox.run({ 'function-name': fn.name, image: fn.image, publish: 'true' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[publish-needs-alias]')
    expect(run.stdout).toContain('$LATEST.PUBLISHED')
    expect(run.outputs.deployed).toBe('false')
    expect(await sandbox.control.state()).toEqual(before)
  })
})

describe('a durable function', () => {
  const durable = { durableConfig: { ExecutionTimeout: 900 } }

  it('refuses a verify invoke of $LATEST before any change, naming why', async () => {
    const fn = await seed('durable-refuse', durable)
    const before = await sandbox.control.state()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      'verify-event': '{"orderId": 10}'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error::[verify-needs-version]')
    expect(run.stdout).toContain('durable function')
    expect(run.stdout).toContain('publish: true')
    expect(run.outputs.deployed).toBe('false')
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('warns that a deploy without a version changes only $LATEST', async () => {
    const fn = await seed('durable-latest', durable)
    const run = await sandbox.run({ 'function-name': fn.name, image: fn.image })
    expect(run.exitCode).toBe(0)
    const warning = run.stdout.split('\n').find(line => line.includes('changes only $LATEST'))
    expect(warning).toMatch(/^::warning::/)
  })

  it('is verified through the version it publishes', async () => {
    const fn = await seed('durable-version', durable)
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      'verify-event': '{"orderId": 11}',
      'verify-expect':
        'subset {"echo": {"orderId": 11}, "env": {"AWS_LAMBDA_FUNCTION_VERSION": "1"}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(entryOf(run)?.verify).toMatchObject({
      qualifier: '1',
      executedVersion: '1',
      passed: true
    })
  })
})
