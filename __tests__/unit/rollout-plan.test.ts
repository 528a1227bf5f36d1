import { describe, expect, it } from '@jest/globals'
import { ActionError } from '../../src/domain/errors.js'
import {
  alarmsStillWithoutData,
  describeRolloutPlan,
  missingAlarms,
  noDataCause,
  parseRolloutPlan,
  rollbackDecision,
  rolloutSeconds,
  rolloutSteps
} from '../../src/domain/rollout-plan.js'

function failure(text: string): ActionError {
  try {
    parseRolloutPlan(text)
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error(`"${text}" was accepted`)
}

describe('parseRolloutPlan', () => {
  it.each([
    ['canary 10% 5m', { kind: 'canary', percent: 10, holdSeconds: 300 }],
    ['canary 10% 5s', { kind: 'canary', percent: 10, holdSeconds: 5 }],
    ['Canary  2.5%   1h', { kind: 'canary', percent: 2.5, holdSeconds: 3600 }],
    ['linear 10% every 1m', { kind: 'linear', percent: 10, holdSeconds: 60 }],
    ['linear 25% every 30s', { kind: 'linear', percent: 25, holdSeconds: 30 }]
  ])('reads "%s"', (text, plan) => {
    expect(parseRolloutPlan(text)).toEqual(plan)
  })

  it('reads an empty input as no rollout', () => {
    expect(parseRolloutPlan('  ')).toBeUndefined()
  })

  it.each([
    'canary',
    'canary 10 5m',
    'canary 10% 5',
    'canary 10% 5d',
    'canary 10% every 5m',
    'linear 10% 1m',
    'blue-green 10% 5m',
    'canary -10% 5m',
    'canary 10% 1.5m'
  ])('refuses "%s" naming the accepted syntax', text => {
    const error = failure(text)
    expect(error.id).toBe('invalid-rollout')
    expect(error.fix).toContain('canary PERCENT% DURATION')
    expect(error.fix).toContain('linear PERCENT% every DURATION')
  })

  it.each(['canary 0% 5m', 'canary 100% 5m', 'linear 150% every 1m'])(
    'refuses the share in "%s": it must be between 0% and 100%',
    text => {
      const error = failure(text)
      expect(error.id).toBe('invalid-rollout')
      expect(error.reason).toContain('above 0% and below 100%')
    }
  )

  it('refuses a zero duration', () => {
    expect(failure('canary 10% 0s').reason).toContain('at least 1 second')
  })

  it('refuses a plan longer than a hosted job may run', () => {
    expect(failure('linear 1% every 5m').reason).toContain('6 hours')
    expect(parseRolloutPlan('canary 10% 6h')).toBeDefined()
  })
})

describe('rolloutSteps', () => {
  it('canary: the share for its duration, then all traffic', () => {
    expect(rolloutSteps({ kind: 'canary', percent: 10, holdSeconds: 300 })).toEqual([
      { weight: 0.1, holdSeconds: 300 },
      { weight: 1, holdSeconds: 0 }
    ])
  })

  it('linear: the share added every interval, ending with all traffic', () => {
    expect(rolloutSteps({ kind: 'linear', percent: 30, holdSeconds: 60 })).toEqual([
      { weight: 0.3, holdSeconds: 60 },
      { weight: 0.6, holdSeconds: 60 },
      { weight: 0.9, holdSeconds: 60 },
      { weight: 1, holdSeconds: 0 }
    ])
  })

  it('linear: a share that divides 100 exactly does not repeat 100%', () => {
    const steps = rolloutSteps({ kind: 'linear', percent: 10, holdSeconds: 60 })
    expect(steps.map(step => step.weight)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
    expect(rolloutSeconds({ kind: 'linear', percent: 10, holdSeconds: 60 })).toBe(540)
  })

  it('describes a plan in words', () => {
    expect(describeRolloutPlan({ kind: 'canary', percent: 10, holdSeconds: 300 })).toBe(
      'canary 10% for 5 min, then 100%'
    )
    expect(describeRolloutPlan({ kind: 'linear', percent: 10, holdSeconds: 45 })).toBe(
      'linear 10% more every 45 s until 100%'
    )
  })
})

describe('rollbackDecision', () => {
  const ok = { name: 'errors', state: 'OK', reason: 'fine' }

  it('goes on when every alarm is OK and the health check passes', () => {
    expect(rollbackDecision([ok], { ok: true, reason: '' })).toBeUndefined()
  })

  it('goes on with INSUFFICIENT_DATA (a quiet canary has few data points)', () => {
    expect(rollbackDecision([{ ...ok, state: 'INSUFFICIENT_DATA' }])).toBeUndefined()
  })

  it('goes back when an alarm is in ALARM, naming it and its reason', () => {
    const cause = rollbackDecision([
      ok,
      { name: 'p99-latency', state: 'ALARM', reason: 'Threshold Crossed: 1 datapoint' }
    ])
    expect(cause).toEqual({
      kind: 'alarm',
      description: 'alarm p99-latency is in ALARM (Threshold Crossed: 1 datapoint)'
    })
  })

  it('goes back when the health check fails, with its reason', () => {
    expect(rollbackDecision([ok], { ok: false, reason: 'invoke returned 502' })).toEqual({
      kind: 'health-check',
      description: 'the health check failed (invoke returned 502)'
    })
  })

  it('names an alarm before a failed health check', () => {
    expect(rollbackDecision([{ ...ok, state: 'ALARM' }], { ok: false, reason: 'x' })?.kind).toBe(
      'alarm'
    )
  })

  it('finds the alarm names CloudWatch does not know', () => {
    expect(missingAlarms(['a', 'b'], [ok, { ...ok, name: 'a' }])).toEqual(['b'])
  })
})

describe('alarms without data for the whole rollout', () => {
  const state = (name: string, value: string) => ({ name, state: value, reason: '' })

  it('keeps only the alarms that were INSUFFICIENT_DATA at this read too', () => {
    expect(
      alarmsStillWithoutData(
        ['errors', 'latency', 'throttles'],
        [state('errors', 'OK'), state('latency', 'INSUFFICIENT_DATA'), state('throttles', 'ALARM')]
      )
    ).toEqual(['latency'])
  })

  it('keeps an alarm the read no longer returns (deleted meanwhile): it judged nothing', () => {
    expect(alarmsStillWithoutData(['errors'], [])).toEqual(['errors'])
  })

  it('never brings back an alarm that had data once', () => {
    const afterFirst = alarmsStillWithoutData(['errors'], [state('errors', 'OK')])
    expect(alarmsStillWithoutData(afterFirst, [state('errors', 'INSUFFICIENT_DATA')])).toEqual([])
  })

  it('is a cause naming each alarm and the number of reads, or nothing', () => {
    expect(noDataCause([], 4)).toBeUndefined()
    expect(noDataCause(['errors'], 1)).toEqual({
      kind: 'no-data',
      description:
        'alarm errors stayed INSUFFICIENT_DATA at all 1 read of the rollout, so it watched nothing (a metric name or dimension that matches no data looks like this)'
    })
    expect(noDataCause(['a', 'b'], 6)?.description).toMatch(
      /^alarms a, b stayed INSUFFICIENT_DATA at all 6 reads of the rollout, so they watched nothing/
    )
  })
})
