import { beforeEach, describe, expect, it } from '@jest/globals'
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION as US,
  TOOLING_ACCOUNT as TOOLING,
  WORKLOAD_ACCOUNT as WORKLOAD,
  fixturesDir,
  registryHost,
  useSandbox
} from '../harness.js'
import { expectNoCredentialLeft, functionsOf } from '../support.js'

/**
 * One image, many functions (issue 6), where the action builds: the real engine builds once, the
 * real registries receive one push per region, and the stand-in sees every Lambda and ECR call;
 * a dry-run builds but pushes nothing. What AWS does with one image for several functions
 * (partial failures, versions and aliases, deploy-only checks) is in aws/fan-out.test.ts.
 */

const EU = 'eu-west-1'

const sandbox = useSandbox()

beforeEach(async () => {
  await sandbox.control.setUpdateDelay(0)
  await sandbox.control.clearFaults()
})

function repositoryUri(account: string, region: string, name: string): string {
  return `${registryHost(account, region)}/${name}`
}

async function seedFunction(account: string, region: string, name: string): Promise<string> {
  await sandbox.control.createFunction({ account, region, name, packageType: 'Image' })
  return `arn:aws:lambda:${region}:${account}:function:${name}`
}

function deploy(inputs: Record<string, string>): Promise<ActionRun> {
  return sandbox.run({
    context: path.join(fixturesDir, 'provided-multistage'),
    target: 'runtime',
    ...inputs
  })
}

function deploySeconds(run: ActionRun): number {
  const match = /deploy (\d+\.\d) s/.exec(run.summary)
  if (!match) throw new Error(`no deploy timing in the summary:\n${run.summary}`)
  return Number(match[1])
}

describe('one image, five functions in two regions and two accounts', () => {
  it('builds once, pushes once per region, grants per account and updates all five', async () => {
    const name = sandbox.uniqueName('fan')
    for (const region of [US, EU]) {
      await sandbox.control.createRepository({ account: TOOLING, region, name })
    }
    const functions = [
      await seedFunction(TOOLING, US, `${name}-a`),
      await seedFunction(TOOLING, US, `${name}-b`),
      await seedFunction(WORKLOAD, US, `${name}-c`),
      await seedFunction(TOOLING, EU, `${name}-d`),
      await seedFunction(WORKLOAD, EU, `${name}-e`)
    ]
    await sandbox.control.setUpdateDelay(2000)
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': functions.join('\n'),
      repository: `${repositoryUri(TOOLING, US, name)}\n${repositoryUri(TOOLING, EU, name)}`,
      'cross-account-role': 'lambda-deployer',
      'function-config': `"*":\n  environment:\n    STAGE: test\n${functions[0]}:\n  command: ["handler.a"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(run.stderr + run.stdout).not.toContain('::error')
    expect(run.exitCode).toBe(0)

    expect(run.stdout.match(/::group::Build /g)).toHaveLength(1)
    expect(run.stdout.match(/::group::Push to /g)).toHaveLength(2)
    // Per region: the run's tag and the inputs tag (one image); the build cache (containerd
    // store) only in the first repository.
    const inputsTag = `inputs-${run.outputs['inputs-digest']!.slice('sha256:'.length)}`
    const cache = process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd' ? ['buildcache-x86_64'] : []
    expect(await sandbox.control.registryTags(TOOLING, US, name)).toEqual(
      [...cache, inputsTag, 'latest'].sort()
    )
    expect(await sandbox.control.registryTags(TOOLING, EU, name)).toEqual(
      [inputsTag, 'latest'].sort()
    )
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(5)
    expect(await sandbox.callsTo('AssumeRole')).toBe(1)

    const results = functionsOf(run)
    expect(results.map(result => [result.arn, result.status, result.deployed])).toEqual(
      functions.map(arn => [arn, 'updated', true])
    )
    expect(run.outputs.deployed).toBe('true')
    expect(run.summary).toContain('<h3>Functions</h3>')
    for (const arn of functions) expect(run.summary).toContain(arn)

    for (const region of [US, EU]) {
      const policy = JSON.parse(
        (await sandbox.control.repositoryPolicy(TOOLING, region, name))!
      ) as {
        Statement: { Sid: string; Principal: unknown; Condition?: unknown }[]
      }
      const bySid = Object.fromEntries(policy.Statement.map(s => [s.Sid, s]))
      expect(bySid.LambdaECRImageCrossAccountRetrievalPolicy?.Principal).toEqual({
        AWS: `arn:aws:iam::${WORKLOAD}:root`
      })
      expect(JSON.stringify(bySid.LambdaECRImageRetrievalPolicy?.Condition)).toContain(
        `arn:aws:lambda:${region}:${WORKLOAD}:function:*`
      )
    }

    const a = await sandbox
      .clients(TOOLING, US)
      .lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functions[0] }))
    expect(a.ImageConfigResponse?.ImageConfig?.Command).toEqual(['handler.a'])
    expect(a.Environment?.Variables).toEqual({ STAGE: 'test' })
    const e = await sandbox
      .clients(WORKLOAD, EU)
      .lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functions[4] }))
    expect(e.ImageConfigResponse?.ImageConfig?.Command).toBeUndefined()
    expect(e.Environment?.Variables).toEqual({ STAGE: 'test' })

    // The same step again: same image, same settings. Nothing may be written.
    await sandbox.control.clearCalls()
    const again = await deploy({
      'function-name': functions.join('\n'),
      repository: `${repositoryUri(TOOLING, US, name)}\n${repositoryUri(TOOLING, EU, name)}`,
      'cross-account-role': 'lambda-deployer',
      'function-config': `"*":\n  environment:\n    STAGE: test\n${functions[0]}:\n  command: ["handler.a"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(again.exitCode).toBe(0)
    expect(again.outputs.deployed).toBe('false')
    expect(functionsOf(again).map(result => result.status)).toEqual(Array(5).fill('unchanged'))
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(await sandbox.callsTo('UpdateFunctionConfiguration')).toBe(0)
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
    expectNoCredentialLeft(run)

    // For the closing note: one function against five, both with a 2 s update delay.
    const single = await seedFunction(TOOLING, US, `${name}-single`)
    const one = await deploy({
      'function-name': single,
      repository: repositoryUri(TOOLING, US, name),
      'build-args': `VERSION=${name}`
    })
    expect(one.exitCode).toBe(0)
    console.log(
      `fan-out timing: deploy phase for 1 function ${deploySeconds(one)} s, for 5 functions ${deploySeconds(run)} s (2 s stand-in update delay)`
    )
  })
})

describe('plan mode', () => {
  it('changes nothing in AWS and says what it would do', async () => {
    const name = sandbox.uniqueName('plan')
    await sandbox.control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(TOOLING, US, name)
    const before = await sandbox.control.stateText()
    await sandbox.control.clearCalls()
    const run = await deploy({
      'function-name': fn,
      repository: repositoryUri(TOOLING, US, name),
      'dry-run': 'true',
      publish: 'true',
      alias: 'live',
      'function-config': `${fn}:\n  command: ["x.handler"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(run.exitCode).toBe(0)
    expect(await sandbox.control.stateText()).toBe(before)
    expect(await sandbox.control.registryTags(TOOLING, US, name)).toEqual([])
    const calls = (await sandbox.control.calls()).map(call => call.operation)
    expect(calls).not.toContain('SetRepositoryPolicy')
    expect(calls).not.toContain('PublishVersion')
    expect(run.outputs.deployed).toBe('false')
    const [planned] = functionsOf(run)
    expect(planned?.status).toBe('planned')
    expect(planned?.plan).toEqual(
      expect.arrayContaining([
        expect.stringContaining('code:'),
        expect.stringContaining('setting: Command'),
        'publish a new version',
        expect.stringContaining('alias live: create')
      ])
    )
    expect(run.stdout).toContain('Plan (dry-run: nothing was pushed or changed)')
    expect(run.summary).toContain('Dry run')
  })
})
