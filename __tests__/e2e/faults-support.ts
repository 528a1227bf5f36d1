import { afterAll, beforeEach, expect } from '@jest/globals'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import * as prettier from 'prettier'
import { repoRoot, type ActionRun, type RunOptions } from '../../stack/run-action.js'
import type {
  ArmedFault,
  FaultRequest,
  StandInControl
} from '../../stack/stand-in/control-client.js'
import type { Sandbox, Seeded } from './harness.js'
import { expectNoCredentialLeft, filesUnder, holdsRegistryCredential } from './support.js'

/**
 * What the two fault suites share: __tests__/e2e/aws/faults.test.ts (faults on the AWS side of a
 * deploy, with an image already in the registry: runs once) and __tests__/e2e/engine/faults.test.ts
 * (faults that need a build or a push: runs on every image store). One action run may arm several
 * faults; every armed fault is a row of docs/FAULTS.md, and each must have fired as often as it
 * was armed. Every run is checked for its outcome, that no statement of the repository policy was
 * lost, and that no registry credential was left on disk or in the logs.
 */

/** The action's bounds as a user sees them (unit-tested in __tests__/unit/retry-schedules.test.ts). */
export const SDK_ATTEMPTS = 5
export const CONFLICT_ATTEMPTS = 4
export const POLICY_WRITES = 5
export const PUSH_ATTEMPTS = 3
/** The registry client's attempts per request (src/adapters/registry-http.ts REGISTRY_RETRY). */
export const REGISTRY_ATTEMPTS = 4

export const ACCOUNT = '111111111111'
export const REGION = 'us-east-1'

/** A statement that is not the action's; it must survive every run. */
export const KEEP_ME = {
  Sid: 'KeepMe',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/ci` },
  Action: ['ecr:PutImage'],
  Condition: { StringEquals: { 'aws:PrincipalTag/team': 'platform' } }
}
/** What a concurrent writer adds (policy-race): it must survive too. */
export const CONCURRENT = {
  Sid: 'ConcurrentWriter',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/terraform` },
  Action: ['ecr:DescribeImages']
}
export const policyText = (...statements: object[]) =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements })

/** One armed fault of a run, as the report shows it. */
export interface ArmedRow {
  readonly fault: string
  readonly operation: string
  /** How often it fired (the stand-in's or the proxy's count). */
  readonly injected: number
  /** How often it was armed to fire: it must have fired that often. */
  readonly times: number
}

export interface FaultRow {
  /** The action run of the suite the fault was armed in; faults of one run were armed together. */
  readonly run: number
  readonly fault: string
  readonly operation: string
  readonly injected: number
  readonly expected: string
  readonly outcome: string
  readonly statementsLost: number
  readonly credentialFilesLeft: number
}

/** The rows of one suite, and how many its full run has (the report needs a full run). */
export class FaultLog {
  readonly rows: FaultRow[] = []
  planned = 0
  private runs = 0

  /** Counts `faults` more rows a full run of the suite makes. */
  plan(faults: number): number {
    this.planned += faults
    return faults
  }

  nextRun(): number {
    this.runs += 1
    return this.runs
  }

  get runCount(): number {
    return this.runs
  }
}

/** The rows of stand-in faults, from the control API's list (spent faults included). */
export function standInRows(armed: readonly ArmedFault[], label?: (fault: ArmedFault) => string) {
  return armed.map((fault): ArmedRow => ({
    fault: label?.(fault) ?? fault.spec.kind,
    operation: `${fault.spec.service}:${fault.spec.operation}`,
    injected: fault.fired,
    times: fault.spec.times
  }))
}

export function outcomeOf(run: ActionRun): string {
  if (run.exitCode === 0) return 'succeeded'
  const id = /::error::\[([a-z0-9-]+)\]/.exec(run.stdout)?.[1] ?? `exit ${run.exitCode}`
  return `failed [${id}]`
}

type Statement = Record<string, unknown>

export function statementsOf(text: string | undefined): Statement[] {
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
async function statementsLost(
  control: StandInControl,
  repositoryName: string,
  before: readonly string[]
): Promise<number> {
  const now = new Set(
    statementsOf(await control.repositoryPolicy(ACCOUNT, REGION, repositoryName)).map(canonical)
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

export interface RecordedRun {
  readonly log: FaultLog
  readonly control: StandInControl
  /** The repository whose policy must keep every statement of `policiesBefore`. */
  readonly repositoryName: string
  readonly policiesBefore: readonly string[]
  readonly armed: readonly ArmedRow[]
  readonly expected: string
}

/**
 * Records a run's rows and checks them: the outcome, every armed fault fired as often as armed,
 * no statement lost, no credential left. Returns the rows.
 */
export async function recordRun(run: ActionRun, recorded: RecordedRun): Promise<FaultRow[]> {
  const number = recorded.log.nextRun()
  const outcome = outcomeOf(run)
  const lost = await statementsLost(
    recorded.control,
    recorded.repositoryName,
    recorded.policiesBefore
  )
  const credentials = credentialFilesLeft(run)
  const rows = recorded.armed.map((armed): FaultRow => ({
    run: number,
    fault: armed.fault,
    operation: armed.operation,
    injected: armed.injected,
    expected: recorded.expected,
    outcome,
    statementsLost: lost,
    credentialFilesLeft: credentials
  }))
  recorded.log.rows.push(...rows)
  const unfired = recorded.armed.filter(armed => armed.injected !== armed.times)
  if (outcome !== recorded.expected || unfired.length > 0) {
    // Shown only when the run is wrong, to say why.
    console.log(
      `run ${number} (${recorded.armed.map(a => `${a.fault} ×${a.times} on ${a.operation}`).join(', ')}):\n` +
        `${run.stdout.slice(-3000)}\n${run.stderr}`
    )
  }
  expect(outcome).toBe(recorded.expected)
  expect(recorded.armed.map(armed => [armed.fault, armed.operation, armed.injected])).toEqual(
    recorded.armed.map(armed => [armed.fault, armed.operation, armed.times])
  )
  expect(lost).toBe(0)
  expect(credentials).toBe(0)
  expectNoCredentialLeft(run)
  // A cancelled run stops at once, before outputs; every other failure reports deployed=false.
  if (outcome.startsWith('failed') && outcome !== 'failed [cancelled]') {
    expect(run.outputs.deployed).toBe('false')
  }
  return rows
}

// ---------------------------------------------------------------------------------------------
// What both suites do around their runs.

/** The function a run deploys to, and its repository's policy before the run. */
export interface FaultTarget {
  readonly fn: Seeded
  readonly policy: string
}

export interface FaultSuite {
  readonly log: FaultLog
  /** Records and checks a run (see recordRun); `extraPolicies` were written during it. */
  readonly record: (
    run: ActionRun,
    to: FaultTarget,
    armed: readonly ArmedRow[],
    expected: string,
    extraPolicies?: readonly string[]
  ) => Promise<FaultRow[]>
}

/**
 * A fault suite's log and its recording of runs: every test starts with no fault armed and no
 * update delay, and the suite's section of docs/FAULTS.md (by its key, which is also its folder,
 * __tests__/e2e/KEY/faults.test.ts, and project, e2e-KEY) is written after a full run.
 */
export function useFaultSuite(
  sandbox: Sandbox,
  about: Pick<ReportSection, 'key' | 'title' | 'about'>
): FaultSuite {
  const section: ReportSection = {
    ...about,
    suite: `__tests__/e2e/${about.key}/faults.test.ts`,
    project: `e2e-${about.key}`
  }
  const log = new FaultLog()
  beforeEach(async () => {
    await sandbox.control.clearFaults()
    await sandbox.control.setUpdateDelay(0)
  })
  afterAll(async () => {
    await writeFaultSection(section, log)
  })
  return {
    log,
    record: (run, to, armed, expected, extraPolicies = []) =>
      recordRun(run, {
        log,
        control: sandbox.control,
        repositoryName: to.fn.name,
        policiesBefore: [to.policy, ...extraPolicies],
        armed,
        expected
      })
  }
}

/** The AWS operations (SERVICE:OPERATION) a run that must succeed makes, from a clear call log. */
export async function operationsOfRun(
  control: StandInControl,
  start: () => Promise<ActionRun>
): Promise<string[]> {
  await control.clearCalls()
  const run = await start()
  expect(run.stdout).not.toContain('::error::')
  expect(run.exitCode).toBe(0)
  return (await control.calls()).map(call => `${call.service}:${call.operation}`)
}

/** The AWS faults within the retry bounds, each armed on every operation of a deploy at once. */
export const WITHIN_BOUNDS: readonly {
  readonly kind: 'throttle' | 'server-error' | 'slow'
  readonly times: number
}[] = [
  { kind: 'throttle', times: 2 },
  { kind: 'server-error', times: 2 },
  { kind: 'slow', times: 1 }
]

/** One fault of a kind on each operation. */
export function faultsOn(
  operations: readonly { readonly service: FaultRequest['service']; readonly operation: string }[],
  { kind, times }: (typeof WITHIN_BOUNDS)[number]
): FaultRequest[] {
  return operations.map(op => ({
    service: op.service,
    operation: op.operation,
    kind,
    times,
    // Far below the SDK's 30 s per attempt: a slow answer is waited for, not retried.
    delayMs: kind === 'slow' ? 1000 : undefined
  }))
}

/** When a run gets SIGTERM, and where it was when it did. */
export interface Sigterm {
  readonly onStart: NonNullable<RunOptions['onStart']>
  /** What the signal was sent on ('' when it was not sent). */
  readonly killedAt: string
}

/**
 * SIGTERM for the action once `marker` is in its log (after `after`, when given), or once a
 * stand-in fault has fired (`fired`: the fault's operation names the moment).
 */
export function sigtermWhen(when: {
  readonly marker?: string
  readonly after?: string
  readonly fired?: { readonly control: StandInControl; readonly operation: string }
}): Sigterm {
  let killedAt = ''
  const onStart: Sigterm['onStart'] = child => {
    let out = ''
    const kill = (why: string) => {
      if (killedAt) return
      killedAt = why
      child.kill('SIGTERM')
    }
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (!when.marker) return
      const from = when.after ? out.indexOf(when.after) : 0
      if (from >= 0 && out.indexOf(when.marker, from) >= 0) kill(when.marker)
    })
    const fired = when.fired
    if (fired) {
      const poll = setInterval(() => {
        void fired.control.faults().then(faults => {
          if (faults.some(f => f.fired > 0) && child.exitCode === null) {
            clearInterval(poll)
            kill(`${fired.operation} in flight`)
          }
        })
      }, 50)
      child.on('exit', () => clearInterval(poll))
    }
  }
  return {
    onStart,
    get killedAt() {
      return killedAt
    }
  }
}

/** The row of a SIGTERM run: armed once, fired when it was sent. */
export function sigtermRows(phase: string, sigterm: Sigterm): ArmedRow[] {
  return [
    {
      fault: `SIGTERM in ${phase}`,
      operation: sigterm.killedAt || '(not sent)',
      injected: sigterm.killedAt ? 1 : 0,
      times: 1
    }
  ]
}

// ---------------------------------------------------------------------------------------------
// docs/FAULTS.md: one section per suite, each rewritten by its suite after a full run.

export interface ReportSection {
  /** The marker name of the section: aws or engine. */
  readonly key: 'aws' | 'engine'
  readonly title: string
  /** The suite's path from the repository root. */
  readonly suite: string
  readonly project: string
  readonly about: readonly string[]
}

const SECTION_ORDER: readonly ReportSection['key'][] = ['aws', 'engine']
const begin = (key: string) => `<!-- faults:${key} -->`
const end = (key: string) => `<!-- /faults:${key} -->`

function header(): string[] {
  return [
    '# Fault injection results',
    '',
    'Generated by the fault suites; do not edit by hand. Each suite rewrites its own section after',
    'a full run (see each section for the command). Every row is one fault armed in the AWS',
    'stand-in or in `stack/registry-fault-proxy.ts` (an HTTPS proxy answering for the registry',
    'under an alias name) during a run of the bundled action; the faults of one run (column',
    '`run`) were armed together, and each must have fired as often as it was armed. The suite',
    'fails when a row differs from what is expected.',
    '',
    `Bounds: ${SDK_ATTEMPTS} SDK attempts per AWS call (adaptive retry mode), ${CONFLICT_ATTEMPTS}`,
    `UpdateFunctionCode attempts on ResourceConflictException, ${POLICY_WRITES} policy writes,`,
    `${PUSH_ATTEMPTS} docker push attempts of at most push-timeout each, ${REGISTRY_ATTEMPTS} attempts per registry`,
    'request the action makes itself (429, 5xx, time-outs; Retry-After honoured). Their back-off',
    'schedules are pinned by `__tests__/unit/retry-schedules.test.ts`; the rows below prove each',
    'fault kind end to end with real waits.',
    ''
  ]
}

function sectionText(section: ReportSection, log: FaultLog): string {
  // No timings: they differ on every run, and would make every regeneration a diff.
  const table = [
    '| run | fault | operation | injected | expected | outcome | statements lost | credential files left |',
    '| ---: | --- | --- | ---: | --- | --- | ---: | ---: |',
    ...log.rows.map(
      row =>
        `| ${row.run} | ${row.fault} | ${row.operation} | ${row.injected} | ${row.expected} | ${row.outcome} | ${row.statementsLost} | ${row.credentialFilesLeft} |`
    )
  ]
  return [
    begin(section.key),
    '',
    `## ${section.title}`,
    '',
    `Generated by \`${section.suite}\`; regenerate with`,
    `\`NODE_OPTIONS=--experimental-vm-modules npx jest ${section.suite} --selectProjects ${section.project}\`.`,
    ...section.about,
    '',
    ...table,
    '',
    `${log.rows.length} faults in ${log.runCount} runs.`,
    '',
    end(section.key)
  ].join('\n')
}

function placeholder(key: string): string {
  return [begin(key), '', 'Not generated yet.', '', end(key)].join('\n')
}

/** The sections of the current file, by key (none when it predates the sections). */
function currentSections(text: string): Map<string, string> {
  const sections = new Map<string, string>()
  for (const key of SECTION_ORDER) {
    const from = text.indexOf(begin(key))
    const to = text.indexOf(end(key))
    if (from >= 0 && to > from) sections.set(key, text.slice(from, to + end(key).length))
  }
  return sections
}

/**
 * Rewrites the suite's section of docs/FAULTS.md (the other section is kept as it is), after a
 * full run only. Both suites may finish at the same time in parallel workers: a lock directory
 * keeps their read-modify-write apart.
 */
export async function writeFaultSection(section: ReportSection, log: FaultLog): Promise<void> {
  if (log.rows.length !== log.planned) {
    console.log(
      `docs/FAULTS.md (${section.key}) not written: ${log.rows.length} of ${log.planned} rows ran.`
    )
    return
  }
  const file = path.join(repoRoot, 'docs', 'FAULTS.md')
  const lock = path.join(os.tmpdir(), 'lambda-image-deploy-faults-md.lock')
  for (let waited = 0; ; waited += 1) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (waited > 200) rmSync(lock, { recursive: true, force: true })
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }
  try {
    const sections = currentSections(existsSync(file) ? readFileSync(file, 'utf8') : '')
    sections.set(section.key, sectionText(section, log))
    const text = [
      ...header(),
      SECTION_ORDER.map(key => sections.get(key) ?? placeholder(key)).join('\n\n'),
      ''
    ].join('\n')
    // Formatted as the repository's prettier check expects of every markdown file.
    const options = (await prettier.resolveConfig(file)) ?? {}
    writeFileSync(file, await prettier.format(text, { ...options, parser: 'markdown' }))
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}
