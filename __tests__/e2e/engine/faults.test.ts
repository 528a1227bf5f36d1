import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import {
  startRegistryFaultProxy,
  type RegistryFault,
  type RegistryFaultProxy
} from '../../../stack/registry-fault-proxy.js'
import type { ActionRun, RunOptions } from '../../../stack/run-action.js'
import type { FaultRequest } from '../../../stack/stand-in/control-client.js'
import topology from '../../../stack/topology.json' with { type: 'json' }
import {
  ACCOUNT,
  KEEP_ME,
  PUSH_ATTEMPTS,
  REGION,
  REGISTRY_ATTEMPTS,
  WITHIN_BOUNDS,
  faultsOn,
  operationsOfRun,
  policyText,
  sigtermRows,
  sigtermWhen,
  standInRows,
  useFaultSuite
} from '../faults-support.js'
import { fixturesDir, useSandbox, type Seeded } from '../harness.js'
import { publishPrivateBase } from '../support.js'

/**
 * Fault injection where a deploy builds and pushes: the AWS operations only that path makes (the
 * repository looked up by name, the registry login for `docker push`), registry failures during
 * `docker push` (through stack/registry-fault-proxy.ts) and while the base image is verified, and
 * SIGTERM in the phases that build, check and push. Runs on every image store. Several faults are
 * armed in one run where they do not end it, and every armed fault must have fired. The AWS side
 * of a deploy (every other operation, the action's own retries, the bounds) is in
 * __tests__/e2e/aws/faults.test.ts; the back-off schedules are unit-tested
 * (__tests__/unit/retry-schedules.test.ts).
 *
 * The builds are cache hits after the first of each fixture; each run has its own repository and
 * function.
 */

const sandbox = useSandbox()
const { log, record } = useFaultSuite(sandbox, {
  key: 'engine',
  title: 'Build and push: faults that need the Docker engine',
  about: [
    'Runs on every image store; the section is from the last store it ran on',
    `(\`LAMBDA_STACK_IMAGE_STORE\`: the containerd store's pusher repeats a failed manifest PUT by`,
    `itself, so ${PUSH_ATTEMPTS} manifest 500s end in a push that succeeds there).`
  ]
})
const REGISTRY = topology.ecrRegistries.find(r => r.account === ACCOUNT && r.region === REGION)!
const PROXY_IP = '127.0.0.41'
const fixture = path.join(fixturesDir, 'provided-multistage')
/** Short, so a stalled push is stopped within the test; the default is an hour. */
const PUSH_TIMEOUT_SECONDS = 10
let proxy: RegistryFaultProxy

beforeAll(async () => {
  proxy = await startRegistryFaultProxy({ upstream: REGISTRY, listenIp: PROXY_IP })
})

afterAll(async () => {
  await proxy?.close()
})

interface Target {
  readonly fn: Seeded
  /** Where the action pushes: the registry, or the fault proxy's alias for it. */
  readonly repository: string
  readonly policy: string
}

async function target(label: string, through: 'registry' | 'proxy' = 'registry'): Promise<Target> {
  const policy = policyText(KEEP_ME)
  const fn = await sandbox.seed({ label: `fault-${label}`, policy })
  const repository = through === 'proxy' ? `${proxy.host}/${fn.name}` : fn.repository
  return { fn, repository, policy }
}

function deploy(
  to: Target,
  inputs: Record<string, string> = {},
  options: Partial<RunOptions> = {}
): Promise<ActionRun> {
  return sandbox.run(
    {
      'function-name': to.fn.name,
      repository: to.repository,
      context: fixture,
      target: 'runtime',
      tags: 'faults',
      'wait-timeout': '60',
      ...inputs
    },
    options
  )
}

/** Only a deploy that builds makes these: the rest are faulted in the AWS suite. */
const BUILD_OPERATIONS: { service: 'ecr' | 'sts'; operation: string }[] = [
  // repository given by name: the caller's account, then the repository in it.
  { service: 'sts', operation: 'GetCallerIdentity' },
  { service: 'ecr', operation: 'DescribeRepositories' },
  // The registry login for docker push.
  { service: 'ecr', operation: 'GetAuthorizationToken' },
  // The run's other tags: the image is pushed once, under its inputs tag, and tagged with PutImage.
  { service: 'ecr', operation: 'PutImage' }
]
/** What a deploy that builds makes besides: the same as a deploy of an image in the registry. */
const SHARED_OPERATIONS = [
  'lambda:GetFunction',
  'ecr:BatchGetImage',
  'ecr:GetRepositoryPolicy',
  'ecr:SetRepositoryPolicy',
  'ecr:GetLifecyclePolicy',
  'ecr:DescribeImages',
  'lambda:UpdateFunctionCode'
]

describe('the operations the faults are injected into', () => {
  it('are, with those of the AWS suite, exactly the AWS operations a deploy that builds makes (by URI, by repository name)', async () => {
    const seen = new Set<string>()
    for (const byName of [false, true]) {
      const to = await target('inventory')
      const inputs: Record<string, string> = byName ? { repository: to.fn.name } : {}
      for (const operation of await operationsOfRun(sandbox.control, () => deploy(to, inputs)))
        seen.add(operation)
    }
    expect([...seen].sort()).toEqual(
      [...BUILD_OPERATIONS.map(op => `${op.service}:${op.operation}`), ...SHARED_OPERATIONS].sort()
    )
  })
})

describe('AWS faults within the retry bounds, on the operations of a deploy that builds', () => {
  log.plan(WITHIN_BOUNDS.length * BUILD_OPERATIONS.length)
  it.each(WITHIN_BOUNDS)('$kind ×$times on each of them at once: the deploy succeeds', async c => {
    const to = await target(c.kind)
    await sandbox.control.injectFaults(faultsOn(BUILD_OPERATIONS, c))
    const run = await deploy(to, { repository: to.fn.name })
    await record(run, to, standInRows(await sandbox.control.faults()), 'succeeded')
    expect(run.outputs.deployed).toBe('true')
  })
})

describe('registry faults during docker push and the base image check (through the fault proxy)', () => {
  /**
   * The base is a private ECR image (FROM from a build argument) that the action reads through
   * the proxy, so its own registry reads of it can be failed: the GET of the manifest by digest
   * when its layers are checked after the build. docker builds from the local copy (no --pull for
   * a private base), so only the action's reads meet those faults. The base is pushed under the
   * registry's own name and only tagged under the proxy's: the proxy fronts the same registry,
   * and the set-up then does not depend on it.
   */
  const baseRepository = `fault-base-${process.pid}`
  let baseReference = ''

  beforeAll(async () => {
    await sandbox.control.createRepository({
      account: ACCOUNT,
      region: REGION,
      name: baseRepository
    })
    const pushedReference = `${REGISTRY.host}/${baseRepository}:al2023`
    baseReference = `${proxy.host}/${baseRepository}:al2023`
    publishPrivateBase(pushedReference, 'fault-suite-base=true')
    execFileSync('docker', ['tag', pushedReference, baseReference], { timeout: 60_000 })
  })

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
  const manifestStall = (name: string, times: number): RegistryFault => ({
    method: 'PUT',
    path: new RegExp(`^/v2/${name}/manifests/`),
    kind: 'stall',
    times
  })
  const baseManifest = (status: number, times: number): RegistryFault => ({
    method: 'GET',
    path: new RegExp(`^/v2/${baseRepository}/manifests/sha256:`),
    kind: 'status',
    status,
    times
  })

  interface Armed {
    readonly label: string
    readonly operation: string
    readonly fault: RegistryFault
  }
  const PUT_MANIFEST = 'registry PUT manifest'
  const BASE_MANIFEST = 'registry GET base manifest (base-layer check)'
  interface RegistryCase {
    readonly title: string
    /** Names the repository (made unique). */
    readonly label: string
    readonly arm: (name: string) => Armed[]
    readonly expected: string
    /** Whether the base was read (its digest recorded), or only warned about. */
    readonly baseVerified: boolean
    readonly inputs?: Record<string, string>
    readonly says?: string
  }
  const cases: RegistryCase[] = [
    {
      // Retrying is decided from docker's own error lines, not from text naming the repository.
      title:
        'a reset upload, then a 500 on the manifest, in a repository named "denied-unauthorized-immutable"; 429 ×2 on the base',
      label: 'denied-unauthorized-immutable',
      arm: name => [
        {
          label: 'connection reset',
          operation: 'registry POST blob upload',
          fault: blobUploadReset(name, 1)
        },
        {
          label: 'HTTP 500, repository named "denied-unauthorized-immutable"',
          operation: PUT_MANIFEST,
          fault: manifestPut(name, 1)
        },
        { label: 'HTTP 429', operation: BASE_MANIFEST, fault: baseManifest(429, 2) }
      ],
      expected: 'succeeded',
      baseVerified: true
    },
    {
      title: '503 ×2 on the manifest; 503 ×2 on the base',
      label: 'registry-503',
      arm: name => [
        { label: 'HTTP 503', operation: PUT_MANIFEST, fault: manifestPut(name, 2, 503) },
        { label: 'HTTP 503', operation: BASE_MANIFEST, fault: baseManifest(503, 2) }
      ],
      expected: 'succeeded',
      baseVerified: true
    },
    {
      title: `500 ×${PUSH_ATTEMPTS} on the manifest; 503 ×${REGISTRY_ATTEMPTS} on the base`,
      label: 'registry-500-over',
      arm: name => [
        { label: 'HTTP 500', operation: PUT_MANIFEST, fault: manifestPut(name, PUSH_ATTEMPTS) },
        {
          label: 'HTTP 503',
          operation: BASE_MANIFEST,
          fault: baseManifest(503, REGISTRY_ATTEMPTS)
        }
      ],
      // The containerd image store's pusher repeats a failed manifest PUT by itself, so as many
      // 500s as the action has attempts still end in a push that succeeds there.
      expected:
        process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd'
          ? 'succeeded'
          : 'failed [docker-push-failed]',
      baseVerified: false
    },
    {
      title: `a manifest PUT that stalls past push-timeout (${PUSH_TIMEOUT_SECONDS} s)`,
      label: 'registry-stall',
      arm: name => [
        {
          label: `stall past push-timeout (${PUSH_TIMEOUT_SECONDS} s)`,
          operation: PUT_MANIFEST,
          fault: manifestStall(name, 1)
        }
      ],
      expected: 'succeeded',
      baseVerified: true,
      inputs: { 'push-timeout': String(PUSH_TIMEOUT_SECONDS) },
      says: `did not finish within ${PUSH_TIMEOUT_SECONDS} s`
    }
  ]
  log.plan(cases.reduce((sum, c) => sum + c.arm('x').length, 0))
  it.each(cases)('$title', async c => {
    const to = await target(c.label, 'proxy')
    const armed = c.arm(to.fn.name)
    for (const { fault } of armed) proxy.inject(fault)
    const run = await deploy(to, {
      context: path.join(fixturesDir, 'base-from-build-arg'),
      target: '',
      'build-args': `BASE=${baseReference}`,
      // Without the registry build cache, whose export (containerd store) would meet the push
      // faults first: these rows are about docker push.
      'registry-cache': 'false',
      ...c.inputs
    })
    await record(
      run,
      to,
      armed.map(a => ({
        fault: a.label,
        operation: a.operation,
        injected: proxy.fired(a.fault),
        times: a.fault.times
      })),
      c.expected
    )
    if (c.expected === 'succeeded') {
      const live = await sandbox.control.registryManifest(
        ACCOUNT,
        REGION,
        to.fn.name,
        run.outputs['image-digest']!
      )
      expect(live.digest).toBe(run.outputs['image-digest'])
      if (c.says) expect(run.stdout).toContain(c.says)
    } else {
      expect(run.stdout).toContain(`failed ${PUSH_ATTEMPTS} times`)
    }
    if (c.baseVerified) {
      expect(run.outputs['base-image-digest']).toMatch(/^sha256:/)
    } else {
      // Unverified: a warning, and no digest recorded for the next refresh to trust.
      expect(run.stdout).toContain('could not be read to verify')
      expect(run.outputs['base-image-digest'] ?? '').toBe('')
      // Nor an inputs label or tag that later runs would trust as a build of these inputs.
      expect(run.outputs['inputs-digest'] ?? '').toBe('')
      expect(run.stdout).not.toMatch(/Pushing \S+:inputs-/)
    }
  })
})

describe('SIGTERM in each phase that makes the image', () => {
  /** When to send SIGTERM: a line of the action's log (after another one, if given). */
  interface PhaseCase {
    readonly phase: string
    readonly marker: string
    readonly after?: string
    readonly hold?: FaultRequest
    /** A line the run must not have reached: the next phase. */
    readonly next: string
  }
  const cases: PhaseCase[] = [
    { phase: 'build', marker: '::group::Build', next: '::group::Push' },
    // The check runs between the end of the build group and the push; the slow
    // GetAuthorizationToken keeps a late signal from landing in the push.
    {
      phase: 'check',
      marker: '::endgroup::',
      after: '::group::Build',
      hold: {
        service: 'ecr',
        operation: 'GetAuthorizationToken',
        kind: 'slow',
        times: 1,
        delayMs: 4000
      },
      next: '::group::Push'
    },
    { phase: 'push', marker: '::group::Push', next: '::group::Repository policy' }
  ]
  log.plan(cases.length)
  it.each(cases)('SIGTERM during $phase: exits non-zero, leaves no credentials', async c => {
    const to = await target(`sigterm-${c.phase}`)
    if (c.hold) await sandbox.control.injectFaults([c.hold])
    const sigterm = sigtermWhen({ marker: c.marker, after: c.after })
    const run = await deploy(to, {}, { onStart: sigterm.onStart })
    await record(run, to, sigtermRows(c.phase, sigterm), 'failed [cancelled]')
    expect(run.exitCode).toBe(143)
    // The signal came in the phase it was meant for.
    expect(run.stdout).not.toContain(c.next)
  })
})
