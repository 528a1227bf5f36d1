import { beforeEach, describe, expect, it, jest } from '@jest/globals'
import {
  GetFunctionCommand,
  GetFunctionConfigurationCommand,
  InvokeCommand,
  LambdaClient,
  PublishVersionCommand
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { createFunctionInvoker } from '../../src/adapters/lambda-invoke.js'
import { createReleaseService, type ReleaseService } from '../../src/adapters/lambda-releases.js'
import { createFunctionService, type FunctionFacts } from '../../src/adapters/lambda.js'
import { ActionError } from '../../src/domain/errors.js'
import {
  durableWithoutVersionWarning,
  publishPlan,
  publishRefusal,
  verifyQualifierRefusal,
  versionReadiness,
  type VersionState
} from '../../src/domain/function-kinds.js'
import type { ActionConfig } from '../../src/inputs.js'
import { waitForPublishedVersion } from '../../src/steps/published-version.js'
import type { PushedImage } from '../../src/steps/push-image.js'
import { releaseFunction } from '../../src/steps/release-function.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'
import { verifyInvoke } from '../../src/steps/verify-invoke.js'

/** Issue 26 items 1 and 2: Lambda Managed Instances are deployed through a published version
 * that is waited for; durable functions are never verified through $LATEST. */

const lambdaMock = mockClient(LambdaClient)
const ARN = 'arn:aws:lambda:us-east-1:111111111111:function:orders'
const PROVIDER = 'arn:aws:lambda:us-east-1:111111111111:capacity-provider:fleet'
const DIGEST = `sha256:${'a'.repeat(64)}`
const HEX = 'a'.repeat(64)

beforeEach(() => {
  lambdaMock.reset()
})

const state = (name: string, reasonCode = '', codeSha256 = HEX): VersionState => ({
  version: '$LATEST.PUBLISHED',
  state: name,
  stateReason: reasonCode ? `Reason for ${reasonCode}.` : '',
  stateReasonCode: reasonCode,
  codeSha256
})

async function failureOf(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected a failure')
}

describe('the function kind, read from GetFunction', () => {
  it('names the capacity provider of a Managed Instances function', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: {
        FunctionArn: ARN,
        State: 'ActiveNonInvocable',
        CapacityProviderConfig: {
          LambdaManagedInstancesCapacityProviderConfig: { CapacityProviderArn: PROVIDER }
        }
      }
    })
    const facts = await createFunctionService(new LambdaClient({ region: 'us-east-1' })).describe(
      ARN
    )
    expect(facts.capacityProviderArn).toBe(PROVIDER)
    expect(facts.durable).toBeUndefined()
  })

  it('marks a function with DurableConfig durable', async () => {
    lambdaMock.on(GetFunctionCommand).resolves({
      Configuration: { FunctionArn: ARN, State: 'Active', DurableConfig: { ExecutionTimeout: 60 } }
    })
    const facts = await createFunctionService(new LambdaClient({ region: 'us-east-1' })).describe(
      ARN
    )
    expect(facts.durable).toBe(true)
    expect(facts.capacityProviderArn).toBeUndefined()
  })
})

describe('the release adapter for published versions', () => {
  const releases = () => createReleaseService(new LambdaClient({ region: 'us-east-1' }))

  it('publishes to $LATEST.PUBLISHED with PublishTo LATEST_PUBLISHED, guarded by CodeSha256 and RevisionId', async () => {
    lambdaMock.on(PublishVersionCommand).resolves({ Version: '$LATEST.PUBLISHED' })
    const version = await releases().publishLatest(ARN, HEX, 'commit x', 'rev-1')
    expect(version).toBe('$LATEST.PUBLISHED')
    expect(lambdaMock.commandCalls(PublishVersionCommand)[0]!.args[0].input).toEqual({
      FunctionName: ARN,
      CodeSha256: HEX,
      Description: 'commit x',
      RevisionId: 'rev-1',
      PublishTo: 'LATEST_PUBLISHED'
    })
  })

  it('reads a version’s State with its Qualifier, and answers undefined for a missing one', async () => {
    lambdaMock.on(GetFunctionConfigurationCommand, { FunctionName: ARN, Qualifier: '3' }).resolves({
      Version: '3',
      State: 'Failed',
      StateReason: 'No capacity.',
      StateReasonCode: 'InsufficientCapacity',
      CodeSha256: HEX
    })
    const missing = new Error('not found')
    missing.name = 'ResourceNotFoundException'
    lambdaMock
      .on(GetFunctionConfigurationCommand, { FunctionName: ARN, Qualifier: '4' })
      .rejects(missing)
    expect(await releases().versionState(ARN, '3')).toEqual({
      version: '3',
      state: 'Failed',
      stateReason: 'No capacity.',
      stateReasonCode: 'InsufficientCapacity',
      codeSha256: HEX
    })
    expect(await releases().versionState(ARN, '4')).toBeUndefined()
  })
})

describe('versionReadiness', () => {
  const readiness = (current: VersionState | undefined) =>
    versionReadiness('orders', '$LATEST.PUBLISHED', current, 'alias live was not moved')

  it('is ready when Active and waits while Pending', () => {
    expect(readiness(state('Active')).kind).toBe('ready')
    expect(readiness(state('Pending', 'Creating')).kind).toBe('waiting')
  })

  it.each([
    ['Failed', 'InsufficientCapacity', /instance types or subnets/],
    ['Failed', 'VcpuLimitExceeded', /vCPU quota/],
    ['Failed', 'CapacityProviderScalingLimitExceeded', /maximum vCPU count/],
    ['ActiveNonInvocable', 'InsufficientCapacity', /instance types/],
    ['Deactivating', '', /changed this version meanwhile/],
    ['Deactivated', '', /changed this version meanwhile/],
    ['Deleting', '', /changed this version meanwhile/],
    ['Inactive', 'Idle', /StateReasonCode Idle/],
    ['SomethingNew', '', /StateReasonCode \(none given\)/]
  ])('fails on %s (%s), naming the State, the reason code and a fix', (name, code, fix) => {
    const result = readiness(state(name, code))
    expect(result.kind).toBe('failed')
    const error = (result as { error: ActionError }).error
    expect(error.reason).toContain(`is ${name}`)
    if (code) expect(error.reason).toContain(`(${code})`)
    expect(error.reason).toContain('alias live was not moved')
    expect(error.fix).toMatch(fix)
  })

  it('fails when the version is gone', () => {
    const result = readiness(undefined)
    expect(result.kind).toBe('failed')
    expect((result as { error: ActionError }).error.id).toBe('published-version-missing')
  })
})

describe('waitForPublishedVersion', () => {
  const fake = (states: VersionState[]) => {
    const versionState = jest.fn(() =>
      Promise.resolve(states.length > 1 ? states.shift() : states[0])
    )
    return { versionState } as unknown as Pick<ReleaseService, 'versionState'>
  }

  it('polls once a second while Pending and returns the Active version', async () => {
    const sleep = jest.fn((_ms: number) => Promise.resolve())
    const releases = fake([
      state('Pending', 'Creating'),
      state('Pending', 'Creating'),
      state('Active')
    ])
    const result = await waitForPublishedVersion(
      'orders',
      ARN,
      '$LATEST.PUBLISHED',
      releases,
      60,
      'x',
      sleep
    )
    expect(result.state).toBe('Active')
    expect(sleep).toHaveBeenCalledTimes(2)
    expect(sleep).toHaveBeenCalledWith(1000)
  })

  it('fails with the reason code when provisioning fails', async () => {
    const releases = fake([state('Pending', 'Creating'), state('Failed', 'VcpuLimitExceeded')])
    const error = await failureOf(
      waitForPublishedVersion('orders', ARN, '2', releases, 60, 'nothing routes to it', () =>
        Promise.resolve()
      )
    )
    expect(error.id).toBe('published-version-not-ready')
    expect(error.reason).toContain('VcpuLimitExceeded')
  })

  it('fails when wait-timeout runs out while still Pending, advising a longer one', async () => {
    const releases = fake([state('Pending', 'Creating')])
    const error = await failureOf(
      waitForPublishedVersion('orders', ARN, '2', releases, 0, 'x', () => Promise.resolve())
    )
    expect(error.id).toBe('published-version-timeout')
    expect(error.fix).toContain('wait-timeout')
  })
})

describe('releaseFunction for a function on a capacity provider', () => {
  const target = {
    function: { arn: ARN, name: 'orders', capacityProviderArn: PROVIDER },
    overrides: {}
  } as unknown as DeployTarget
  const image = { digest: DIGEST } as PushedImage
  const config = (
    publish: boolean,
    alias?: string
  ): Pick<
    ActionConfig,
    'overrides' | 'publish' | 'alias' | 'rollout' | 'waitTimeoutSeconds' | 'revision'
  > => ({
    overrides: new Map(),
    publish,
    alias: alias ? { name: alias } : undefined,
    rollout: undefined,
    waitTimeoutSeconds: 30,
    revision: undefined
  })

  function fakeReleases(states: Record<string, VersionState[]>) {
    const calls: string[] = []
    const releases = {
      settings: jest.fn(() => Promise.resolve({ environment: {}, revisionId: 'f1' })),
      publishLatest: jest.fn(() => {
        calls.push('publishLatest')
        return Promise.resolve('$LATEST.PUBLISHED')
      }),
      publish: jest.fn(() => {
        calls.push('publish')
        return Promise.resolve('2')
      }),
      versionState: jest.fn((_fn: string, version: string) => {
        calls.push(`state ${version}`)
        const list = states[version] ?? []
        return Promise.resolve(list.length > 1 ? list.shift() : list[0])
      }),
      alias: jest.fn(() =>
        Promise.resolve({ functionVersion: '1', weights: {}, revisionId: 'a1' })
      ),
      updateAlias: jest.fn(() => {
        calls.push('updateAlias')
        return Promise.resolve('a2')
      })
    }
    return { releases: releases as unknown as ReleaseService, calls }
  }

  it('without publish, publishes $LATEST.PUBLISHED and waits until it is Active', async () => {
    const fake = fakeReleases({
      '$LATEST.PUBLISHED': [
        state('Active', '', 'b'.repeat(64)),
        state('Pending', 'Creating'),
        state('Active')
      ]
    })
    const outcome = await releaseFunction(target, image, fake.releases, config(false))
    expect(fake.calls).toEqual([
      'state $LATEST.PUBLISHED',
      'publishLatest',
      'state $LATEST.PUBLISHED',
      'state $LATEST.PUBLISHED'
    ])
    expect(outcome).toMatchObject({
      version: '$LATEST.PUBLISHED',
      servingChanged: true,
      serving: '$LATEST.PUBLISHED (unqualified invokes)'
    })
  }, 10_000)

  it('fails when $LATEST.PUBLISHED turns Active with another image: another deploy published since', async () => {
    const fake = fakeReleases({
      '$LATEST.PUBLISHED': [
        state('Active', '', 'b'.repeat(64)),
        state('Pending', 'Creating'),
        state('Active', '', 'c'.repeat(64))
      ]
    })
    const error = await failureOf(releaseFunction(target, image, fake.releases, config(false)))
    expect(error.id).toBe('published-version-replaced')
    expect(error.reason).toContain(`runs sha256:${'c'.repeat(64)}`)
  })

  it('publishes nothing when $LATEST.PUBLISHED already runs the image, Active', async () => {
    const fake = fakeReleases({ '$LATEST.PUBLISHED': [state('Active')] })
    const outcome = await releaseFunction(target, image, fake.releases, config(false))
    expect(fake.calls).toEqual(['state $LATEST.PUBLISHED'])
    expect(outcome.servingChanged).toBe(false)
  })

  it('with publish and an alias, waits for the numbered version before the alias moves', async () => {
    const fake = fakeReleases({ '2': [state('Active')] })
    const outcome = await releaseFunction(target, image, fake.releases, config(true, 'live'))
    expect(fake.calls).toEqual(['publish', 'state 2', 'updateAlias'])
    expect(outcome.serving).toContain('alias live')
  })

  it('leaves the alias alone when the version fails to provision, naming the reason code', async () => {
    const fake = fakeReleases({ '2': [state('Failed', 'InsufficientCapacity')] })
    const error = await failureOf(
      releaseFunction(target, image, fake.releases, config(true, 'live'))
    )
    expect(error.reason).toContain('InsufficientCapacity')
    expect(error.reason).toContain('alias live was not moved')
    expect(fake.calls).not.toContain('updateAlias')
  })

  it('with publish and no alias, says unqualified invokes keep running $LATEST.PUBLISHED', async () => {
    const fake = fakeReleases({ '2': [state('Active')] })
    const outcome = await releaseFunction(target, image, fake.releases, config(true))
    expect(outcome.version).toBe('2')
    expect(outcome.serving).toContain('$LATEST.PUBLISHED for unqualified invokes (not changed)')
  })
})

describe('verify invokes of kinds that refuse $LATEST', () => {
  const durable = { name: 'orders', arn: ARN, durable: true, timeout: 3, environment: {} }
  const settings = {
    label: 'verify-event (inline)',
    payload: '{}',
    expect: { kind: 'none' }
  } as never

  it('refuses before any change: a durable function verified without publish', () => {
    const error = verifyQualifierRefusal(durable, { publish: false, verify: settings })
    expect(error?.id).toBe('verify-needs-version')
    expect(error?.reason).toContain('durable function')
    expect(error?.reason).toContain('was not changed')
    expect(error?.fix).toContain('publish: true')
  })

  it('lets it through with publish, without verify, and for Managed Instances (always published)', () => {
    expect(verifyQualifierRefusal(durable, { publish: true, verify: settings })).toBeUndefined()
    expect(verifyQualifierRefusal(durable, { publish: false })).toBeUndefined()
    expect(
      verifyQualifierRefusal(
        { name: 'orders', capacityProviderArn: PROVIDER },
        { publish: false, verify: settings }
      )
    ).toBeUndefined()
  })

  it('never invokes a durable function unqualified, whoever asks', async () => {
    const target = { function: durable as unknown as FunctionFacts } as DeployTarget
    const result = await verifyInvoke(
      target,
      undefined,
      settings,
      createFunctionInvoker(new LambdaClient({ region: 'us-east-1' })),
      []
    )
    expect(result.passed).toBe(false)
    expect(result.reason).toContain('not invoked')
    expect(lambdaMock.commandCalls(InvokeCommand)).toHaveLength(0)
  })
})

describe('releases no caller would reach', () => {
  const managed = { name: 'orders', capacityProviderArn: PROVIDER }

  it('refuses publish without alias on a Managed Instances function, before any change', () => {
    const error = publishRefusal(managed, { publish: true })
    expect(error?.id).toBe('publish-needs-alias')
    expect(error?.reason).toContain('$LATEST.PUBLISHED')
    expect(error?.reason).toContain('orders was not changed')
    expect(error?.fix).toContain('Set alias')
    expect(publishRefusal(managed, { publish: true, alias: { name: 'live' } })).toBeUndefined()
    expect(publishRefusal(managed, { publish: false })).toBeUndefined()
    expect(publishRefusal({ name: 'orders' }, { publish: true })).toBeUndefined()
  })

  it('warns when a durable function gets no version: only $LATEST changes', () => {
    expect(
      durableWithoutVersionWarning({ name: 'orders', durable: true }, { publish: false })
    ).toContain('changes only $LATEST')
    expect(
      durableWithoutVersionWarning({ name: 'orders', durable: true }, { publish: true })
    ).toBeUndefined()
    expect(durableWithoutVersionWarning({ name: 'orders' }, { publish: false })).toBeUndefined()
  })
})

describe('publishPlan (dry-run)', () => {
  it('says a Managed Instances function would publish $LATEST.PUBLISHED and wait for it', () => {
    const lines = publishPlan({ name: 'orders', capacityProviderArn: PROVIDER }, { publish: false })
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('publish $LATEST.PUBLISHED')
    expect(lines[0]).toContain('provisions')
  })

  it('says a numbered version does not change what unqualified invokes run, without an alias', () => {
    const lines = publishPlan({ name: 'orders', capacityProviderArn: PROVIDER }, { publish: true })
    expect(lines[1]).toContain('unqualified invokes keep running $LATEST.PUBLISHED')
    expect(publishPlan({ name: 'orders' }, { publish: true })).toEqual(['publish a new version'])
    expect(publishPlan({ name: 'orders' }, { publish: false })).toEqual([])
  })
})
