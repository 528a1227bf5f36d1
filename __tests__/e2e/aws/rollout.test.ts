import { describe, expect, it } from '@jest/globals'
import {
  CreateAliasCommand,
  GetAliasCommand,
  PublishVersionCommand,
  type GetAliasCommandOutput
} from '@aws-sdk/client-lambda'
import type { RunOptions } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  useSandbox,
  useSeededImage
} from '../harness.js'
import { expectNoCredentialLeft } from '../support.js'

/**
 * Traffic shifting (issue 17 part 3), end to end: the bundled action moves an alias through the
 * stand-in's Lambda step by step while the stand-in's CloudWatch answers DescribeAlarms; the
 * test fires an alarm, or sends the action SIGTERM, mid-rollout and reads the alias back.
 *
 * What a rollout does is AWS-side: each test deploys an image already in the registry (`image:`),
 * so the suite runs once, whatever the image store. A verify invoke during the rollout runs that
 * image as Lambda would: the stand-in's Invoke runs it with the engine of the test process.
 */

const sandbox = useSandbox()
type ActionProcess = Parameters<NonNullable<RunOptions['onStart']>>[0]

/** The image every test deploys to a fresh function: its bootstrap prints a line and exits. */
const source = useSeededImage(sandbox, 'rollout-source')

const lambda = () => sandbox.clients().lambda

/** A function whose alias live serves version 1: what a rollout shifts from. */
async function functionOnVersionOne(label: string): Promise<string> {
  return (await seedOnVersionOne(label, { noRepository: true })).name
}

/** The same, with a repository of its name when the test deploys an image of its own. */
async function seedOnVersionOne(label: string, options: { noRepository: boolean }) {
  const seeded = await sandbox.seed({ label: `rollout-${label}`, ...options })
  await lambda().send(new PublishVersionCommand({ FunctionName: seeded.name }))
  await lambda().send(
    new CreateAliasCommand({ FunctionName: seeded.name, Name: 'live', FunctionVersion: '1' })
  )
  return seeded
}

async function alias(name: string): Promise<GetAliasCommandOutput> {
  return lambda().send(new GetAliasCommand({ FunctionName: name, Name: 'live' }))
}

async function createAlarm(name: string, state?: 'OK' | 'ALARM', reason?: string): Promise<void> {
  await sandbox.control.createAlarm({
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    name,
    ...(state ? { state } : {}),
    ...(reason ? { reason } : {})
  })
}

/** Waits until the alias sends some traffic to version 2 (the rollout's first step is made). */
async function firstStepMade(name: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if ((await alias(name)).RoutingConfig?.AdditionalVersionWeights?.['2'] !== undefined) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`alias live of ${name} never routed to version 2`)
}

async function operationsCalled(): Promise<string[]> {
  return (await sandbox.control.calls()).map(call => call.operation)
}

/** Without alarms a rollout is unwatched, which takes the explicit opt-in. */
function rolloutInputs(name: string, rollout: string, alarms?: string): Record<string, string> {
  return {
    'function-name': name,
    image: source.image,
    publish: 'true',
    alias: 'live',
    rollout,
    ...(alarms ? { 'rollout-alarms': alarms } : { 'rollout-unwatched': 'true' })
  }
}

describe('a rollout that completes', () => {
  it('canary: 10% to the new version, then the alias on it with no routing', async () => {
    const name = await functionOnVersionOne('canary')
    await createAlarm(`${name}-errors`, 'OK', 'no errors')
    await sandbox.control.clearCalls()
    const run = await sandbox.run(rolloutInputs(name, 'canary 10% 2s', `${name}-errors`))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('Alias live: 10% to 2, the rest on 1; watching for 2 s.')
    expect(run.stdout).toContain('live moved from 1 to 2 by rollout (10% to 2, 100% to 2)')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('2')
    expect(live.RoutingConfig).toBeUndefined()
    expect(await sandbox.callsTo('UpdateAlias')).toBe(2)
    expect(await sandbox.callsTo('DescribeAlarms')).toBeGreaterThan(1)
    expectNoCredentialLeft(run)
  })

  it('linear: one UpdateAlias per step, ending on the new version', async () => {
    const name = await functionOnVersionOne('linear')
    await sandbox.control.clearCalls()
    const run = await sandbox.run(rolloutInputs(name, 'linear 40% every 1s'))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('(40% to 2, 80% to 2, 100% to 2)')
    expect(await sandbox.callsTo('UpdateAlias')).toBe(3)
    expect((await alias(name)).FunctionVersion).toBe('2')
  })

  it('first deploy: a missing alias is created on the new version, with a notice', async () => {
    const { name } = await sandbox.seed({ label: 'rollout-first', noRepository: true })
    const run = await sandbox.run(rolloutInputs(name, 'canary 10% 5m'))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('::notice::Alias live did not exist')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig).toBeUndefined()
  })
})

describe('a rollout that goes back', () => {
  it('rolls back when an alarm goes into ALARM mid-rollout, naming it and its reason', async () => {
    const name = await functionOnVersionOne('alarm')
    const alarm = `${name}-errors`
    await createAlarm(alarm)
    const running = sandbox.run(rolloutInputs(name, 'canary 10% 60s', alarm))
    await firstStepMade(name)
    const fired = Date.now()
    await sandbox.control.setAlarmState({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: alarm,
      state: 'ALARM',
      reason: 'Threshold Crossed: 3 errors in 1 minute'
    })
    const run = await running
    expect(run.exitCode).toBe(1)
    // Noticed at the next read of the alarms (every 10 s), not at the end of the 60 s step.
    expect(Date.now() - fired).toBeLessThan(30_000)
    expect(run.stdout).toContain('[rollout-rolled-back]')
    expect(run.stdout).toContain(
      `alarm ${alarm} is in ALARM (Threshold Crossed: 3 errors in 1 minute)`
    )
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
  })

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'puts the alias back and fails when the action gets %s mid-rollout',
    async signal => {
      const name = await functionOnVersionOne(signal.toLowerCase())
      let child: ActionProcess | undefined
      const running = sandbox.run(rolloutInputs(name, 'canary 10% 5m'), {
        onStart: started => (child = started)
      })
      await firstStepMade(name)
      const signalled = Date.now()
      child!.kill(signal)
      const run = await running
      // The handler rolls back and the step fails: an exit code, not death by the signal.
      expect(run.signal).toBeNull()
      expect(run.exitCode).toBe(1)
      expect(Date.now() - signalled).toBeLessThan(10_000)
      expect(run.stdout).toContain(`${signal} received`)
      expect(run.stdout).toContain('[rollout-cancelled]')
      const live = await alias(name)
      expect(live.FunctionVersion).toBe('1')
      expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
    }
  )
})

describe('alarms that cannot be read', () => {
  it('rides out throttled DescribeAlarms calls (the SDK retries) and completes', async () => {
    const name = await functionOnVersionOne('throttled')
    // OK: an alarm without data for the whole rollout would stop it (release-safety.test.ts).
    await createAlarm(`${name}-errors`, 'OK', 'no errors')
    await sandbox.control.injectFault({
      service: 'cloudwatch',
      operation: 'DescribeAlarms',
      kind: 'throttle',
      times: 2
    })
    const run = await sandbox.run(rolloutInputs(name, 'canary 10% 1s', `${name}-errors`))
    expect(run.exitCode).toBe(0)
    expect((await alias(name)).FunctionVersion).toBe('2')
  })

  it('rolls back when the alarms cannot be read mid-rollout', async () => {
    const name = await functionOnVersionOne('unreadable')
    const alarm = `${name}-errors`
    await createAlarm(alarm)
    const running = sandbox.run(rolloutInputs(name, 'canary 10% 60s', alarm))
    await firstStepMade(name)
    // More failures than the SDK's attempts (MAX_ATTEMPTS = 5): the read itself fails.
    await sandbox.control.injectFault({
      service: 'cloudwatch',
      operation: 'DescribeAlarms',
      kind: 'server-error',
      times: 20
    })
    const run = await running
    await sandbox.control.clearFaults()
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-failed]')
    expect(run.stdout).toContain('cloudwatch:DescribeAlarms')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
  })
})

describe('plan mode', () => {
  it('dry-run prints the rollout it would make and changes nothing', async () => {
    const name = await functionOnVersionOne('dry')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({ ...rolloutInputs(name, 'canary 10% 5m'), 'dry-run': 'true' })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(
      'alias live: rollout from 1 to (new version), canary 10% for 5 min, then 100%'
    )
    const calls = await operationsCalled()
    expect(calls).not.toContain('UpdateAlias')
    expect(calls).not.toContain('PublishVersion')
  })
})

describe('checks before anything changes', () => {
  it('refuses a named alarm that does not exist, before the code update', async () => {
    const name = await functionOnVersionOne('missing-alarm')
    await sandbox.control.clearCalls()
    const run = await sandbox.run(rolloutInputs(name, 'canary 10% 5s', `${name}-nope`))
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-alarm-not-found]')
    const calls = await operationsCalled()
    expect(calls).not.toContain('UpdateFunctionCode')
    expect(calls).not.toContain('UpdateAlias')
  })

  it('refuses a rollout without an alias, naming the input, before any AWS call changes anything', async () => {
    const name = await functionOnVersionOne('no-alias')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': name,
      image: source.image,
      publish: 'true',
      rollout: 'canary 10% 5s'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-needs-alias]')
    expect(await sandbox.control.calls()).toEqual([])
  })

  it('refuses a plan it cannot read, naming the accepted syntax', async () => {
    const run = await sandbox.run({
      'function-name': sandbox.uniqueName('rollout-bad-plan'),
      image: source.image,
      publish: 'true',
      alias: 'live',
      rollout: 'canary 10% for 5 minutes'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[invalid-rollout]')
    // Workflow commands escape % as %25 (the runner shows it as %).
    expect(run.stdout.replaceAll('%25', '%')).toContain(
      '"canary PERCENT% DURATION" or "linear PERCENT% every DURATION"'
    )
  })
})

describe('a rollout checked by verify-event', () => {
  /** The fixture's bootstrap prints and exits: an invoke of it is a function error. */
  it('stops before the first weight when the verify invoke of the new version fails, invoking once', async () => {
    const name = await functionOnVersionOne('verify-bad')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      ...rolloutInputs(name, 'linear 30% every 1s'),
      'verify-event': '{}'
    })
    expect(run.exitCode).toBe(1)
    // Before traffic (release-order.test.ts): the alias is never written.
    expect(run.stdout).toContain('[verify-invoke-failed]')
    expect(run.stdout).toContain('the verify invoke of version 2 failed')
    expect(run.outputs.verified).toBe('false')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
    expect(await sandbox.callsTo('Invoke')).toBe(1)
    expect(await sandbox.callsTo('UpdateAlias')).toBe(0)
  })

  it('completes when the verify invoke passes, and invokes the new version only once', async () => {
    const fn = await seedOnVersionOne('verify-good', { noRepository: false })
    const name = fn.name
    // A Node.js handler that answers with the event it got: its invoke passes.
    const echo = await sandbox.copyImage(
      await fixtureImage({ fixture: 'smoke-good' }),
      fn.repository
    )
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': name,
      image: echo,
      publish: 'true',
      alias: 'live',
      rollout: 'linear 50% every 1s',
      'verify-event': '{"orderId": 7}',
      'verify-expect': 'subset {"echo": {"orderId": 7}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.verified).toBe('true')
    expect(run.stdout).toContain('before the alias moves: runs the function for real.')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('2')
    expect(live.RoutingConfig).toBeUndefined()
    expect(await sandbox.callsTo('Invoke')).toBe(1)
  })
})
