import { beforeAll, describe, expect, it } from '@jest/globals'
import type { ActionRun, RunOptions } from '../../../stack/run-action.js'
import type { FaultRequest } from '../../../stack/stand-in/control-client.js'
import {
  CONCURRENT,
  CONFLICT_ATTEMPTS,
  KEEP_ME,
  POLICY_WRITES,
  SDK_ATTEMPTS,
  WITHIN_BOUNDS,
  faultsOn,
  operationsOfRun,
  policyText,
  sigtermRows,
  sigtermWhen,
  standInRows,
  statementsOf,
  useFaultSuite
} from '../faults-support.js'
import { fixtureImage, useSandbox, type FixtureImage, type Seeded } from '../harness.js'

/**
 * Fault injection on the AWS side of a deploy: the bundled action deploys an image already in the
 * registry (`image:`), with no Docker engine, so nothing here depends on the image store and the
 * suite runs once. Each fault kind is armed on every AWS operation such a deploy makes, all in one
 * run, and every armed fault must have fired; faults past the bounds, and SIGTERM in the phases
 * that make no image, get a run each. What needs a build or a push is in
 * __tests__/e2e/engine/faults.test.ts. The back-off schedules are unit-tested
 * (__tests__/unit/retry-schedules.test.ts); the waits here are the real ones, or come from a
 * setting users also have (AWS_MAX_ATTEMPTS, wait-timeout).
 */

const sandbox = useSandbox()
const { log, record } = useFaultSuite(sandbox, {
  key: 'aws',
  title: 'AWS side: deploying an image already in the registry',
  about: [
    'The action deploys with `image:` and has no Docker engine; this section does not depend',
    'on the image store.'
  ]
})
let image: FixtureImage

/** With a release: function-config, publish and an alias, so their operations are made too. */
const RELEASE = {
  'function-config': '"*":\n  environment:\n    FAULTS: "1"\n',
  publish: 'true',
  alias: 'live'
}

type Service = 'ecr' | 'lambda'
/** The AWS operations of a deploy of an image already in the registry, with a release. */
const AWS_OPERATIONS: { service: Service; operation: string; release?: true }[] = [
  { service: 'lambda', operation: 'GetFunction' },
  { service: 'ecr', operation: 'BatchGetImage' },
  // For the registry read of the image's config (its platform, labels).
  { service: 'ecr', operation: 'GetAuthorizationToken' },
  { service: 'ecr', operation: 'GetRepositoryPolicy' },
  { service: 'ecr', operation: 'SetRepositoryPolicy' },
  // The check for expiring images (the seeded functions run no image yet, so it reads no more).
  { service: 'ecr', operation: 'GetLifecyclePolicy' },
  // The same check's list of the repository's images, with their storage class (archived ones).
  { service: 'ecr', operation: 'DescribeImages' },
  { service: 'lambda', operation: 'UpdateFunctionCode' },
  { service: 'lambda', operation: 'GetFunctionConfiguration', release: true },
  { service: 'lambda', operation: 'UpdateFunctionConfiguration', release: true },
  { service: 'lambda', operation: 'PublishVersion', release: true },
  { service: 'lambda', operation: 'GetAlias', release: true },
  { service: 'lambda', operation: 'CreateAlias', release: true }
]

beforeAll(async () => {
  image = await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' })
})

interface Target {
  readonly fn: Seeded
  /** REPOSITORY@sha256:…, copied into the function's own repository. */
  readonly uri: string
  readonly policy: string
}

async function target(label: string): Promise<Target> {
  const policy = policyText(KEEP_ME)
  const fn = await sandbox.seed({ label: `fault-${label}`, policy })
  return { fn, uri: await sandbox.copyImage(image, fn.repository, 'faults'), policy }
}

function deploy(
  to: Target,
  inputs: Record<string, string> = {},
  options: Partial<RunOptions> = {}
): Promise<ActionRun> {
  return sandbox.run(
    { 'function-name': to.fn.name, image: to.uri, 'wait-timeout': '60', ...inputs },
    options
  )
}

describe('the operations the faults are injected into', () => {
  it('are exactly the AWS operations a deploy of an image in the registry makes (with and without a release)', async () => {
    const seen = new Set<string>()
    for (const inputs of [{}, RELEASE]) {
      const to = await target('inventory')
      for (const operation of await operationsOfRun(sandbox.control, () => deploy(to, inputs)))
        seen.add(operation)
    }
    expect([...seen].sort()).toEqual(
      AWS_OPERATIONS.map(op => `${op.service}:${op.operation}`).sort()
    )
  })
})

describe('AWS faults within the retry bounds, on every operation at once', () => {
  log.plan(WITHIN_BOUNDS.length * AWS_OPERATIONS.length)
  it.each(WITHIN_BOUNDS)(
    '$kind ×$times on each of the deploy’s operations: the deploy succeeds',
    async c => {
      const to = await target(c.kind)
      await sandbox.control.injectFaults(faultsOn(AWS_OPERATIONS, c))
      const run = await deploy(to, RELEASE)
      await record(run, to, standInRows(await sandbox.control.faults()), 'succeeded')
      expect(run.outputs.deployed).toBe('true')
    }
  )
})

describe('faults the action works around', () => {
  log.plan(2 * 2)
  it.each([{ times: 1 }, { times: 2 }])(
    'ResourceConflictException ×$times on UpdateFunctionCode and a concurrent policy writer ×$times: waits, merges again and deploys',
    async ({ times }) => {
      const to = await target(`conflict-race-${times}`)
      const race = policyText(KEEP_ME, CONCURRENT)
      await sandbox.control.injectFaults([
        {
          service: 'ecr',
          operation: 'SetRepositoryPolicy',
          kind: 'policy-race',
          times,
          policy: race
        },
        { service: 'lambda', operation: 'UpdateFunctionCode', kind: 'conflict', times }
      ])
      const run = await deploy(to)
      await record(run, to, standInRows(await sandbox.control.faults()), 'succeeded', [race])
      expect(run.stdout).toContain('Another update of')
      expect(run.stdout).toContain('changed right after it was written')
      const sids = statementsOf(
        await sandbox.control.repositoryPolicy(to.fn.repositoryAccount, to.fn.region, to.fn.name)
      ).map(statement => statement.Sid)
      expect(sids).toEqual(['KeepMe', 'ConcurrentWriter', 'LambdaECRImageRetrievalPolicy'])
      expect(run.outputs.deployed).toBe('true')
    }
  )
})

describe('AWS faults beyond the bounds fail with a clear error', () => {
  const cases: {
    fault: FaultRequest
    label?: string
    expected: string
    message: string | RegExp
    env?: Record<string, string>
  }[] = [
    {
      // The bound is the workflow's to set (the SDK's AWS_MAX_ATTEMPTS); the default of
      // SDK_ATTEMPTS is shown by the server-error row below and pinned by the unit tests. Two
      // throttled attempts instead of five spare the run the back-off and rate limit in between.
      fault: { service: 'lambda', operation: 'UpdateFunctionCode', kind: 'throttle', times: 2 },
      label: 'throttle (AWS_MAX_ATTEMPTS=2)',
      env: { AWS_MAX_ATTEMPTS: '2' },
      expected: 'failed [aws-throttled]',
      message: /AWS kept throttling lambda:UpdateFunctionCode .*\(2 attempts\)/
    },
    {
      fault: {
        service: 'ecr',
        operation: 'GetRepositoryPolicy',
        kind: 'server-error',
        times: SDK_ATTEMPTS
      },
      expected: 'failed [aws-unavailable]',
      message: new RegExp(`AWS failed ecr:GetRepositoryPolicy .*${SDK_ATTEMPTS} attempts`)
    },
    {
      fault: {
        service: 'lambda',
        operation: 'UpdateFunctionCode',
        kind: 'conflict',
        times: CONFLICT_ATTEMPTS
      },
      expected: 'failed [function-update-conflict]',
      message: `still after ${CONFLICT_ATTEMPTS} attempts`
    },
    {
      fault: {
        service: 'lambda',
        operation: 'UpdateFunctionCode',
        kind: 'update-failed',
        times: 1,
        reason: 'The image manifest or layer media type is not supported.'
      },
      expected: 'failed [function-update-failed]',
      message: 'media type is not supported'
    },
    {
      fault: {
        service: 'ecr',
        operation: 'SetRepositoryPolicy',
        kind: 'policy-race',
        times: POLICY_WRITES,
        policy: policyText(KEEP_ME, CONCURRENT)
      },
      expected: 'failed [repository-policy-not-converged]',
      message: `right after each of ${POLICY_WRITES} writes`
    }
  ]
  log.plan(cases.length)
  it.each(cases)('$fault.kind ×$fault.times on $fault.operation: $expected', async c => {
    const to = await target(`${c.fault.kind}-over`)
    await sandbox.control.injectFaults([c.fault])
    const run = await deploy(to, {}, { env: c.env })
    await record(
      run,
      to,
      standInRows(await sandbox.control.faults(), () => c.label ?? c.fault.kind),
      c.expected,
      c.fault.policy ? [c.fault.policy] : []
    )
    expect(run.stdout).toMatch(c.message)
  })

  log.plan(1)
  it('an update that outlives wait-timeout fails with the function’s state and status', async () => {
    const to = await target('wait-timeout')
    await sandbox.control.setUpdateDelay(30_000)
    const run = await deploy(to, { 'wait-timeout': '3' })
    await record(
      run,
      to,
      [
        {
          fault: 'update outlives wait-timeout',
          operation: 'lambda:GetFunction (waiter)',
          injected: 1,
          times: 1
        }
      ],
      'failed [function-update-timeout]'
    )
    expect(run.stdout).toMatch(/still LastUpdateStatus InProgress, State \w+.* after 3 s/)
  })
})

describe('SIGTERM in each phase that makes no image', () => {
  /** When to send SIGTERM: a line of the action's log, or a stand-in fault having fired. */
  interface PhaseCase {
    readonly phase: string
    readonly marker?: string
    readonly hold?: FaultRequest
    readonly updateDelayMs?: number
    /** Wait before reading the policy: a call in flight when the signal came still completes. */
    readonly settleMs?: number
    /** A line the run must not have reached: the next phase. */
    readonly next?: string
  }
  const slow = (service: Service, operation: string, delayMs = 4000): FaultRequest => ({
    service,
    operation,
    kind: 'slow',
    times: 1,
    delayMs
  })
  const cases: PhaseCase[] = [
    { phase: 'resolve', hold: slow('lambda', 'GetFunction'), next: '::group::Repository policy' },
    {
      phase: 'grant',
      marker: '::group::Repository policy',
      hold: slow('ecr', 'SetRepositoryPolicy', 2000),
      settleMs: 2500,
      next: 'Updating the code of'
    },
    { phase: 'deploy', marker: 'Waiting up to', updateDelayMs: 10_000 }
  ]
  log.plan(cases.length)
  it.each(cases)('SIGTERM during $phase: exits non-zero, leaves no credentials', async c => {
    const to = await target(`sigterm-${c.phase}`)
    if (c.hold) await sandbox.control.injectFaults([c.hold])
    if (c.updateDelayMs) await sandbox.control.setUpdateDelay(c.updateDelayMs)
    const sigterm = sigtermWhen({
      marker: c.marker,
      fired:
        !c.marker && c.hold ? { control: sandbox.control, operation: c.hold.operation } : undefined
    })
    const run = await deploy(to, {}, { onStart: sigterm.onStart })
    if (c.settleMs) await new Promise(resolve => setTimeout(resolve, c.settleMs))
    await record(run, to, sigtermRows(c.phase, sigterm), 'failed [cancelled]')
    expect(run.exitCode).toBe(143)
    // The signal came in the phase it was meant for.
    if (c.next) expect(run.stdout).not.toContain(c.next)
  })
})
