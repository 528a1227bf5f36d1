import { describe, expect, it } from '@jest/globals'
import {
  CreateAliasCommand,
  GetAliasCommand,
  PublishVersionCommand,
  UpdateFunctionConfigurationCommand,
  type GetAliasCommandOutput
} from '@aws-sdk/client-lambda'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixtureImage,
  useSandbox,
  useSeededImage
} from '../harness.js'

/**
 * Trust only what was checked (issue 24, items 6 and 7), end to end on images already in the
 * registry (`image:`), so the suite runs once and its action has no engine:
 *
 * - masking: the function's variables are registered as secrets for the verify invoke, but not
 *   the values the run publishes (account id, region, names): the runner would blank those out
 *   of image-uri, function-arn and repository and drop the outputs. The runner's side is
 *   emulated from what it is told (`::add-mask::` lines), as it works: an output that contains a
 *   registered value is dropped.
 * - rollout: a rollout nothing watches, an alarm that stays INSUFFICIENT_DATA throughout, and an
 *   alias on $LATEST are each stopped, the last two before the alias gets all traffic.
 *
 * The stand-in's Invoke runs the deployed image with the engine of the test process.
 */

const sandbox = useSandbox()
const lambda = () => sandbox.clients().lambda

/** A value the fixture function logs and returns: a real secret. */
const API_TOKEN = 'tok-release-safety-5f0c1e'

/** What the runner was told to mask: the `::add-mask::` lines. */
function registeredSecrets(run: ActionRun): string[] {
  return run.stdout
    .split('\n')
    .filter(line => line.startsWith('::add-mask::'))
    .map(line => line.slice('::add-mask::'.length).trim())
}

/** The log as the runner shows it: without the mask commands, each registered value as ***. */
function shownLog(run: ActionRun): string {
  let shown = run.stdout
    .split('\n')
    .filter(line => !line.startsWith('::add-mask::'))
    .join('\n')
  for (const secret of registeredSecrets(run).sort((a, b) => b.length - a.length)) {
    shown = shown.split(secret).join('***')
  }
  return shown
}

describe('masking with verify-event', () => {
  it('keeps the outputs: published values are not registered, a real secret still is', async () => {
    const fn = await sandbox.seed({ label: 'safety-mask' })
    await lambda().send(
      // Set after seeding: the variables name the function's own account, region and name.
      new UpdateFunctionConfigurationCommand({
        FunctionName: fn.name,
        Environment: {
          Variables: {
            API_TOKEN,
            ACCOUNT_ID: TOOLING_ACCOUNT,
            DEPLOY_REGION: DEFAULT_REGION,
            SERVICE_NAME: fn.name
          }
        }
      })
    )
    // A Node.js handler that logs API_TOKEN and returns it.
    const image = await sandbox.copyImage(
      await fixtureImage({ fixture: 'smoke-secret-variable' }),
      fn.repository
    )
    const run = await sandbox.run({
      'function-name': fn.name,
      image,
      'verify-event': '{"order": 1}'
    })
    if (run.exitCode !== 0) console.log(run.stdout)
    expect(run.exitCode).toBe(0)
    expect(run.outputs.verified).toBe('true')

    const registered = registeredSecrets(run)
    expect(registered).toContain(API_TOKEN)
    for (const published of [TOOLING_ACCOUNT, DEFAULT_REGION, fn.name]) {
      expect(registered).not.toContain(published)
    }
    // The runner drops an output holding a registered value: each of these would be.
    for (const name of ['image-uri', 'function-arn', 'repository', 'functions']) {
      const value = run.outputs[name] ?? ''
      expect({ name, holds: registered.filter(secret => value.includes(secret)) }).toEqual({
        name,
        holds: []
      })
    }
    expect(run.outputs['image-uri']).toBe(image)
    expect(run.outputs['function-arn']).toBe(fn.functionArn)
    expect(run.outputs.repository).toBe(fn.repository)
    // As the runner shows the log: the function's name as it is, the token only as ***.
    const shown = shownLog(run)
    expect(shown).toContain(`Verify invoke of ${fn.name}:$LATEST passed`)
    expect(shown).toContain('handling with token ***')
    // The action masked its own text too: the raw log and the summary never held the token.
    const raw = run.stdout
      .split('\n')
      .filter(line => !line.startsWith('::add-mask::'))
      .join('\n')
    expect(raw).not.toContain(API_TOKEN)
    expect(run.summary).not.toContain(API_TOKEN)
  })
})

/** The image the rollout tests deploy to a fresh function: its bootstrap prints and exits. */
const source = useSeededImage(sandbox, 'safety-source')

/** A function whose alias live serves `version` ('1' after a PublishVersion, or $LATEST). */
async function functionWithAlias(label: string, version: '1' | '$LATEST'): Promise<string> {
  const { name } = await sandbox.seed({ label: `safety-${label}`, noRepository: true })
  if (version === '1') await lambda().send(new PublishVersionCommand({ FunctionName: name }))
  await lambda().send(
    new CreateAliasCommand({ FunctionName: name, Name: 'live', FunctionVersion: version })
  )
  return name
}

async function alias(name: string): Promise<GetAliasCommandOutput> {
  return lambda().send(new GetAliasCommand({ FunctionName: name, Name: 'live' }))
}

async function createAlarm(name: string, state?: 'OK'): Promise<void> {
  await sandbox.control.createAlarm({
    account: TOOLING_ACCOUNT,
    region: DEFAULT_REGION,
    name,
    ...(state ? { state, reason: 'no errors' } : {})
  })
}

function rolloutInputs(name: string, rollout: string): Record<string, string> {
  return { 'function-name': name, image: source.image, publish: 'true', alias: 'live', rollout }
}

async function operationsCalled(): Promise<string[]> {
  return (await sandbox.control.calls()).map(call => call.operation)
}

/** Waits until the alias sends some traffic to version 2 (the rollout's first step is made). */
async function firstStepMade(name: string): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt += 1) {
    if ((await alias(name)).RoutingConfig?.AdditionalVersionWeights?.['2'] !== undefined) return
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`alias live of ${name} never routed to version 2`)
}

describe('a rollout that nothing watches', () => {
  it('is refused, naming the opt-in, before any AWS call', async () => {
    const name = await functionWithAlias('unwatched', '1')
    await sandbox.control.clearCalls()
    const run = await sandbox.run(rolloutInputs(name, 'linear 50% every 1s'))
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-unwatched]')
    expect(run.stdout).toContain('rollout-unwatched: true')
    expect(await sandbox.control.calls()).toEqual([])
    expect((await alias(name)).FunctionVersion).toBe('1')
  })

  it('runs with rollout-unwatched: true, saying that nothing can roll it back', async () => {
    const name = await functionWithAlias('opt-in', '1')
    const run = await sandbox.run({
      ...rolloutInputs(name, 'linear 50% every 1s'),
      'rollout-unwatched': 'true'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('nothing can roll them back')
    expect((await alias(name)).FunctionVersion).toBe('2')
  })
})

describe('an alarm that stays INSUFFICIENT_DATA for the whole rollout', () => {
  it('rolls the alias back before the last shift, naming the alarm', async () => {
    const name = await functionWithAlias('no-data', '1')
    // A new alarm is INSUFFICIENT_DATA until its metric has data; this one never gets any.
    const alarm = `${name}-errors`
    await createAlarm(alarm)
    const run = await sandbox.run({
      ...rolloutInputs(name, 'canary 10% 2s'),
      'rollout-alarms': alarm
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[rollout-alarm-no-data]')
    expect(run.stdout).toContain(`alarm ${alarm} stayed INSUFFICIENT_DATA at all`)
    const live = await alias(name)
    expect(live.FunctionVersion).toBe('1')
    expect(live.RoutingConfig?.AdditionalVersionWeights?.['2']).toBeUndefined()
  })

  it('completes with a warning naming the alarm when rollout-insufficient-data is warn', async () => {
    const name = await functionWithAlias('no-data-warn', '1')
    const alarm = `${name}-errors`
    await createAlarm(alarm)
    const run = await sandbox.run({
      ...rolloutInputs(name, 'canary 10% 2s'),
      'rollout-alarms': alarm,
      'rollout-insufficient-data': 'warn'
    })
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(
      new RegExp(`::warning::.*alarm ${alarm} stayed INSUFFICIENT_DATA at all`)
    )
    expect((await alias(name)).FunctionVersion).toBe('2')
  })

  it('is no reason to stop once the alarm has reported OK during the rollout', async () => {
    const name = await functionWithAlias('late-data', '1')
    const alarm = `${name}-errors`
    await createAlarm(alarm)
    // 12 s: reads at 10 s and at 12 s, after the alarm has left INSUFFICIENT_DATA.
    const running = sandbox.run({
      ...rolloutInputs(name, 'canary 10% 12s'),
      'rollout-alarms': alarm
    })
    await firstStepMade(name)
    await sandbox.control.setAlarmState({
      account: TOOLING_ACCOUNT,
      region: DEFAULT_REGION,
      name: alarm,
      state: 'OK',
      reason: 'no errors'
    })
    const run = await running
    expect(run.exitCode).toBe(0)
    expect((await alias(name)).FunctionVersion).toBe('2')
  })
})

describe('an alias on $LATEST', () => {
  it.each([
    ['a rollout', { rollout: 'canary 10% 5s' }],
    ['alias-routing-weight', { 'alias-routing-weight': '0.1' }]
  ])('is refused for %s before any change', async (_, shift: Record<string, string>) => {
    const name = await functionWithAlias(`latest-${Object.keys(shift)[0]}`, '$LATEST')
    const alarm = `${name}-errors`
    await createAlarm(alarm, 'OK')
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': name,
      image: source.image,
      publish: 'true',
      alias: 'live',
      ...shift,
      ...(shift.rollout ? { 'rollout-alarms': alarm } : {})
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[alias-on-latest]')
    expect(run.stdout).toContain(`Alias live of ${name} points at $LATEST`)
    const calls = await operationsCalled()
    expect(calls).not.toContain('UpdateFunctionCode')
    expect(calls).not.toContain('PublishVersion')
    expect(calls).not.toContain('UpdateAlias')
    expect((await alias(name)).FunctionVersion).toBe('$LATEST')
  })
})
