import { beforeEach, describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'
import { expectFailure } from '../support.js'

/**
 * The deploy's AWS side, which no image store changes: inputs and functions refused before
 * anything is built, the repository policy merge, and waiting for Lambda. The refusals are given
 * a build context, and stop before the engine is reached (the harness fails the test if the action
 * tried it); the rest deploy an image already in the registry (`image:`). What needs a build
 * (architectures, image checks, a cross-account push) is in engine/deploy.test.ts.
 */

const sandbox = useSandbox()
const firstImage = () => fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
const secondImage = () =>
  fixtureImage({
    fixture: 'provided-multistage',
    target: 'runtime',
    buildArgs: { VERSION: 'second' }
  })

beforeEach(async () => {
  await sandbox.control.setUpdateDelay(0)
})

function build(inputs: Record<string, string>): Promise<ActionRun> {
  return sandbox.run({
    context: path.join(fixturesDir, 'provided-multistage'),
    target: 'runtime',
    ...inputs
  })
}

describe('refusing before anything is built', () => {
  it.each([
    [
      'a repository in another region',
      () => ({ repository: `${registryHost(TOOLING_ACCOUNT, 'eu-west-1')}/app` }),
      'repository-region-mismatch'
    ],
    ['an unknown architecture', () => ({ architecture: 'aarch64' }), 'invalid-architecture'],
    [
      'a function that does not exist',
      () => ({ 'function-name': 'no-such-function' }),
      'function-not-found'
    ]
  ])('refuses %s', async (_name, override, id) => {
    const fn = await sandbox.seed({ label: 'refuse' })
    const before = await sandbox.control.state()
    const run = await build({ 'function-name': fn.name, repository: fn.repository, ...override() })
    expectFailure(run, id)
    expect(run.stdout).not.toContain('::group::Build')
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('refuses a Zip function', async () => {
    const fn = await sandbox.seed({ label: 'zip', packageType: 'Zip' })
    const run = await build({ 'function-name': fn.name, repository: fn.repository })
    expectFailure(run, 'function-not-image')
    expect(run.stdout).not.toContain('::group::Build')
  })
})

describe('repository policy', () => {
  const unrelated = {
    Sid: 'KeepMe',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${TOOLING_ACCOUNT}:role/ci` },
    Action: ['ecr:PutImage'],
    Condition: { StringEquals: { 'aws:PrincipalTag/team': 'platform' } }
  }

  it('keeps unrelated statements when it adds the Lambda grant, and does not write an unchanged policy', async () => {
    const fn = await sandbox.seed({
      label: 'policy',
      policy: JSON.stringify({ Version: '2012-10-17', Statement: [unrelated] })
    })
    const run = await sandbox.run({
      'function-name': fn.name,
      image: await sandbox.copyImage(await firstImage(), fn.repository, 'v1')
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    const policy = JSON.parse(
      (await sandbox.control.repositoryPolicy(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name))!
    ) as {
      Statement: { Sid: string; Principal: unknown }[]
    }
    expect(policy.Statement[0]).toEqual(unrelated)
    expect(policy.Statement.map(statement => statement.Sid)).toEqual([
      'KeepMe',
      'LambdaECRImageRetrievalPolicy'
    ])

    await sandbox.control.clearCalls()
    const again = await sandbox.run({
      'function-name': fn.name,
      image: await sandbox.copyImage(await secondImage(), fn.repository, 'v2')
    })
    expect(again.exitCode).toBe(0)
    expect(again.outputs.deployed).toBe('true')
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
  })
})

describe('waiting for Lambda', () => {
  it('waits for an update already in progress, then deploys', async () => {
    const fn = await sandbox.seed({ label: 'busy' })
    const [first, second] = [
      await sandbox.copyImage(await firstImage(), fn.repository, 'v1'),
      await sandbox.copyImage(await secondImage(), fn.repository, 'v2')
    ]
    await sandbox.control.setUpdateDelay(3000)
    const started = await sandbox.run({ 'function-name': fn.name, image: first, wait: 'false' })
    expect(started.exitCode).toBe(0)
    const busy = await sandbox
      .clients()
      .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
    expect(busy.Configuration?.LastUpdateStatus).toBe('InProgress')

    const next = await sandbox.run({ 'function-name': fn.name, image: second })
    expect(next.exitCode).toBe(0)
    expect(next.stdout).toContain('in progress; waiting')
    expect(next.outputs.deployed).toBe('true')
  })

  it('fails with Lambda’s reason when the update fails', async () => {
    const fn = await sandbox.seed({ label: 'fails' })
    const image = await sandbox.copyImage(await firstImage(), fn.repository, 'v1')
    await sandbox.control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      times: 1,
      reason: 'The image manifest or layer media type is not supported.'
    })
    const run = await sandbox.run({ 'function-name': fn.name, image })
    expectFailure(run, 'function-update-failed')
    expect(run.stdout).toContain('media type is not supported')
  })
})
