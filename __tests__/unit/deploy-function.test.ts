import { describe, expect, it } from '@jest/globals'
import {
  UPDATE_CONFLICT,
  type CodeUpdate,
  type FunctionFacts,
  type FunctionService
} from '../../src/adapters/lambda.js'
import { ActionError } from '../../src/domain/errors.js'
import { MAX_CONFLICT_ATTEMPTS, deployFunction } from '../../src/steps/deploy-function.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'

const DIGEST = `sha256:${'b'.repeat(64)}`
const image = {
  digest: DIGEST,
  imageUri: `111111111111.dkr.ecr.us-east-1.amazonaws.com/app@${DIGEST}`,
  mediaType: 'application/vnd.oci.image.manifest.v1+json'
}

const idle: FunctionFacts = {
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:app',
  name: 'app',
  packageType: 'Image',
  architectures: ['x86_64'],
  memorySize: 128,
  timeout: 3,
  ephemeralStorageMb: 512,
  environment: {},
  codeSha256: 'a'.repeat(64),
  imageUri: '',
  lastUpdateStatus: 'Successful',
  lastUpdateStatusReason: '',
  state: 'Active',
  stateReason: '',
  stateReasonCode: ''
}

function target(fn: FunctionFacts, changesArchitecture = false): DeployTarget {
  return {
    function: fn,
    given: 'app',
    overrides: {},
    region: 'us-east-1',
    account: '111111111111',
    repository: {
      account: '111111111111',
      region: 'us-east-1',
      registry: '111111111111.dkr.ecr.us-east-1.amazonaws.com',
      name: 'app',
      uri: '111111111111.dkr.ecr.us-east-1.amazonaws.com/app'
    },
    architecture: changesArchitecture ? 'arm64' : 'x86_64',
    changesArchitecture
  }
}

/** A function service that records calls and plays back the states a test gives it. */
function fakeLambda(afterWait: Partial<FunctionFacts>[]) {
  const calls: string[] = []
  const updates: CodeUpdate[] = []
  const service: FunctionService = {
    describe: () => Promise.resolve(idle),
    updateCode: update => {
      calls.push('updateCode')
      updates.push(update)
      return Promise.resolve({ ...idle, lastUpdateStatus: 'InProgress' })
    },
    waitForUpdate: () => {
      calls.push('waitForUpdate')
      return Promise.resolve({ ...idle, ...(afterWait.shift() ?? {}) })
    },
    create: () => Promise.reject(new Error('not expected')),
    waitUntilActive: () => Promise.reject(new Error('not expected'))
  }
  return { service, calls, updates }
}

const settings = { wait: true, waitTimeoutSeconds: 30 }

describe('deployFunction', () => {
  it('updates the code by digest and waits for success', async () => {
    const lambda = fakeLambda([{ codeSha256: 'b'.repeat(64) }])
    const outcome = await deployFunction(target(idle), image, lambda.service, settings)
    expect(lambda.calls).toEqual(['updateCode', 'waitForUpdate'])
    expect(lambda.updates[0]).toEqual({
      functionName: idle.arn,
      imageUri: image.imageUri,
      architectures: undefined
    })
    expect(outcome.deployed).toBe(true)
    expect(outcome.function.codeSha256).toBe('b'.repeat(64))
  })

  it('makes no update when the function already runs the image', async () => {
    const lambda = fakeLambda([])
    const outcome = await deployFunction(
      target({ ...idle, codeSha256: 'b'.repeat(64) }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual([])
    expect(outcome.deployed).toBe(false)
  })

  it('still updates the same image when the architecture changes', async () => {
    const lambda = fakeLambda([{}])
    await deployFunction(
      target({ ...idle, codeSha256: 'b'.repeat(64) }, true),
      image,
      lambda.service,
      settings
    )
    expect(lambda.updates[0]?.architectures).toEqual(['arm64'])
  })

  it('waits for an update already in progress before its own', async () => {
    const lambda = fakeLambda([{}, {}])
    await deployFunction(
      target({ ...idle, lastUpdateStatus: 'InProgress' }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual(['waitForUpdate', 'updateCode', 'waitForUpdate'])
  })

  it('fails with Lambda’s reason when the update fails', async () => {
    const lambda = fakeLambda([
      { lastUpdateStatus: 'Failed', lastUpdateStatusReason: 'Image manifest not found' }
    ])
    const failure = deployFunction(target(idle), image, lambda.service, settings)
    await expect(failure).rejects.toThrow(ActionError)
    await expect(failure).rejects.toMatchObject({
      id: 'function-update-failed',
      reason: expect.stringContaining('Image manifest not found')
    })
  })

  it('fails with the function’s state when the wait runs out', async () => {
    const lambda = fakeLambda([{ lastUpdateStatus: 'InProgress', state: 'Pending' }])
    await expect(
      deployFunction(target(idle), image, lambda.service, settings)
    ).rejects.toMatchObject({
      id: 'function-update-timeout',
      reason: expect.stringContaining('Pending')
    })
  })

  it('deploys the same image again when the last update failed', async () => {
    const lambda = fakeLambda([{ codeSha256: 'b'.repeat(64) }])
    const outcome = await deployFunction(
      target({
        ...idle,
        codeSha256: 'b'.repeat(64),
        lastUpdateStatus: 'Failed',
        lastUpdateStatusReason: 'broken',
        lastUpdateStatusReasonCode: 'InvalidImage'
      }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual(['updateCode', 'waitForUpdate'])
    expect(outcome.deployed).toBe(true)
  })

  it('deploys the same image again when the function is Failed', async () => {
    const lambda = fakeLambda([{}])
    const outcome = await deployFunction(
      target({
        ...idle,
        codeSha256: 'b'.repeat(64),
        state: 'Failed',
        stateReasonCode: 'ImageDeleted'
      }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual(['updateCode', 'waitForUpdate'])
    expect(outcome.deployed).toBe(true)
  })

  it('waits for a Pending function to become Active before updating it', async () => {
    const lambda = fakeLambda([{}, {}])
    await deployFunction(
      target({ ...idle, state: 'Pending', stateReason: 'The function is being created.' }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual(['waitForUpdate', 'updateCode', 'waitForUpdate'])
  })

  it('fails with the state when a Pending function stays Pending', async () => {
    const lambda = fakeLambda([{ state: 'Pending' }])
    await expect(
      deployFunction(target({ ...idle, state: 'Pending' }), image, lambda.service, settings)
    ).rejects.toMatchObject({ id: 'function-update-timeout' })
    expect(lambda.calls).toEqual(['waitForUpdate'])
  })

  it('updates an Inactive function without waiting for it first', async () => {
    const lambda = fakeLambda([{}])
    const outcome = await deployFunction(
      target({ ...idle, state: 'Inactive' }),
      image,
      lambda.service,
      settings
    )
    expect(lambda.calls).toEqual(['updateCode', 'waitForUpdate'])
    expect(outcome.deployed).toBe(true)
  })

  it('does not wait when asked not to', async () => {
    const lambda = fakeLambda([])
    const outcome = await deployFunction(target(idle), image, lambda.service, {
      ...settings,
      wait: false
    })
    expect(lambda.calls).toEqual(['updateCode'])
    expect(outcome.deployed).toBe(true)
  })
})

describe('deployFunction when another update is in progress', () => {
  const conflict = () =>
    new ActionError(UPDATE_CONFLICT, 'Lambda refused: an update is in progress', 'serialize')

  function conflictingLambda(conflicts: number) {
    const calls: string[] = []
    const service: FunctionService = {
      describe: () => Promise.resolve(idle),
      updateCode: () => {
        calls.push('updateCode')
        if (calls.filter(call => call === 'updateCode').length <= conflicts) {
          return Promise.reject(conflict())
        }
        return Promise.resolve({ ...idle, lastUpdateStatus: 'InProgress' })
      },
      waitForUpdate: () => {
        calls.push('waitForUpdate')
        return Promise.resolve({ ...idle, codeSha256: 'b'.repeat(64) })
      },
      create: () => Promise.reject(new Error('not expected')),
      waitUntilActive: () => Promise.reject(new Error('not expected'))
    }
    return { service, calls }
  }
  const noSleep = () => Promise.resolve()

  it('waits for the other update, then retries the code update', async () => {
    const lambda = conflictingLambda(2)
    const outcome = await deployFunction(target(idle), image, lambda.service, settings, noSleep)
    expect(lambda.calls).toEqual([
      'updateCode',
      'waitForUpdate',
      'updateCode',
      'waitForUpdate',
      'updateCode',
      'waitForUpdate'
    ])
    expect(outcome.deployed).toBe(true)
  })

  it('gives up after a bounded number of conflicts, saying so', async () => {
    const lambda = conflictingLambda(100)
    await expect(
      deployFunction(target(idle), image, lambda.service, settings, noSleep)
    ).rejects.toMatchObject({
      id: UPDATE_CONFLICT,
      reason: expect.stringContaining(`after ${MAX_CONFLICT_ATTEMPTS} attempts`)
    })
    expect(lambda.calls.filter(call => call === 'updateCode')).toHaveLength(MAX_CONFLICT_ATTEMPTS)
  })

  it('reports state, status and reason when the wait runs out', async () => {
    const lambda = fakeLambda([
      {
        lastUpdateStatus: 'InProgress',
        state: 'Pending',
        lastUpdateStatusReason: 'Creating the function image cache'
      }
    ])
    await expect(
      deployFunction(target(idle), image, lambda.service, settings)
    ).rejects.toMatchObject({
      id: 'function-update-timeout',
      reason: expect.stringMatching(
        /LastUpdateStatus InProgress, State Pending; reason: Creating the function image cache, after 30 s/
      )
    })
  })
})
