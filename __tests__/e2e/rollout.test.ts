import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  CreateAliasCommand,
  GetAliasCommand,
  PublishVersionCommand,
  type GetAliasCommandOutput
} from '@aws-sdk/client-lambda'
import type { ChildProcess } from 'node:child_process'
import path from 'node:path'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { expectNoCredentialLeft } from './support.js'

/**
 * Traffic shifting (issue 17 part 3), end to end: the bundled action moves an alias through the
 * stand-in's Lambda step by step while the stand-in's CloudWatch answers DescribeAlarms; the
 * test fires an alarm, or sends the action SIGTERM, mid-rollout and reads the alias back.
 */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const host = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const fixture = path.join(repoRoot, '__tests__', 'fixtures', 'provided-multistage')

let standIn: StandIn
let control: StandInControl
let unique = 0
/** One image, built and pushed once by the action; each test deploys it to a fresh function. */
let image = ''

function nextName(prefix: string): string {
  unique += 1
  return `rollout-${prefix}-${process.pid}-${unique}`
}

function act(
  inputs: Record<string, string>,
  onStart?: (child: ChildProcess) => void
): Promise<ActionRun> {
  return runAction(inputs, { standInUrl: standIn.url, account: TOOLING, region: REGION, onStart })
}

const lambda = () => clientsFor(standIn.url, TOOLING).lambda

/** A function whose alias live serves version 1: what a rollout shifts from. */
async function functionOnVersionOne(name: string): Promise<void> {
  await control.createFunction({ account: TOOLING, region: REGION, name, packageType: 'Image' })
  await lambda().send(new PublishVersionCommand({ FunctionName: name }))
  await lambda().send(
    new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: '1' })
  )
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

/** The UpdateAlias calls the stand-in received since the log was cleared. */
async function updateAliasCalls(): Promise<number> {
  return (await control.calls()).filter(call => call.operation === 'UpdateAlias').length
}

function rolloutInputs(name: string, rollout: string, alarms?: string): Record<string, string> {
  return {
    'function-name': name,
    image,
    publish: 'true',
    alias: 'live',
    rollout,
    ...(alarms ? { 'rollout-alarms': alarms } : {})
  }
}

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  const source = nextName('source')
  await control.createRepository({ account: TOOLING, region: REGION, name: source })
  await control.createFunction({
    account: TOOLING,
    region: REGION,
    name: source,
    packageType: 'Image'
  })
  const built = await act({
    'function-name': source,
    repository: `${host}/${source}`,
    context: fixture,
    target: 'runtime',
    'build-args': `VERSION=${source}`
  })
  if (built.exitCode !== 0) throw new Error(`the source image did not deploy:\n${built.stdout}`)
  image = built.outputs['image-uri']!
})

afterAll(async () => {
  await standIn.close()
})

describe('a rollout that completes', () => {
  it('canary: 10% to the new version, then the alias on it with no routing', async () => {
    const name = nextName('canary')
    await functionOnVersionOne(name)
    await control.createAlarm({
      account: TOOLING,
      region: REGION,
      name: `${name}-errors`,
      state: 'OK',
      reason: 'no errors'
    })
    await control.clearCalls()
    const run = await act(rolloutInputs(name, 'canary 10% 2s', `${name}-errors`))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('Alias live: 10% to 2, the rest on 1; watching for 2 s.')
    expect(run.stdout).toContain('live moved from 1 to 2 by rollout (10% to 2, 100% to 2)')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('2')
    expect(live.RoutingConfig).toBeUndefined()
    expect(await updateAliasCalls()).toBe(2)
    const calls = await control.calls()
    expect(calls.filter(call => call.operation === 'DescribeAlarms').length).toBeGreaterThan(1)
    expectNoCredentialLeft(run)
  })

  it('linear: one UpdateAlias per step, ending on the new version', async () => {
    const name = nextName('linear')
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act(rolloutInputs(name, 'linear 40% every 1s'))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('(40% to 2, 80% to 2, 100% to 2)')
    expect(await updateAliasCalls()).toBe(3)
    expect((await alias(name)).FunctionVersion).toBe('2')
  })

  it('first deploy: a missing alias is created on the new version, with a notice', async () => {
    const name = nextName('first')
    await control.createFunction({ account: TOOLING, region: REGION, name, packageType: 'Image' })
    const run = await act(rolloutInputs(name, 'canary 10% 5m'))
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('::notice::Alias live did not exist')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig).toBeUndefined()
  })
})

describe('a rollout that goes back', () => {
  it('rolls back when an alarm goes into ALARM mid-rollout, naming it and its reason', async () => {
    const name = nextName('alarm')
    const alarm = `${name}-errors`
    await functionOnVersionOne(name)
    await control.createAlarm({ account: TOOLING, region: REGION, name: alarm })
    const running = act(rolloutInputs(name, 'canary 10% 60s', alarm))
    await firstStepMade(name)
    const fired = Date.now()
    await control.setAlarmState({
      account: TOOLING,
      region: REGION,
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
      const name = nextName(signal.toLowerCase())
      await functionOnVersionOne(name)
      let child: ChildProcess | undefined
      const running = act(rolloutInputs(name, 'canary 10% 5m'), started => (child = started))
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
    const name = nextName('throttled')
    await functionOnVersionOne(name)
    await control.createAlarm({ account: TOOLING, region: REGION, name: `${name}-errors` })
    await control.injectFault({
      service: 'cloudwatch',
      operation: 'DescribeAlarms',
      kind: 'throttle',
      times: 2
    })
    const run = await act(rolloutInputs(name, 'canary 10% 1s', `${name}-errors`))
    expect(run.exitCode).toBe(0)
    expect((await alias(name)).FunctionVersion).toBe('2')
  })

  it('rolls back when the alarms cannot be read mid-rollout', async () => {
    const name = nextName('unreadable')
    const alarm = `${name}-errors`
    await functionOnVersionOne(name)
    await control.createAlarm({ account: TOOLING, region: REGION, name: alarm })
    const running = act(rolloutInputs(name, 'canary 10% 60s', alarm))
    await firstStepMade(name)
    // More failures than the SDK's attempts (MAX_ATTEMPTS = 5): the read itself fails.
    await control.injectFault({
      service: 'cloudwatch',
      operation: 'DescribeAlarms',
      kind: 'server-error',
      times: 20
    })
    const run = await running
    await control.clearFaults()
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
    const name = nextName('dry')
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act({ ...rolloutInputs(name, 'canary 10% 5m'), 'dry-run': 'true' })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain(
      'alias live: rollout from 1 to (new version), canary 10% for 5 min, then 100%'
    )
    const calls = (await control.calls()).map(call => call.operation)
    expect(calls).not.toContain('UpdateAlias')
    expect(calls).not.toContain('PublishVersion')
  })
})

describe('checks before anything changes', () => {
  it('refuses a named alarm that does not exist, before the code update', async () => {
    const name = nextName('missing-alarm')
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act(rolloutInputs(name, 'canary 10% 5s', `${name}-nope`))
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-alarm-not-found]')
    const calls = (await control.calls()).map(call => call.operation)
    expect(calls).not.toContain('UpdateFunctionCode')
    expect(calls).not.toContain('UpdateAlias')
  })

  it('refuses a rollout without an alias, naming the input, before any AWS call changes anything', async () => {
    const name = nextName('no-alias')
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act({
      'function-name': name,
      image,
      publish: 'true',
      rollout: 'canary 10% 5s'
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-needs-alias]')
    expect(await control.calls()).toEqual([])
  })

  it('refuses a plan it cannot read, naming the accepted syntax', async () => {
    const run = await act({
      'function-name': nextName('bad-plan'),
      image,
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
  it('rolls back when the verify invoke of the new version fails mid-rollout, invoking once', async () => {
    const name = nextName('verify-bad')
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act({ ...rolloutInputs(name, 'linear 30% every 1s'), 'verify-event': '{}' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-rolled-back]')
    expect(run.stdout).toContain('the verify invoke of version 2 failed')
    expect(run.outputs.verified).toBe('false')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
    const invokes = (await control.calls()).filter(call => call.operation === 'Invoke')
    expect(invokes).toHaveLength(1)
  })

  it('completes when the verify invoke passes, and invokes the new version only once', async () => {
    const name = nextName('verify-good')
    await control.createRepository({ account: TOOLING, region: REGION, name })
    await functionOnVersionOne(name)
    await control.clearCalls()
    const run = await act({
      'function-name': name,
      repository: `${host}/${name}`,
      context: path.join(repoRoot, '__tests__', 'fixtures', 'smoke-good'),
      publish: 'true',
      alias: 'live',
      rollout: 'linear 50% every 1s',
      'verify-event': '{"orderId": 7}',
      'verify-expect': 'subset {"echo": {"orderId": 7}}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.verified).toBe('true')
    expect(run.stdout).toContain('mid-rollout: runs the function for real.')
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('2')
    expect(live.RoutingConfig).toBeUndefined()
    const invokes = (await control.calls()).filter(call => call.operation === 'Invoke')
    expect(invokes).toHaveLength(1)
  })
})
