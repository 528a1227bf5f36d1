import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as prettier from 'prettier'
import {
  startRegistryFaultProxy,
  type RegistryFault,
  type RegistryFaultProxy
} from '../../stack/registry-fault-proxy.js'
import { repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl, type FaultRequest } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import {
  expectNoCredentialLeft,
  filesUnder,
  holdsRegistryCredential,
  publishPrivateBase
} from './support.js'
import topology from '../../stack/topology.json' with { type: 'json' }

/**
 * Fault injection, end to end: dist/index.js against the AWS stand-in, each fault kind on each
 * AWS operation a deploy makes, registry failures during `docker push` (through
 * stack/registry-fault-proxy.ts), and SIGTERM in each phase. Every run is checked for three
 * things: the outcome (success, or failure with the expected error id), that no statement of the
 * repository policy was lost, and that no registry credential was left on disk or in the logs.
 * The rows are written to docs/FAULTS.md after the run.
 *
 * All runs build the same Dockerfile with the same inputs, so after the first build every build
 * is a cache hit; each run has its own repository and function.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const REGISTRY = topology.ecrRegistries.find(r => r.account === ACCOUNT && r.region === REGION)!
const PROXY_IP = '127.0.0.41'
const fixture = path.join(repoRoot, '__tests__', 'fixtures', 'provided-multistage')

/** The action's bounds (src/adapters/aws-clients.ts MAX_ATTEMPTS etc.), as a user sees them. */
const SDK_ATTEMPTS = 5
const CONFLICT_ATTEMPTS = 4
const POLICY_WRITES = 5
const PUSH_ATTEMPTS = 3
/** Short, so a stalled push is stopped within the test; the default is an hour. */
const PUSH_TIMEOUT_SECONDS = 10
/** The registry client's attempts per request (src/adapters/registry-http.ts REGISTRY_RETRY). */
const REGISTRY_ATTEMPTS = 4

/** A statement that is not the action's; it must survive every run. */
const KEEP_ME = {
  Sid: 'KeepMe',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/ci` },
  Action: ['ecr:PutImage'],
  Condition: { StringEquals: { 'aws:PrincipalTag/team': 'platform' } }
}
/** What a concurrent writer adds (policy-race): it must survive too. */
const CONCURRENT = {
  Sid: 'ConcurrentWriter',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/terraform` },
  Action: ['ecr:DescribeImages']
}
const policyText = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })

interface Row {
  readonly fault: string
  readonly operation: string
  readonly injected: number
  readonly expected: string
  readonly outcome: string
  readonly statementsLost: number
  readonly credentialFilesLeft: number
}

const rows: Row[] = []
/** Rows a full run produces; the report is only written from a full run, not a filtered one. */
let planned = 0
let standIn: StandIn
let control: StandInControl
let proxy: RegistryFaultProxy
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  proxy = await startRegistryFaultProxy({ upstream: REGISTRY, listenIp: PROXY_IP })
  // Warm the build cache (and prove the baseline works) before any fault is armed.
  const fn = await seed('warm')
  const run = await deploy(fn)
  expect(run.stdout).not.toContain('::error::')
  expect(run.exitCode).toBe(0)
})

afterAll(async () => {
  await writeReport()
  await proxy?.close()
  await standIn?.close()
})

beforeEach(async () => {
  await control.clearFaults()
  await control.setUpdateDelay(0)
})

interface Seeded {
  readonly name: string
  readonly repository: string
  readonly policyBefore: string
}

async function seed(label: string, host = REGISTRY.host): Promise<Seeded> {
  unique += 1
  const name = `fault-${label}-${process.pid}-${unique}`.toLowerCase().replace(/[^a-z0-9-]/g, '-')
  const policy = policyText(KEEP_ME)
  await control.createRepository({ account: ACCOUNT, region: REGION, name, policy })
  await control.createFunction({
    account: ACCOUNT,
    region: REGION,
    name,
    packageType: 'Image',
    architectures: ['x86_64']
  })
  return { name, repository: `${host}/${name}`, policyBefore: policy }
}

function deploy(
  fn: Seeded,
  inputs: Record<string, string> = {},
  onStart?: (child: ChildProcess) => void
): Promise<ActionRun> {
  return runAction(
    {
      'function-name': fn.name,
      repository: fn.repository,
      context: fixture,
      target: 'runtime',
      tags: 'faults',
      'wait-timeout': '60',
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION, onStart }
  )
}

/** How often an armed stand-in fault has fired (the control API lists what remains). */
async function firedCount(fault: FaultRequest): Promise<number> {
  const response = await fetch(`${standIn.url}/_stand-in/faults`)
  const armed = (await response.json()) as { spec: FaultRequest; remaining: number }[]
  const left = armed.find(
    entry =>
      entry.spec.operation === fault.operation &&
      entry.spec.kind === fault.kind &&
      entry.spec.service === fault.service
  )
  return (fault.times ?? 1) - (left?.remaining ?? 0)
}

function outcomeOf(run: ActionRun): string {
  if (run.exitCode === 0) return 'succeeded'
  const id = /::error::\[([a-z0-9-]+)\]/.exec(run.stdout)?.[1] ?? `exit ${run.exitCode}`
  return `failed [${id}]`
}

type Statement = Record<string, unknown>

function statementsOf(text: string | undefined): Statement[] {
  if (!text) return []
  const parsed = JSON.parse(text) as { Statement?: Statement | Statement[] }
  const raw = parsed.Statement ?? []
  return Array.isArray(raw) ? raw : [raw]
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    return `{${Object.keys(record)
      .sort()
      .map(key => `${JSON.stringify(key)}:${canonical(record[key])}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

/** Statements in any of the `before` policies that the repository policy no longer has. */
async function statementsLost(fn: Seeded, before: readonly string[]): Promise<number> {
  const now = new Set(
    statementsOf(await control.repositoryPolicy(ACCOUNT, REGION, fn.name)).map(canonical)
  )
  const expected = new Set(before.flatMap(text => statementsOf(text).map(canonical)))
  return [...expected].filter(statement => !now.has(statement)).length
}

/**
 * Docker configs with credentials left by the run: any config.json with auths under the run's
 * RUNNER_TEMP or HOME, and the machine's ~/.docker/config.json if it holds the registry's auth.
 */
function credentialFilesLeft(run: ActionRun): number {
  const hasAuths = (file: string) => {
    try {
      const auths = (JSON.parse(readFileSync(file, 'utf8')) as { auths?: object }).auths
      return auths !== undefined && Object.keys(auths).length > 0
    } catch {
      return false
    }
  }
  const own = [...filesUnder(run.runnerTemp), ...filesUnder(run.home)].filter(
    file => path.basename(file) === 'config.json' && hasAuths(file)
  )
  const userConfig = path.join(os.homedir(), '.docker', 'config.json')
  const user =
    existsSync(userConfig) && holdsRegistryCredential(readFileSync(userConfig, 'utf8')) ? 1 : 0
  return own.length + user
}

async function record(
  row: Omit<Row, 'statementsLost' | 'credentialFilesLeft' | 'outcome'>,
  fn: Seeded,
  run: ActionRun,
  policiesBefore: readonly string[] = [fn.policyBefore]
): Promise<Row> {
  const full: Row = {
    ...row,
    outcome: outcomeOf(run),
    statementsLost: await statementsLost(fn, policiesBefore),
    credentialFilesLeft: credentialFilesLeft(run)
  }
  rows.push(full)
  if (full.outcome !== full.expected) {
    // Shown only when the row is wrong, to say why.
    console.log(`${row.fault} on ${row.operation}:\n${run.stdout.slice(-3000)}\n${run.stderr}`)
  }
  expect(full.outcome).toBe(full.expected)
  expect(full.statementsLost).toBe(0)
  expect(full.credentialFilesLeft).toBe(0)
  expectNoCredentialLeft(run)
  // A cancelled run stops at once, before outputs; every other failure reports deployed=false.
  if (full.outcome.startsWith('failed') && full.outcome !== 'failed [cancelled]') {
    expect(run.outputs.deployed).toBe('false')
  }
  return full
}

/** Faults answered in-bound: the SDK's retries (or the action's own) ride them out. */
/**
 * How a deploy reaches an operation: the default inputs, a repository given by name (looked up in
 * the caller's account), or a release (function-config, publish and an alias).
 */
type Variant = 'default' | 'by-name' | 'release'

const VARIANT_INPUTS: Record<Variant, (fn: Seeded) => Record<string, string>> = {
  default: () => ({}),
  'by-name': fn => ({ repository: fn.name }),
  release: () => ({
    'function-config': '"*":\n  environment:\n    FAULTS: "1"\n',
    publish: 'true',
    alias: 'live'
  })
}

const AWS_OPERATIONS: {
  service: 'ecr' | 'lambda' | 'sts'
  operation: string
  variant?: Variant
}[] = [
  { service: 'lambda', operation: 'GetFunction' },
  { service: 'sts', operation: 'GetCallerIdentity', variant: 'by-name' },
  { service: 'ecr', operation: 'DescribeRepositories', variant: 'by-name' },
  { service: 'ecr', operation: 'GetAuthorizationToken' },
  { service: 'ecr', operation: 'BatchGetImage' },
  { service: 'ecr', operation: 'GetRepositoryPolicy' },
  { service: 'ecr', operation: 'SetRepositoryPolicy' },
  // The check for expiring images (the seeded functions run no image yet, so it reads no more).
  { service: 'ecr', operation: 'GetLifecyclePolicy' },
  { service: 'lambda', operation: 'UpdateFunctionCode' },
  { service: 'lambda', operation: 'GetFunctionConfiguration', variant: 'release' },
  { service: 'lambda', operation: 'UpdateFunctionConfiguration', variant: 'release' },
  { service: 'lambda', operation: 'PublishVersion', variant: 'release' },
  { service: 'lambda', operation: 'GetAlias', variant: 'release' },
  { service: 'lambda', operation: 'CreateAlias', variant: 'release' }
]

const RETRIED_KINDS: { kind: 'throttle' | 'server-error' | 'slow'; times: number }[] = [
  { kind: 'throttle', times: 2 },
  { kind: 'server-error', times: 2 },
  { kind: 'slow', times: 1 }
]

describe('the operations the faults are injected into', () => {
  it('are exactly the AWS operations a deploy makes (by URI, by repository name, with a release)', async () => {
    const seen = new Set<string>()
    for (const variant of ['default', 'by-name', 'release'] as const) {
      const fn = await seed('inventory')
      await control.clearCalls()
      const run = await deploy(fn, VARIANT_INPUTS[variant](fn))
      expect(run.exitCode).toBe(0)
      for (const call of await control.calls()) seen.add(`${call.service}:${call.operation}`)
    }
    expect([...seen].sort()).toEqual(
      [...new Set(AWS_OPERATIONS.map(op => `${op.service}:${op.operation}`))].sort()
    )
  })
})

describe('AWS faults within the retry bounds', () => {
  const cases = AWS_OPERATIONS.flatMap(op => RETRIED_KINDS.map(kind => ({ ...op, ...kind })))
  planned += cases.length
  it.each(cases)('$kind ×$times on $service:$operation: the deploy succeeds', async c => {
    const fn = await seed(`${c.kind}-${c.operation}`)
    const fault: FaultRequest = {
      service: c.service,
      operation: c.operation,
      kind: c.kind,
      times: c.times,
      delayMs: c.kind === 'slow' ? 2500 : undefined
    }
    await control.injectFault(fault)
    const run = await deploy(fn, VARIANT_INPUTS[c.variant ?? 'default'](fn))
    const row = await record(
      {
        fault: c.kind,
        operation: `${c.service}:${c.operation}`,
        injected: await firedCount(fault),
        expected: 'succeeded'
      },
      fn,
      run
    )
    expect(row.injected).toBe(c.times)
    expect(run.outputs.deployed).toBe('true')
  })
})

describe('AWS faults beyond the bounds fail with a clear error', () => {
  const cases: {
    fault: FaultRequest
    expected: string
    message: string | RegExp
    inputs?: Record<string, string>
  }[] = [
    {
      fault: {
        service: 'lambda',
        operation: 'UpdateFunctionCode',
        kind: 'throttle',
        times: SDK_ATTEMPTS
      },
      expected: 'failed [aws-throttled]',
      message: `AWS kept throttling lambda:UpdateFunctionCode`
    },
    {
      fault: {
        service: 'ecr',
        operation: 'GetRepositoryPolicy',
        kind: 'server-error',
        times: SDK_ATTEMPTS
      },
      expected: 'failed [aws-unavailable]',
      message: /AWS failed ecr:GetRepositoryPolicy .*5 attempts/
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
  planned += cases.length
  it.each(cases)('$fault.kind ×$fault.times on $fault.operation: $expected', async c => {
    const fn = await seed(`${c.fault.kind}-over-${c.fault.operation}`)
    await control.injectFault(c.fault)
    const run = await deploy(fn, c.inputs)
    const before = c.fault.policy ? [fn.policyBefore, c.fault.policy] : [fn.policyBefore]
    const row = await record(
      {
        fault: c.fault.kind,
        operation: `${c.fault.service}:${c.fault.operation}`,
        injected: await firedCount(c.fault),
        expected: c.expected
      },
      fn,
      run,
      before
    )
    expect(row.injected).toBe(c.fault.times)
    expect(run.stdout).toMatch(c.message)
  })
})

describe('faults the action works around', () => {
  planned += 2 + 2 + 1
  it.each([1, 2])(
    'ResourceConflictException ×%i on UpdateFunctionCode: waits, retries and deploys',
    async times => {
      const fn = await seed(`conflict-${times}`)
      const fault: FaultRequest = {
        service: 'lambda',
        operation: 'UpdateFunctionCode',
        kind: 'conflict',
        times
      }
      await control.injectFault(fault)
      const run = await deploy(fn)
      const row = await record(
        {
          fault: 'conflict',
          operation: 'lambda:UpdateFunctionCode',
          injected: await firedCount(fault),
          expected: 'succeeded'
        },
        fn,
        run
      )
      expect(row.injected).toBe(times)
      expect(run.stdout).toContain('Another update of')
    }
  )

  it.each([1, 2])(
    'a concurrent policy writer ×%i: merges again, keeps their statement and ours',
    async times => {
      const fn = await seed(`race-${times}`)
      const race = policyText(KEEP_ME, CONCURRENT)
      const fault: FaultRequest = {
        service: 'ecr',
        operation: 'SetRepositoryPolicy',
        kind: 'policy-race',
        times,
        policy: race
      }
      await control.injectFault(fault)
      const run = await deploy(fn)
      const row = await record(
        {
          fault: 'policy-race',
          operation: 'ecr:SetRepositoryPolicy',
          injected: await firedCount(fault),
          expected: 'succeeded'
        },
        fn,
        run,
        [fn.policyBefore, race]
      )
      expect(row.injected).toBe(times)
      const sids = statementsOf(await control.repositoryPolicy(ACCOUNT, REGION, fn.name)).map(
        statement => statement.Sid
      )
      expect(sids).toEqual(['KeepMe', 'ConcurrentWriter', 'LambdaECRImageRetrievalPolicy'])
      expect(run.stdout).toContain('changed right after it was written')
    }
  )

  it('an update that outlives wait-timeout fails with the function’s state and status', async () => {
    const fn = await seed('wait-timeout')
    await control.setUpdateDelay(30_000)
    const run = await deploy(fn, { 'wait-timeout': '3' })
    await record(
      {
        fault: 'update outlives wait-timeout',
        operation: 'lambda:GetFunction (waiter)',
        injected: 1,
        expected: 'failed [function-update-timeout]'
      },
      fn,
      run
    )
    expect(run.stdout).toMatch(/still LastUpdateStatus InProgress, State \w+.* after 3 s/)
  })
})

describe('registry faults during docker push (through the fault proxy)', () => {
  const manifestPut = (name: string, times: number, status = 500): RegistryFault => ({
    method: 'PUT',
    path: new RegExp(`^/v2/${name}/manifests/`),
    kind: 'status',
    status,
    times
  })
  const blobUploadReset = (name: string, times: number): RegistryFault => ({
    method: 'POST',
    path: new RegExp(`^/v2/${name}/blobs/uploads/`),
    kind: 'reset',
    times
  })
  const cases = [
    { label: 'HTTP 500', operation: 'registry PUT manifest', make: manifestPut, times: 1 },
    {
      label: 'HTTP 503',
      operation: 'registry PUT manifest',
      make: (name: string, times: number) => manifestPut(name, times, 503),
      times: 2
    },
    {
      label: 'connection reset',
      operation: 'registry POST blob upload',
      make: blobUploadReset,
      times: 1
    },
    {
      label: 'HTTP 500',
      operation: 'registry PUT manifest',
      make: manifestPut,
      times: PUSH_ATTEMPTS,
      // The containerd image store's pusher repeats a failed manifest PUT by itself, so as many
      // 500s as the action has attempts still end in a push that succeeds there.
      expected:
        process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd'
          ? 'succeeded'
          : 'failed [docker-push-failed]'
    },
    {
      // Retrying is decided from docker's own error lines, not from text naming the repository.
      label: 'HTTP 500, repository named "denied-unauthorized-immutable"',
      operation: 'registry PUT manifest',
      make: manifestPut,
      times: 1,
      name: 'denied-unauthorized-immutable'
    },
    {
      label: `stall past push-timeout (${PUSH_TIMEOUT_SECONDS} s)`,
      operation: 'registry PUT manifest',
      make: (name: string, times: number): RegistryFault => ({
        method: 'PUT',
        path: new RegExp(`^/v2/${name}/manifests/`),
        kind: 'stall',
        times
      }),
      times: 1,
      inputs: { 'push-timeout': String(PUSH_TIMEOUT_SECONDS) },
      says: `did not finish within ${PUSH_TIMEOUT_SECONDS} s`
    }
  ]
  planned += cases.length
  it.each(cases)('$label ×$times on $operation', async c => {
    const fn = await seed(c.name ?? `registry-${c.times}`, proxy.host)
    const fault = c.make(fn.name, c.times)
    proxy.inject(fault)
    // Without the registry build cache, whose export (containerd store) would meet the fault
    // first: these rows are about docker push.
    const run = await deploy(fn, { 'registry-cache': 'false', ...c.inputs })
    const row = await record(
      {
        fault: c.label,
        operation: c.operation,
        injected: proxy.fired(fault),
        expected: c.expected ?? 'succeeded'
      },
      fn,
      run
    )
    expect(row.injected).toBe(c.times)
    if (row.expected === 'succeeded') {
      const live = await control.registryManifest(
        ACCOUNT,
        REGION,
        fn.name,
        run.outputs['image-digest']!
      )
      expect(live.digest).toBe(run.outputs['image-digest'])
      if (c.says) expect(run.stdout).toContain(c.says)
    } else {
      expect(run.stdout).toContain(`failed ${PUSH_ATTEMPTS} times`)
    }
  })
})

describe('registry faults while the base image is verified after the build', () => {
  /**
   * The base is a private ECR image (FROM from a build argument) that the action reads through
   * the proxy, so its own registry reads of it can be failed. docker builds from the local copy
   * (no --pull for a private base), so only the action's reads meet the faults: the GET of the
   * tag when the base is resolved, and the GET of the manifest by digest when its layers are
   * checked. The base is pushed under the registry's own name and only tagged under the proxy's:
   * the proxy fronts the same registry, and the set-up then does not depend on it.
   */
  const baseRepository = `fault-base-${process.pid}`
  let baseReference = ''

  beforeAll(async () => {
    await control.createRepository({ account: ACCOUNT, region: REGION, name: baseRepository })
    const pushedReference = `${REGISTRY.host}/${baseRepository}:al2023`
    baseReference = `${proxy.host}/${baseRepository}:al2023`
    publishPrivateBase(pushedReference, 'fault-suite-base=true')
    execFileSync('docker', ['tag', pushedReference, baseReference], { timeout: 60_000 })
  })

  const manifestByDigest = (status: number, times: number): RegistryFault => ({
    method: 'GET',
    path: new RegExp(`^/v2/${baseRepository}/manifests/sha256:`),
    kind: 'status',
    status,
    times
  })
  const cases = [
    { label: 'HTTP 429', status: 429, times: 2, verified: true },
    { label: 'HTTP 503', status: 503, times: 2, verified: true },
    { label: 'HTTP 503', status: 503, times: REGISTRY_ATTEMPTS, verified: false }
  ]
  planned += cases.length
  it.each(cases)('$label ×$times on the base manifest: deploys', async c => {
    const fn = await seed(`base-${c.status}-${c.times}`)
    const fault = manifestByDigest(c.status, c.times)
    proxy.inject(fault)
    const run = await deploy(fn, {
      context: path.join(repoRoot, '__tests__', 'fixtures', 'base-from-build-arg'),
      target: '',
      'build-args': `BASE=${baseReference}`
    })
    const row = await record(
      {
        fault: c.label,
        operation: 'registry GET base manifest (base-layer check)',
        injected: proxy.fired(fault),
        expected: 'succeeded'
      },
      fn,
      run
    )
    expect(row.injected).toBe(c.times)
    if (c.verified) {
      expect(run.outputs['base-image-digest']).toMatch(/^sha256:/)
    } else {
      // Unverified: a warning, and no digest recorded for the next refresh to trust.
      expect(run.stdout).toContain('could not be read to verify')
      expect(run.outputs['base-image-digest'] ?? '').toBe('')
    }
  })
})

describe('SIGTERM in each phase', () => {
  /** When to send SIGTERM: a line of the action's log, or a stand-in fault having fired. */
  interface PhaseCase {
    readonly phase: string
    readonly marker?: string
    readonly after?: string
    readonly hold?: FaultRequest
    readonly updateDelayMs?: number
    /** Wait before reading the policy: a call in flight when the signal came still completes. */
    readonly settleMs?: number
  }
  const slow = (service: 'ecr' | 'lambda', operation: string, delayMs = 4000): FaultRequest => ({
    service,
    operation,
    kind: 'slow',
    times: 1,
    delayMs
  })
  const cases: PhaseCase[] = [
    { phase: 'resolve', hold: slow('lambda', 'GetFunction') },
    { phase: 'build', marker: '::group::Build' },
    // The check runs between the end of the build group and the push; the slow
    // GetAuthorizationToken keeps a late signal from landing in the push.
    {
      phase: 'check',
      marker: '::endgroup::',
      after: '::group::Build',
      hold: slow('ecr', 'GetAuthorizationToken')
    },
    { phase: 'push', marker: '::group::Push' },
    {
      phase: 'grant',
      marker: '::group::Repository policy',
      hold: slow('ecr', 'SetRepositoryPolicy', 2000),
      settleMs: 2500
    },
    { phase: 'deploy', marker: 'Waiting up to', updateDelayMs: 10_000 }
  ]

  planned += cases.length
  it.each(cases)('SIGTERM during $phase: exits non-zero, leaves no credentials', async c => {
    const fn = await seed(`sigterm-${c.phase}`)
    if (c.hold) await control.injectFault(c.hold)
    if (c.updateDelayMs) await control.setUpdateDelay(c.updateDelayMs)
    let killedAt = ''
    const run = await deploy(fn, {}, child => {
      let out = ''
      let sent = false
      const kill = (why: string) => {
        if (sent) return
        sent = true
        killedAt = why
        child.kill('SIGTERM')
      }
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (!c.marker) return
        const from = c.after ? out.indexOf(c.after) : 0
        if (from >= 0 && out.indexOf(c.marker, from) >= 0) kill(c.marker)
      })
      if (!c.marker && c.hold) {
        const hold = c.hold
        const poll = setInterval(() => {
          void firedCount(hold).then(fired => {
            if (fired > 0 && child.exitCode === null) {
              clearInterval(poll)
              kill(`${hold.operation} in flight`)
            }
          })
        }, 50)
        child.on('exit', () => clearInterval(poll))
      }
    })
    if (c.settleMs) await new Promise(resolve => setTimeout(resolve, c.settleMs))
    const row = await record(
      {
        fault: `SIGTERM in ${c.phase}`,
        operation: killedAt || '(not sent)',
        injected: killedAt ? 1 : 0,
        expected: 'failed [cancelled]'
      },
      fn,
      run
    )
    expect(row.injected).toBe(1)
    expect(run.exitCode).toBe(143)
    // The signal came in the phase it was meant for.
    const nextPhase: Record<string, string | undefined> = {
      resolve: '::group::Build',
      build: '::group::Push',
      check: '::group::Push',
      push: '::group::Repository policy',
      grant: 'Updating the code of'
    }
    const next = nextPhase[c.phase]
    if (next) expect(run.stdout).not.toContain(next)
  })
})

async function writeReport(): Promise<void> {
  if (rows.length !== planned) {
    console.log(`docs/FAULTS.md not written: ${rows.length} of ${planned} rows ran.`)
    return
  }
  const header = [
    '# Fault injection results',
    '',
    'Generated by `__tests__/e2e/faults.test.ts`; do not edit by hand. Regenerate with',
    '`NODE_OPTIONS=--experimental-vm-modules npx jest __tests__/e2e/faults.test.ts --selectProjects e2e --runInBand`.',
    'Each row is one run of `dist/index.js` against the AWS stand-in with one fault injected;',
    'the suite fails when a row differs from what is expected. Registry faults go through',
    '`stack/registry-fault-proxy.ts`, an HTTPS proxy answering for the registry under an alias name.',
    '',
    `Bounds: ${SDK_ATTEMPTS} SDK attempts per AWS call (adaptive retry mode), ${CONFLICT_ATTEMPTS}`,
    `UpdateFunctionCode attempts on ResourceConflictException, ${POLICY_WRITES} policy writes,`,
    `${PUSH_ATTEMPTS} docker push attempts of at most push-timeout each, ${REGISTRY_ATTEMPTS} attempts per registry`,
    'request the action makes itself (429, 5xx, time-outs; Retry-After honoured).',
    '',
    // No timings: they differ on every run, and would make every regeneration a diff.
    '| fault | operation | injected | expected | outcome | statements lost | credential files left |',
    '| --- | --- | ---: | --- | --- | ---: | ---: |'
  ]
  const lines = rows.map(
    row =>
      `| ${row.fault} | ${row.operation} | ${row.injected} | ${row.expected} | ${row.outcome} | ${row.statementsLost} | ${row.credentialFilesLeft} |`
  )
  const file = path.join(repoRoot, 'docs', 'FAULTS.md')
  const text = [...header, ...lines, '', `${rows.length} runs.`, ''].join('\n')
  // Formatted as the repository's prettier check expects of every markdown file.
  const options = (await prettier.resolveConfig(file)) ?? {}
  writeFileSync(file, await prettier.format(text, { ...options, parser: 'markdown' }))
}
