import { beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateAliasCommand,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionConfigurationCommand,
  type GetAliasCommandOutput
} from '@aws-sdk/client-lambda'
import type { ActionRun, RunOptions } from '../../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixtureImage, useSandbox } from '../harness.js'

/**
 * Verify before traffic, and rollbacks that undo only the run's own change (issue 24, items 4
 * and 5), end to end on images already in the registry (`image:`): the suite runs once and its
 * action has no engine. The stand-in's Invoke runs the deployed image with the engine of the test
 * process, so a handler that throws or hangs does so for real; its UpdateAlias refuses a stale
 * RevisionId as Lambda does (PreconditionFailedException, HTTP 412). "Another run" is the test
 * moving the alias with the SDK while the action's canary holds.
 *
 * What each fixture does is known from how it was made: smoke-good answers with the event it
 * got, smoke-error-response throws OrderNotFound, smoke-timeout sleeps 60 s, provided-multistage's
 * bootstrap prints a line and exits.
 */

const sandbox = useSandbox()
const lambda = () => sandbox.clients().lambda
type ActionProcess = Parameters<NonNullable<RunOptions['onStart']>>[0]

/** An image every function can run (its repository is the source function's). */
let plainImage = ''

beforeAll(async () => {
  const source = await sandbox.seed({
    label: 'order-source',
    image: await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
  })
  plainImage = source.image!
})

/**
 * A function whose alias live serves version 1, and (when a fixture is named) that fixture's
 * image in a repository of its own, not deployed yet: what the run deploys as version 2.
 */
async function onVersionOne(label: string, fixture?: string, timeout = 10) {
  const fn = await sandbox.seed({
    label: `order-${label}`,
    noRepository: fixture === undefined,
    function: { timeout, memorySize: 256 }
  })
  await lambda().send(new PublishVersionCommand({ FunctionName: fn.name }))
  await lambda().send(
    new CreateAliasCommand({ FunctionName: fn.name, Name: 'live', FunctionVersion: '1' })
  )
  const image = fixture
    ? await sandbox.copyImage(await fixtureImage({ fixture }), fn.repository)
    : plainImage
  return { name: fn.name, image }
}

async function alias(name: string): Promise<GetAliasCommandOutput> {
  return lambda().send(new GetAliasCommand({ FunctionName: name, Name: 'live' }))
}

/** Waits until the alias sends some traffic to version 2 (the rollout's first step is made). */
async function firstStepMade(name: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if ((await alias(name)).RoutingConfig?.AdditionalVersionWeights?.['2'] !== undefined) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`alias live of ${name} never routed to version 2`)
}

/**
 * What another run does meanwhile: it publishes a version of its own (version 3: another
 * description, so Lambda publishes anew) and finishes at 100% on it.
 */
async function anotherRunFinishes(name: string): Promise<void> {
  await lambda().send(
    new UpdateFunctionConfigurationCommand({ FunctionName: name, Description: 'another run' })
  )
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const now = await lambda().send(new GetFunctionConfigurationCommand({ FunctionName: name }))
    if (now.LastUpdateStatus === 'Successful') break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  const published = await lambda().send(new PublishVersionCommand({ FunctionName: name }))
  expect(published.Version).toBe('3')
  await lambda().send(
    new UpdateAliasCommand({
      FunctionName: name,
      Name: 'live',
      FunctionVersion: '3',
      RoutingConfig: { AdditionalVersionWeights: {} }
    })
  )
}

async function operations(): Promise<string[]> {
  return (await sandbox.control.calls()).map(call => call.operation)
}

/** Resolves when the action's log has shown `text`. */
function whenLogged(child: ActionProcess, text: string): Promise<void> {
  return new Promise(resolve => {
    let seen = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes(text)) resolve()
    })
  })
}

interface FunctionOutput {
  function: string
  status: string
  error?: string
  verify?: { qualifier: string; outcome: string; passed: boolean }
}

function functionsOf(run: ActionRun): FunctionOutput[] {
  return JSON.parse(run.outputs.functions ?? '[]') as FunctionOutput[]
}

describe('verify before traffic', () => {
  it('with an alias, invokes the new version before the alias moves; a failure leaves the alias', async () => {
    const fn = await onVersionOne('verify-alias', 'smoke-error-response')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      'verify-event': '{"orderId": "A-17"}'
    })
    expect(run.exitCode).toBe(1)
    // Version 2 was published and invoked by its number; the alias was never written.
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig).toBeUndefined()
    expect(await sandbox.callsTo('UpdateAlias')).toBe(0)
    expect(functionsOf(run)[0]?.verify).toMatchObject({ qualifier: '2', passed: false })
    expect(run.stdout).toContain('[verify-invoke-failed]')
    expect(run.stdout).toContain('order A-17 does not exist')
    expect(run.stdout).toContain('The alias live was not moved: version 2 got no traffic.')
  })

  it('with a rollout, invokes the new version before the first weight; a failure shifts nothing', async () => {
    const fn = await onVersionOne('verify-rollout', 'smoke-error-response')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% 1s',
      'verify-event': '{"orderId": "B-2"}'
    })
    expect(run.exitCode).toBe(1)
    // No weight ever went to version 2: the alias was not written at all.
    expect(await sandbox.callsTo('UpdateAlias')).toBe(0)
    expect(await sandbox.callsTo('Invoke')).toBe(1)
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig).toBeUndefined()
    expect(run.stdout).toContain('[verify-invoke-failed]')
    expect(run.stdout).toContain('order B-2 does not exist')
  })

  it('with a rollout, a passing invoke comes before the first weight, and only once', async () => {
    const fn = await onVersionOne('verify-pass', 'smoke-good')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      rollout: 'linear 50% every 1s',
      'verify-event': '{"orderId": 7}',
      'verify-expect': 'subset {"echo": {"orderId": 7}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.verified).toBe('true')
    const calls = await operations()
    expect(calls.filter(call => call === 'Invoke')).toHaveLength(1)
    expect(calls.indexOf('Invoke')).toBeLessThan(calls.indexOf('UpdateAlias'))
    expect(calls.filter(call => call === 'UpdateAlias')).toHaveLength(2)
    expect((await alias(fn.name)).FunctionVersion).toBe('2')
  })

  it('without an alias, says plainly that the invoke comes after the update', async () => {
    const fn = await onVersionOne('verify-no-alias', 'smoke-good')
    const run = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      'verify-event': '{}'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('verify-event (inline), after the update')
    expect(run.stdout).toContain('Without an alias nothing holds the new code back')
  })
})

describe('a rollback undoes only this run’s own change', () => {
  it('stops without rolling back when another run moved the alias during the canary', async () => {
    const fn = await onVersionOne('moved-step')
    const running = sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% 8s',
      'rollout-unwatched': 'true'
    })
    await firstStepMade(fn.name)
    await anotherRunFinishes(fn.name)
    const run = await running
    expect(run.exitCode).toBe(1)
    // The other run's release stands.
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('3')
    expect(live.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({})
    expect(run.stdout).toContain('[rollout-alias-moved]')
    expect(run.stdout).toContain('it is now on version 3')
  })

  it('leaves another run’s change alone when an alarm fires afterwards', async () => {
    const fn = await onVersionOne('moved-alarm')
    const alarm = `${fn.name}-errors`
    await sandbox.control.createAlarm({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: alarm,
      state: 'OK',
      reason: 'no errors'
    })
    const running = sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% 60s',
      'rollout-alarms': alarm
    })
    await firstStepMade(fn.name)
    await anotherRunFinishes(fn.name)
    await sandbox.control.setAlarmState({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: alarm,
      state: 'ALARM',
      reason: 'Threshold Crossed: 3 errors in 1 minute'
    })
    const run = await running
    expect(run.exitCode).toBe(1)
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('3')
    expect(live.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({})
    expect(run.stdout).toContain('[rollout-alias-moved]')
    expect(run.stdout).toContain('does not undo another run')
  })

  it('refuses a second run on an alias that is mid-rollout, before it changes anything', async () => {
    const fn = await onVersionOne('concurrent')
    let first: ActionProcess | undefined
    const running = sandbox.run(
      {
        'function-name': fn.name,
        image: fn.image,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'rollout-unwatched': 'true'
      },
      { onStart: child => (first = child) }
    )
    await firstStepMade(fn.name)
    await sandbox.control.clearCalls()
    const second = await sandbox.run({
      'function-name': fn.name,
      image: fn.image,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% 1s',
      'rollout-unwatched': 'true'
    })
    const calls = await operations()
    first!.kill('SIGTERM')
    const firstRun = await running
    expect(calls).not.toContain('PublishVersion')
    expect(calls).not.toContain('UpdateAlias')
    expect(second.exitCode).toBe(1)
    expect(second.stdout).toContain('[alias-split-in-progress]')
    // Workflow commands escape % as %25 (the runner shows it as %).
    expect(second.stdout.replaceAll('%25', '%')).toContain('routes 10% to 2 and the rest to 1')
    expect(calls).not.toContain('UpdateFunctionCode')
    // The first run was cancelled and put its own canary back.
    expect(firstRun.stdout).toContain('[rollout-cancelled]')
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({})
  })
})

describe('cancelling the job', () => {
  it('ends the verify invoke at once; the alias is unchanged', async () => {
    // The handler sleeps 60 s; the function's timeout (20 s) would end the call long after the
    // runner's SIGKILL (10 s after the first signal).
    const fn = await onVersionOne('cancel-invoke', 'smoke-timeout', 20)
    await sandbox.control.clearCalls()
    let invoking: Promise<void> | undefined
    let child: ActionProcess | undefined
    const running = sandbox.run(
      {
        'function-name': fn.name,
        image: fn.image,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 1s',
        'verify-event': '{}'
      },
      {
        onStart: started => {
          child = started
          invoking = whenLogged(started, 'runs the function for real')
        }
      }
    )
    await invoking
    // The call is in flight once the stand-in starts the function's container.
    await new Promise(resolve => setTimeout(resolve, 2000))
    const signalled = Date.now()
    child!.kill('SIGTERM')
    const run = await running
    expect(run.signal).toBeNull()
    expect(run.exitCode).toBe(1)
    expect(Date.now() - signalled).toBeLessThan(10_000)
    expect(run.stdout).toContain('[rollout-cancelled]')
    expect(run.stdout).toContain('version 2 got no traffic')
    const live = await alias(fn.name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig).toBeUndefined()
  })

  it('starts no code update after a cancel: functions not begun are left as they are', async () => {
    const first = await onVersionOne('cancel-first')
    const second = await onVersionOne('cancel-second')
    const before = await lambda().send(
      new GetFunctionConfigurationCommand({ FunctionName: second.name })
    )
    await sandbox.control.clearCalls()
    let child: ActionProcess | undefined
    const running = sandbox.run(
      {
        'function-name': `${first.name}\n${second.name}`,
        image: plainImage,
        publish: 'true',
        alias: 'live',
        rollout: 'canary 10% 5m',
        'rollout-unwatched': 'true',
        'max-concurrency': '1'
      },
      { onStart: started => (child = started) }
    )
    await firstStepMade(first.name)
    child!.kill('SIGTERM')
    const run = await running
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-cancelled]')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(1)
    const after = await lambda().send(
      new GetFunctionConfigurationCommand({ FunctionName: second.name })
    )
    expect(after.CodeSha256).toBe(before.CodeSha256)
    expect(after.RevisionId).toBe(before.RevisionId)
    const results = functionsOf(run)
    expect(results.map(result => result.status)).toEqual(['failed', 'failed'])
    expect(results[1]?.error).toContain('[cancelled-before-update]')
    expect((await alias(first.name)).FunctionVersion).toBe('1')
    expect((await alias(second.name)).FunctionVersion).toBe('1')
  })
})
