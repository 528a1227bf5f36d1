import { describe, expect, it, jest } from '@jest/globals'
import type { ReleaseService } from '../../src/adapters/lambda-releases.js'
import { ActionError } from '../../src/domain/errors.js'
import type { CurrentAlias } from '../../src/domain/function-changes.js'
import type { ActionConfig } from '../../src/inputs.js'
import type { PushedImage } from '../../src/steps/push-image.js'
import { releaseFunction, type TrafficCheck } from '../../src/steps/release-function.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

/** Verify before traffic (issue 24 item 4): the check runs between the version and the alias. */

const ARN = 'arn:aws:lambda:us-east-1:111111111111:function:orders'
const target = {
  function: { arn: ARN, name: 'orders' },
  overrides: {}
} as unknown as DeployTarget
const image = { digest: `sha256:${'a'.repeat(64)}` } as PushedImage
const config: Pick<
  ActionConfig,
  'overrides' | 'publish' | 'alias' | 'rollout' | 'waitTimeoutSeconds' | 'revision'
> = {
  overrides: new Map(),
  publish: true,
  alias: { name: 'live' },
  rollout: undefined,
  waitTimeoutSeconds: 10,
  revision: undefined
}

/** Every call, in order, by name; the alias starts on version 1. */
function fakeReleases(
  initial: CurrentAlias | null = { functionVersion: '1', weights: {}, revisionId: 'a1' }
) {
  const calls: string[] = []
  let alias = initial ?? undefined
  const releases = {
    settings: jest.fn(() => {
      calls.push('settings')
      return Promise.resolve({ environment: {}, revisionId: 'f1' })
    }),
    publish: jest.fn(() => {
      calls.push('publish')
      return Promise.resolve('2')
    }),
    alias: jest.fn(() => {
      calls.push('alias')
      return Promise.resolve(alias)
    }),
    createAlias: jest.fn((_fn: string, _name: string, version: string) => {
      calls.push('createAlias')
      alias = { functionVersion: version, weights: {}, revisionId: 'a2' }
      return Promise.resolve()
    }),
    updateAlias: jest.fn((_fn: string, _name: string, version: string) => {
      calls.push('updateAlias')
      alias = { functionVersion: version, weights: {}, revisionId: 'a2' }
      return Promise.resolve('a2')
    })
  }
  return { releases: releases as unknown as ReleaseService, calls, current: () => alias }
}

async function failureOf(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('the release succeeded')
}

describe('releaseFunction with a check before traffic', () => {
  it('checks the published version before the alias moves, then moves it', async () => {
    const fake = fakeReleases()
    const check = jest.fn<TrafficCheck>(() => {
      fake.calls.push('check')
      return Promise.resolve({ ok: true, reason: '' })
    })
    const outcome = await releaseFunction(target, image, fake.releases, config, undefined, check)
    expect(fake.calls).toEqual(['settings', 'publish', 'check', 'alias', 'updateAlias'])
    expect(check).toHaveBeenCalledWith({ version: '2', signal: undefined })
    expect(outcome.alias).toBe('live moves from 1 to 2')
  })

  it('leaves the alias as it was when the check fails, and fails the function', async () => {
    const fake = fakeReleases()
    const check: TrafficCheck = () =>
      Promise.resolve({ ok: false, reason: 'the verify invoke of version 2 failed: boom' })
    const error = await failureOf(
      releaseFunction(target, image, fake.releases, config, undefined, check)
    )
    expect(error.id).toBe('verify-invoke-failed')
    expect(error.reason).toContain('the verify invoke of version 2 failed: boom')
    expect(error.reason).toContain('The alias live was not moved: version 2 got no traffic.')
    expect(fake.calls).toEqual(['settings', 'publish'])
    expect(fake.current()?.functionVersion).toBe('1')
  })

  it('does not create a missing alias on a version that failed its check', async () => {
    const fake = fakeReleases(null)
    const check: TrafficCheck = () => Promise.resolve({ ok: false, reason: 'no' })
    await failureOf(releaseFunction(target, image, fake.releases, config, undefined, check))
    expect(fake.calls).not.toContain('createAlias')
    expect(fake.current()).toBeUndefined()
  })

  it('with a rollout, checks before the first weight; a cancel during the check changes nothing', async () => {
    const fake = fakeReleases()
    const controller = new AbortController()
    const check: TrafficCheck = ({ signal }) => {
      expect(signal).toBe(controller.signal)
      controller.abort(new Error('the job was cancelled (SIGTERM)'))
      return Promise.resolve({ ok: false, reason: 'the invocation was abandoned' })
    }
    const error = await failureOf(
      releaseFunction(
        target,
        image,
        fake.releases,
        {
          ...config,
          rollout: {
            plan: { kind: 'canary', percent: 10, holdSeconds: 1 },
            alarms: [],
            insufficientData: 'fail'
          }
        },
        { alarms: { states: () => Promise.resolve([]) }, cancelled: controller.signal },
        check
      )
    )
    expect(error.id).toBe('rollout-cancelled')
    expect(error.reason).toContain(
      'the job was cancelled (SIGTERM) during the verify invoke of version 2'
    )
    expect(fake.calls).toEqual(['settings', 'publish'])
  })

  it('without an alias, makes no check (the invoke after the deploy is the one)', async () => {
    const fake = fakeReleases()
    const check = jest.fn<TrafficCheck>()
    const outcome = await releaseFunction(
      target,
      image,
      fake.releases,
      { ...config, alias: undefined },
      undefined,
      check
    )
    expect(outcome.version).toBe('2')
    expect(check).not.toHaveBeenCalled()
  })
})
