import { describe, expect, it, jest } from '@jest/globals'
import type { AwsServices } from '../../src/adapters/aws-clients.js'
import type { ActionConfig } from '../../src/inputs.js'
import type { PushedImage } from '../../src/steps/push-image.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

/**
 * After a cancel no new update starts (issue 24 item 5): the job's cancellation and the steps
 * around deployFunctions are replaced, so the test sees which functions got a code update.
 */
const controller = new AbortController()
jest.unstable_mockModule('../../src/adapters/job-cancellation.js', () => ({
  watchJobCancellation: () => ({ signal: controller.signal, hold: () => () => {} })
}))
const updated: string[] = []
jest.unstable_mockModule('../../src/steps/deploy-function.js', () => ({
  deployFunction: (target: DeployTarget) => {
    updated.push(target.function.name)
    return Promise.resolve({ deployed: true })
  }
}))
jest.unstable_mockModule('../../src/steps/release-function.js', () => ({
  // The first function's rollout is under way when the job is cancelled.
  releaseFunction: () => {
    controller.abort(new Error('the job was cancelled (SIGTERM)'))
    return Promise.reject(new Error('rolled back'))
  }
}))
jest.unstable_mockModule('../../src/steps/rollout.js', () => ({
  checkAliasCanShift: () => Promise.resolve(),
  checkRolloutAlarms: () => Promise.resolve()
}))
jest.unstable_mockModule('../../src/steps/check-archived-images.js', () => ({
  checkRolloutImagesActive: () => Promise.resolve()
}))
const { deployFunctions } = await import('../../src/steps/deploy-functions.js')

const target = (name: string) =>
  ({
    function: { name, arn: `arn:aws:lambda:us-east-1:111111111111:function:${name}` },
    region: 'us-east-1',
    overrides: {}
  }) as unknown as DeployTarget

describe('deployFunctions after a cancel', () => {
  it('starts no code update for the functions not begun, and says why', async () => {
    const aws = {
      alarms: () => ({ states: () => Promise.resolve([]) }),
      releases: () => ({}),
      functions: () => ({})
    } as unknown as AwsServices
    const config = {
      maxConcurrency: 1,
      publish: true,
      alias: { name: 'live' },
      rollout: {
        plan: { kind: 'canary', percent: 10, holdSeconds: 60 },
        alarms: [],
        insufficientData: 'fail'
      },
      wait: true
    } as unknown as ActionConfig
    const results = await deployFunctions(
      [target('first'), target('second'), target('third')],
      () => ({}) as PushedImage,
      aws,
      config
    )
    expect(updated).toEqual(['first'])
    expect(results.map(result => result.status)).toEqual(['failed', 'failed', 'failed'])
    const error = results[1]?.error as { id: string; reason: string }
    expect(error.id).toBe('cancelled-before-update')
    expect(error.reason).toBe(
      'second was not updated: the job was cancelled (SIGTERM) before its turn, and no new update starts after a cancel.'
    )
  })
})
