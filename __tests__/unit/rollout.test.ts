import { describe, expect, it, jest } from '@jest/globals'
import type { AlarmReader } from '../../src/adapters/cloudwatch.js'
import type { ReleaseService } from '../../src/adapters/lambda-releases.js'
import type { CurrentAlias } from '../../src/domain/function-changes.js'
import { ActionError } from '../../src/domain/errors.js'
import type { AlarmState } from '../../src/domain/rollout-plan.js'
import type { RolloutSettings } from '../../src/inputs.js'
import {
  ALARM_POLL_SECONDS,
  checkAliasCanShift,
  checkRolloutAlarms,
  rolloutAlias,
  type HealthCheck
} from '../../src/steps/rollout.js'

const ARN = 'arn:aws:lambda:us-east-1:111111111111:function:app'

/**
 * An alias held in memory; every accepted write is recorded as [version, weights, revisionId].
 * A write naming a RevisionId other than the alias's is refused as Lambda refuses it
 * (PreconditionFailedException, which the release service turns into concurrent-change).
 */
function fakeReleases(initial: CurrentAlias | undefined) {
  let alias = initial
  let revision = 0
  const writes: [string, Record<string, number>, string | undefined][] = []
  const refused: [string, Record<string, number>, string | undefined][] = []
  const releases = {
    alias: jest.fn(() => Promise.resolve(alias)),
    createAlias: jest.fn((_fn: string, _name: string, version: string) => {
      alias = { functionVersion: version, weights: {}, revisionId: 'created' }
      return Promise.resolve()
    }),
    updateAlias: jest.fn(
      (
        _fn: string,
        _name: string,
        version: string,
        weights: Readonly<Record<string, number>>,
        revisionId: string | undefined
      ) => {
        if (revisionId !== undefined && revisionId !== alias?.revisionId) {
          refused.push([version, { ...weights }, revisionId])
          return Promise.reject(
            new ActionError('concurrent-change', 'app changed while this step was working', '')
          )
        }
        writes.push([version, { ...weights }, revisionId])
        revision += 1
        alias = { functionVersion: version, weights, revisionId: `r${revision}` }
        return Promise.resolve(`r${revision}`)
      }
    )
  }
  return {
    releases: releases as unknown as ReleaseService,
    writes,
    refused,
    current: () => alias,
    /** Another run (or person) writes the alias: a new RevisionId. */
    moveByOther: (next: Omit<CurrentAlias, 'revisionId'>) => {
      alias = { ...next, revisionId: `other-${(revision += 1)}` }
    }
  }
}

/** Alarms whose states a test script sets by the number of reads so far. */
function scriptedAlarms(script: (read: number) => AlarmState[]): AlarmReader & { reads: number } {
  const reader = {
    reads: 0,
    states: () => {
      reader.reads += 1
      return Promise.resolve(script(reader.reads))
    }
  }
  return reader
}

const okAlarm = { name: 'errors', state: 'OK', reason: '' }
const canary: RolloutSettings = {
  plan: { kind: 'canary', percent: 10, holdSeconds: 25 },
  alarms: ['errors'],
  insufficientData: 'fail'
}
const onTwo: CurrentAlias = { functionVersion: '2', weights: {}, revisionId: 'r0' }

function run(
  settings: RolloutSettings,
  releases: ReleaseService,
  alarms: AlarmReader,
  options: { healthCheck?: HealthCheck; controller?: AbortController; slept?: number[] } = {}
) {
  const controller = options.controller ?? new AbortController()
  return rolloutAlias(ARN, 'live', '3', settings, {
    releases,
    alarms,
    cancelled: controller.signal,
    healthCheck: options.healthCheck,
    sleep: ms => {
      options.slept?.push(ms)
      return Promise.resolve()
    }
  })
}

async function failureOf(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('the rollout succeeded')
}

describe('rolloutAlias', () => {
  it('canary: weights on the previous version, then the new version with no routing', async () => {
    const fake = fakeReleases(onTwo)
    const slept: number[] = []
    const outcome = await run(
      canary,
      fake.releases,
      scriptedAlarms(() => [okAlarm]),
      { slept }
    )
    expect(fake.writes).toEqual([
      ['2', { '3': 0.1 }, 'r0'],
      ['3', {}, 'r1']
    ])
    // 25 s watched in polls of at most ALARM_POLL_SECONDS.
    expect(slept).toEqual([ALARM_POLL_SECONDS * 1000, ALARM_POLL_SECONDS * 1000, 5000])
    expect(outcome.alias).toBe('live moved from 2 to 3 by rollout (10% to 3, 100% to 3)')
  })

  it('linear: every step names the revision the previous one returned', async () => {
    const fake = fakeReleases(onTwo)
    await run(
      {
        plan: { kind: 'linear', percent: 40, holdSeconds: 1 },
        alarms: [],
        insufficientData: 'fail'
      },
      fake.releases,
      scriptedAlarms(() => [])
    )
    expect(fake.writes).toEqual([
      ['2', { '3': 0.4 }, 'r0'],
      ['2', { '3': 0.8 }, 'r1'],
      ['3', {}, 'r2']
    ])
  })

  it('rolls back when an alarm fires mid-step, naming the alarm and its reason', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(read =>
      read < 2 ? [okAlarm] : [{ ...okAlarm, state: 'ALARM', reason: 'Threshold Crossed' }]
    )
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-rolled-back')
    expect(error.reason).toContain('alarm errors is in ALARM (Threshold Crossed)')
    expect(error.reason).toContain('back on 2 with no traffic to 3')
    // The step stopped at the firing read: no third poll, and no move to 100%.
    expect(alarms.reads).toBe(2)
    // Conditional on what this run wrote: only its own change is undone.
    expect(fake.writes.at(-1)).toEqual(['2', {}, 'r1'])
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('rolls back when the health check fails, with its reason', async () => {
    const fake = fakeReleases(onTwo)
    const healthCheck = jest.fn<HealthCheck>(() =>
      Promise.resolve({ ok: false, reason: 'invoke answered 500' })
    )
    const error = await failureOf(
      run(
        canary,
        fake.releases,
        scriptedAlarms(() => [okAlarm]),
        { healthCheck }
      )
    )
    expect(healthCheck).toHaveBeenCalledWith(expect.objectContaining({ version: '3', weight: 0.1 }))
    expect(error.reason).toContain('the health check failed (invoke answered 500)')
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('calls a passing health check at each watched step and completes', async () => {
    const fake = fakeReleases(onTwo)
    const healthCheck = jest.fn<HealthCheck>(() => Promise.resolve({ ok: true, reason: '' }))
    await run(
      {
        plan: { kind: 'linear', percent: 50, holdSeconds: 1 },
        alarms: [],
        insufficientData: 'fail'
      },
      fake.releases,
      scriptedAlarms(() => []),
      { healthCheck }
    )
    expect(healthCheck).toHaveBeenCalledTimes(1)
    expect(fake.current()).toMatchObject({ functionVersion: '3', weights: {} })
  })

  it('rolls back when the job is cancelled during a wait', async () => {
    const fake = fakeReleases(onTwo)
    const controller = new AbortController()
    const alarms = scriptedAlarms(() => [okAlarm])
    const promise = rolloutAlias(ARN, 'live', '3', canary, {
      releases: fake.releases,
      alarms,
      cancelled: controller.signal,
      sleep: () => {
        controller.abort(new Error('the job was cancelled (SIGTERM)'))
        return Promise.resolve()
      }
    })
    const error = await failureOf(promise)
    expect(error.id).toBe('rollout-cancelled')
    expect(error.reason).toContain('SIGTERM')
    expect(alarms.reads).toBe(0)
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('rolls back when an alarm cannot be read mid-rollout', async () => {
    const fake = fakeReleases(onTwo)
    const alarms: AlarmReader = {
      states: () => Promise.reject(new Error('AccessDenied: cloudwatch:DescribeAlarms'))
    }
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-failed')
    expect(error.reason).toContain('cloudwatch:DescribeAlarms')
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('creates a missing alias on the new version: there is nothing to shift from', async () => {
    const fake = fakeReleases(undefined)
    const outcome = await run(
      canary,
      fake.releases,
      scriptedAlarms(() => [okAlarm])
    )
    expect(fake.current()).toMatchObject({ functionVersion: '3', weights: {} })
    expect(fake.writes).toEqual([])
    expect(outcome.alias).toContain('first deploy, no rollout')
  })

  const noData = { name: 'errors', state: 'INSUFFICIENT_DATA', reason: 'Insufficient Data' }

  it('rolls back before the last shift when an alarm had no data at any read', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(() => [noData])
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-alarm-no-data')
    expect(error.reason).toContain(
      'alarm errors stayed INSUFFICIENT_DATA at all 3 reads of the rollout, so it watched nothing'
    )
    expect(error.reason).toContain('rolled back at 10% to 3')
    expect(error.fix).toContain('rollout-insufficient-data: warn')
    // 10% was made, 100% never: the alias went back from the canary step.
    expect(fake.writes).toEqual([
      ['2', { '3': 0.1 }, 'r0'],
      ['2', {}, 'r1']
    ])
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('completes with a warning when rollout-insufficient-data is warn', async () => {
    const fake = fakeReleases(onTwo)
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true)
    const outcome = await run(
      { ...canary, insufficientData: 'warn' },
      fake.releases,
      scriptedAlarms(() => [noData])
    )
    const warnings = stdout.mock.calls
      .map(([chunk]) => String(chunk))
      .filter(line => line.startsWith('::warning::'))
    stdout.mockRestore()
    expect(fake.current()).toMatchObject({ functionVersion: '3', weights: {} })
    expect(outcome.alias).toBe(
      'live moved from 2 to 3 by rollout (10% to 3, 100% to 3); errors had no data throughout'
    )
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain('alarm errors stayed INSUFFICIENT_DATA')
  })

  it('accepts an alarm that had no data at first and data later', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(read => [read < 3 ? noData : okAlarm])
    const outcome = await run(canary, fake.releases, alarms)
    expect(outcome.steps).toEqual(['10% to 3', '100% to 3'])
  })

  it('names only the alarms that never had data, among several', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(() => [
      okAlarm,
      { ...noData, name: 'latency' },
      { ...noData, name: 'throttles' }
    ])
    const error = await failureOf(
      run({ ...canary, alarms: ['errors', 'latency', 'throttles'] }, fake.releases, alarms)
    )
    expect(error.reason).toContain('alarms latency, throttles stayed INSUFFICIENT_DATA')
    expect(error.reason).not.toContain('errors,')
  })

  it('leaves an alias already on the new version as it is', async () => {
    const fake = fakeReleases({ ...onTwo, functionVersion: '3' })
    const outcome = await run(
      canary,
      fake.releases,
      scriptedAlarms(() => [okAlarm])
    )
    expect(fake.writes).toEqual([])
    expect(outcome.alias).toBe('live already points at 3')
  })
})

describe('rolloutAlias and changes made by others', () => {
  it('refuses a rollback when another run moved the alias meanwhile, and leaves its change', async () => {
    const fake = fakeReleases(onTwo)
    // Read 1: another run has finished version 4 at 100%; read 2: the alarm fires.
    const alarms = scriptedAlarms(read => {
      if (read === 1) fake.moveByOther({ functionVersion: '4', weights: {} })
      return read < 2 ? [okAlarm] : [{ ...okAlarm, state: 'ALARM', reason: 'Threshold Crossed' }]
    })
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-alias-moved')
    expect(error.reason).toContain('it is now on version 4')
    expect(error.reason).toContain('does not undo another run')
    expect(fake.refused).toEqual([['2', {}, 'r1']])
    expect(fake.writes).toEqual([['2', { '3': 0.1 }, 'r0']])
    expect(fake.current()).toMatchObject({ functionVersion: '4', weights: {} })
  })

  it('rolls back its own split when a step is refused although the alias still holds only its change', async () => {
    const fake = fakeReleases(onTwo)
    // Read 1: only the RevisionId moves (a description edit); the split is still this run's.
    const alarms = scriptedAlarms(read => {
      if (read === 1) fake.moveByOther({ functionVersion: '2', weights: { '3': 0.1 } })
      return [okAlarm]
    })
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-failed')
    expect(error.reason).toContain('back on 2 with no traffic to 3')
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('stops without rolling back when a step is refused because another run moved the alias', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(read => {
      if (read === 1) fake.moveByOther({ functionVersion: '4', weights: {} })
      return [okAlarm]
    })
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-alias-moved')
    expect(error.reason).toContain('from 2 to 3 stopped')
    // The 100% shift was refused; the rollback that followed was conditional on this run's
    // RevisionId, so it was refused too, and nothing else was written after it.
    expect(fake.refused).toEqual([
      ['3', {}, 'r1'],
      ['2', {}, 'r1']
    ])
    expect(fake.writes).toEqual([['2', { '3': 0.1 }, 'r0']])
    expect(fake.current()).toMatchObject({ functionVersion: '4', weights: {} })
  })

  it('writes the rollback again when only the RevisionId moved (the alias is as this run left it)', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(read => {
      // A new description, say: same version and weights, another RevisionId.
      if (read === 1) fake.moveByOther({ functionVersion: '2', weights: { '3': 0.1 } })
      return read < 2 ? [okAlarm] : [{ ...okAlarm, state: 'ALARM', reason: 'Threshold Crossed' }]
    })
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-rolled-back')
    expect(fake.refused).toHaveLength(1)
    expect(fake.writes.at(-1)).toEqual(['2', {}, 'other-2'])
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it('writes nothing more when someone else already put the alias back', async () => {
    const fake = fakeReleases(onTwo)
    const alarms = scriptedAlarms(read => {
      if (read === 1) fake.moveByOther({ functionVersion: '2', weights: {} })
      return read < 2 ? [okAlarm] : [{ ...okAlarm, state: 'ALARM', reason: 'Threshold Crossed' }]
    })
    const error = await failureOf(run(canary, fake.releases, alarms))
    expect(error.id).toBe('rollout-rolled-back')
    expect(fake.writes).toEqual([['2', { '3': 0.1 }, 'r0']])
    expect(fake.current()).toMatchObject({ functionVersion: '2', weights: {} })
  })

  it("refuses to start on an alias split to another version (another run's canary)", async () => {
    const fake = fakeReleases({ ...onTwo, weights: { '4': 0.1 } })
    const error = await failureOf(
      run(
        canary,
        fake.releases,
        scriptedAlarms(() => [okAlarm])
      )
    )
    expect(error.id).toBe('alias-split-in-progress')
    expect(error.reason).toContain('routes 10% to 4 and the rest to 2')
    expect(error.fix).toContain('concurrency')
    expect(fake.writes).toEqual([])
    expect(fake.refused).toEqual([])
  })

  it('goes on from a weight on the version being rolled out (the same rollout again)', async () => {
    const fake = fakeReleases({ ...onTwo, weights: { '3': 0.1 } })
    await run(
      canary,
      fake.releases,
      scriptedAlarms(() => [okAlarm])
    )
    expect(fake.current()).toMatchObject({ functionVersion: '3', weights: {} })
  })
})

describe('checkAliasCanShift', () => {
  it('refuses, for a rollout, an alias that routes to two versions already, before any change', async () => {
    const fake = fakeReleases({ ...onTwo, weights: { '4': 0.25 } })
    const error = await failureOf(checkAliasCanShift('app', ARN, 'live', fake.releases, true))
    expect(error.id).toBe('alias-split-in-progress')
    expect(error.reason).toContain('app was not changed')
    // alias-routing-weight alone replaces a split: that is what it is for.
    await expect(checkAliasCanShift('app', ARN, 'live', fake.releases)).resolves.toBeUndefined()
  })

  it('refuses an alias on $LATEST, which cannot carry routing weights', async () => {
    const fake = fakeReleases({ ...onTwo, functionVersion: '$LATEST' })
    const error = await failureOf(checkAliasCanShift('app', ARN, 'live', fake.releases))
    expect(error.id).toBe('alias-on-latest')
    expect(error.reason).toContain('Alias live of app points at $LATEST')
    expect(error.reason).toContain('app was not changed')
    expect(error.fix).toContain('--function-version N')
    expect(fake.writes).toEqual([])
  })

  it.each([
    ['on a published version', onTwo],
    ['missing (it is created on the new version)', undefined]
  ])('passes an alias %s', async (_, alias) => {
    const fake = fakeReleases(alias)
    await expect(checkAliasCanShift('app', ARN, 'live', fake.releases)).resolves.toBeUndefined()
  })
})

describe('checkRolloutAlarms', () => {
  it('refuses an alarm name CloudWatch does not know', async () => {
    const error = await failureOf(
      checkRolloutAlarms(
        'app',
        ['errors', 'typo'],
        scriptedAlarms(() => [okAlarm])
      )
    )
    expect(error.id).toBe('rollout-alarm-not-found')
    expect(error.reason).toContain('typo')
  })

  it('refuses to start while an alarm is already firing', async () => {
    const error = await failureOf(
      checkRolloutAlarms(
        'app',
        ['errors'],
        scriptedAlarms(() => [{ ...okAlarm, state: 'ALARM', reason: 'high' }])
      )
    )
    expect(error.id).toBe('rollout-alarm-already-firing')
  })

  it('passes alarms that exist and are not firing', async () => {
    await expect(
      checkRolloutAlarms(
        'app',
        ['errors'],
        scriptedAlarms(() => [okAlarm])
      )
    ).resolves.toBeUndefined()
  })
})
