import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { appendFileSync, readdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { credentialsFor, repoRoot, runAction, type ActionRun } from '../stack/run-action.js'
import { StandInControl } from '../stack/stand-in/control-client.js'
import { startStandIn } from '../stack/stand-in/server.js'
import { AWS_CLI, loginDockerConfig, runHandPipeline, type HandRun } from './bench/hand-pipeline.js'
import {
  coldDocker,
  logMark,
  median,
  registryTrafficSince,
  runCommand
} from './bench/host-tools.js'
import { startRecordingProxy } from './bench/recording-proxy.js'
import { measureStartUp } from './bench/startup.js'
import { markdownTable, percent, seconds, type Row } from './bench/rows.js'
import { runnerShapedBench, RUNNER_SHAPE, RUNNER_STORES } from './bench/runner-shaped.js'
import type { ImageStore } from './bench/fresh-runner.js'

/**
 * `npm run bench`: the performance figures for examples/hello-node against the local AWS
 * stand-in, each next to the hand-written awscli + docker pipeline (the baseline), in two tables:
 *  - runner-shaped (bench/runner-shaped.ts): every run on a fresh engine, registries and AWS
 *    behind a shaped link, Lambda updates that take time, as a GitHub-hosted runner sees them;
 *  - loopback: the stack's own engine with everything on loopback, where fixed costs dominate.
 * Medians of BENCH_REPEAT runs (default 5; the runner-shaped part BENCH_RUNNER_REPEAT, default 2 per store)
 * after one warm-up; writes bench/results.json and bench/RESULTS.md. BENCH_PARTS=runner or
 * BENCH_PARTS=loopback runs one table (the other is left out of the report).
 * Other work may share the 2 cores: the figures are noisy, hence medians, and the load is logged.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const REGISTRY_HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const PUBLIC_HOST = 'public.ecr.aws'
const EXAMPLE = path.join(repoRoot, 'examples', 'hello-node')
/** The bundle the bench runs (run-action.ts: ACTION_BUNDLE_DIR, else dist/). */
const DIST = process.env.ACTION_BUNDLE_DIR ?? path.join(repoRoot, 'dist')
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 5))
const STARTUP_REPEAT = Math.max(5, REPEAT * 2 + 1)
const FAN_OUT = 20
const FAN_OUT_DELAY_MS = 2000
const WAIT_DELAY_MS = 2500
/** Past this, remaining repetitions are skipped (every runner-shaped store still gets one). */
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 30 * 60_000)
/**
 * BENCH_PRUNE=1: cold runs start from `docker builder prune -af`. Off by default: on a shared
 * engine a prune during another session's build crashed dockerd 20.10. Without it a cold run
 * still misses the cache on every step after FROM (its source has a line no other run has),
 * which is all a prune changes here, where the base image's layers stay in the image store.
 */
const PRUNE = process.env.BENCH_PRUNE === '1'
/** Per image store: two stores at 2 rounds each keep the whole bench near 25 minutes. */
const RUNNER_REPEAT = Math.max(1, Number(process.env.BENCH_RUNNER_REPEAT ?? 2))
const PARTS = (process.env.BENCH_PARTS ?? 'runner,loopback').split(',')
/** Marks every repository, function and image tag the bench makes; nothing else is touched. */
const RUN_ID = `bench${Date.now().toString(36)}`

const benchStarted = Date.now()
const overBudget = (): boolean => Date.now() - benchStarted > BUDGET_MS
const log = (message: string): void =>
  console.log(
    `[bench ${((Date.now() - benchStarted) / 1000).toFixed(0).padStart(4)} s, load ${os.loadavg()[0]!.toFixed(1)}] ${message}`
  )

// ---------------------------------------------------------------- the world

const standIn = await startStandIn({ port: 0 })
const control = new StandInControl(standIn.url)
const proxy = await startRecordingProxy(standIn.url)
await control.setUpdateDelay(0)
const scratch = mkdtempSync(path.join(os.tmpdir(), `${RUN_ID}-`))
let counter = 0

function uniqueName(label: string): string {
  counter += 1
  return `${RUN_ID}-${label}-${counter}`
}

/**
 * The statement the Lambda developer guide has users add once for a repository of their own
 * ("Amazon ECR permissions"): the hand pipeline's repositories get it when they are made, as a
 * user's infrastructure code would; the action adds it itself.
 */
const LAMBDA_PULL_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'LambdaECRImageRetrievalPolicy',
      Effect: 'Allow',
      Principal: { Service: 'lambda.amazonaws.com' },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Condition: {
        StringLike: { 'aws:sourceArn': `arn:aws:lambda:${REGION}:${ACCOUNT}:function:*` }
      }
    }
  ]
})

async function newRepository(
  label: string,
  options: { forHand?: boolean } = {}
): Promise<{ name: string; uri: string }> {
  const name = uniqueName(label)
  await control.createRepository({
    account: ACCOUNT,
    region: REGION,
    name,
    ...(options.forHand ? { policy: LAMBDA_PULL_POLICY } : {})
  })
  return { name, uri: `${REGISTRY_HOST}/${name}` }
}

async function newFunctions(label: string, count = 1): Promise<string[]> {
  const names: string[] = []
  for (let i = 0; i < count; i += 1) {
    const name = uniqueName(label)
    await control.createFunction({
      account: ACCOUNT,
      region: REGION,
      name,
      packageType: 'Image',
      architectures: ['x86_64']
    })
    names.push(name)
  }
  return names
}

/** A private copy of examples/hello-node, so a one-line change touches nothing shared. */
function exampleCopy(): string {
  const dir = path.join(scratch, uniqueName('src'))
  cpSync(EXAMPLE, dir, { recursive: true })
  return dir
}

function fixtureCopy(name: string): string {
  const dir = path.join(scratch, uniqueName(name))
  cpSync(path.join(repoRoot, 'bench', 'fixtures', name), dir, { recursive: true })
  return dir
}

function changeOneLine(dir: string): void {
  appendFileSync(path.join(dir, 'index.mjs'), `// changed by the bench at ${Date.now()}\n`)
}

// ---------------------------------------------------------------- running the action

interface ActionMeasure {
  readonly run: ActionRun
  readonly ms: number
  readonly spawnedAt: number
  readonly endedAt: number
  /** The action's own phase timings, from its job summary (seconds). */
  readonly phases: Record<string, number>
  /** `docker ... build` commands the action ran (from @actions/exec's [command] lines). */
  readonly builds: number
}

interface ActionPlace {
  /** A DOCKER_CONFIG with a login, for cases that bring their own cache credentials. */
  readonly dockerConfig?: string
  /** A fresh runner's engine, and the launcher that puts the action on its network. */
  readonly dockerHost?: string
  readonly launcher?: readonly string[]
  /** The stand-in as that runner reaches it (the recording proxy, through its link). */
  readonly standInUrl?: string
}

async function action(
  inputs: Record<string, string>,
  place: ActionPlace | string = {}
): Promise<ActionMeasure> {
  const { dockerConfig, dockerHost, launcher, standInUrl } =
    typeof place === 'string' ? { dockerConfig: place } : place
  let spawnedAt = 0
  const previous = process.env.DOCKER_CONFIG
  // run-action.ts passes the bench's own DOCKER_CONFIG through (where a login may be).
  if (dockerConfig) process.env.DOCKER_CONFIG = dockerConfig
  try {
    const run = await runAction(inputs, {
      standInUrl: standInUrl ?? proxy.url,
      account: ACCOUNT,
      region: REGION,
      onStart: () => (spawnedAt = Date.now()),
      ...(dockerHost ? { env: { DOCKER_HOST: dockerHost } } : {}),
      ...(launcher ? { launcher: [...launcher] } : {}),
      // A 10 GB build takes longer than any test's run.
      timeoutMs: 0,
      // BENCH_ECHO=1: the action's log in the bench's, to see where a figure comes from.
      echo: process.env.BENCH_ECHO === '1'
    })
    const endedAt = Date.now()
    return {
      run,
      ms: endedAt - spawnedAt,
      spawnedAt,
      endedAt,
      phases: phasesOf(run.summary),
      builds: run.stdout.split('\n').filter(line => /^\[command\]\S*docker.* build /.test(line))
        .length
    }
  } finally {
    if (previous === undefined) delete process.env.DOCKER_CONFIG
    else process.env.DOCKER_CONFIG = previous
  }
}

function phasesOf(summary: string): Record<string, number> {
  const phases: Record<string, number> = {}
  for (const match of summary.matchAll(/\b([a-z-]+) (\d+(?:\.\d+)?) s\b/g)) {
    phases[match[1]!] = Number(match[2])
  }
  return phases
}

function deployInputs(fn: string, repository: string, context: string, tag = 'v1') {
  return { 'function-name': fn, repository, context, tags: tag }
}

function firstError(run: ActionRun): string {
  const line = run.stdout.split('\n').find(candidate => candidate.startsWith('::error'))
  return (line ?? run.stderr.trim().split('\n').at(-1) ?? `exit ${run.exitCode}`).slice(0, 300)
}

function mustSucceed<T extends { run: ActionRun }>(measure: T, what: string): T {
  if (measure.run.exitCode !== 0) throw new Error(`${what} failed: ${firstError(measure.run)}`)
  return measure
}

function handMustSucceed(run: HandRun, what: string): HandRun {
  if (run.exitCode !== 0) {
    throw new Error(
      `${what} (baseline) failed: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`
    )
  }
  return run
}

function hand(
  fn: string[],
  image: string,
  context: string,
  buildArgs: string[] = [],
  dockerHost?: string
) {
  return runHandPipeline({
    dockerHost,
    endpoint: proxy.url,
    account: ACCOUNT,
    region: REGION,
    registryHost: REGISTRY_HOST,
    image,
    context,
    functions: fn,
    buildArgs
  })
}

function handBuildMs(run: HandRun): number {
  return Number(/BUILD_MS=(\d+)/.exec(run.stdout)?.[1] ?? Number.NaN)
}

function countOps(since: number, operation: string, until = Date.now()): number {
  return proxy.requests.filter(r => r.at >= since && r.at <= until && r.operation === operation)
    .length
}

// ---------------------------------------------------------------- results

const rows: Row[] = []
/** One runner-shaped table per image store, in RUNNER_STORES order. */
const runnerTables: { store: ImageStore; rows: Row[]; conditions: string[] }[] = []
const raw: Record<string, unknown> = {}

function row(entry: Row): void {
  rows.push(entry)
  const verdict = entry.pass === null ? '—' : entry.pass ? 'pass' : 'FAIL'
  log(
    `${entry.figure}: ${entry.value} (baseline ${entry.baseline}; target ${entry.target}) ${verdict}`
  )
}

// ---------------------------------------------------------------- the cases

async function warmUp(): Promise<void> {
  log('warm-up: one deploy with the action and one by hand (not counted)')
  const repo = await newRepository('warmup')
  const [fn] = await newFunctions('warmup')
  mustSucceed(await action(deployInputs(fn!, repo.uri, exampleCopy())), 'warm-up deploy')
  handMustSucceed(await hand([fn!], `${repo.uri}:hand`, exampleCopy()), 'warm-up deploy')
}

async function startUp(): Promise<void> {
  log(`start-up: ${STARTUP_REPEAT} spawns each, to the first AWS request`)
  const handMs: number[] = []
  // A function that does not exist: the action stops right after its first calls. The bare
  // node, the action and the hand-written call take turns, so that all see the same load.
  const { bundles, floorMs } = await measureStartUp(
    {
      proxy,
      account: ACCOUNT,
      region: REGION,
      absentName: () => uniqueName('absent'),
      alongside: async missing => {
        const handSpawned = Date.now()
        await runCommand(
          AWS_CLI,
          [
            '--region',
            REGION,
            '--endpoint-url',
            proxy.url,
            'lambda',
            'get-function',
            '--function-name',
            missing
          ],
          {
            env: {
              PATH: process.env.PATH,
              HOME: scratch,
              AWS_ACCESS_KEY_ID: credentialsFor(ACCOUNT).accessKeyId,
              AWS_SECRET_ACCESS_KEY: credentialsFor(ACCOUNT).secretAccessKey,
              AWS_EC2_METADATA_DISABLED: 'true'
            }
          }
        )
        const handFirst = proxy.since(handSpawned)[0]
        if (handFirst) handMs.push(handFirst.at - handSpawned)
      }
    },
    STARTUP_REPEAT,
    [DIST]
  )
  const actionMs = bundles[DIST]!
  raw.startUp = { actionMs, handMs, floorMs }
  const value = median(actionMs)
  const floor = median(floorMs)
  row({
    id: 'startup-first-aws-call',
    figure: 'Start-up: spawn → first AWS request (median)',
    value: `${value.toFixed(0)} ms = ${(value / floor).toFixed(2)}× a bare node (min ${Math.min(...actionMs).toFixed(0)} ms)`,
    baseline: `${median(handMs).toFixed(0)} ms (aws lambda get-function)`,
    target: '≤ 1.5× a bare node + fetch',
    pass: value <= 1.5 * floor,
    note: `bare \`node -e "fetch(...)"\` side by side: ${floor.toFixed(0)} ms median; \`npx tsx scripts/bench/startup.ts\` measures this row alone`
  })

  // index.js is what every run loads; the other files are parts loaded when a run needs them
  // (ECR, STS, CloudWatch: src/adapters/aws-clients.ts).
  const distFiles = readdirSync(DIST).filter(file => file.endsWith('.js'))
  const sizeOf = (file: string) => statSync(path.join(DIST, file)).size
  const distBytes = distFiles.reduce((sum, file) => sum + sizeOf(file), 0)
  const entryBytes = sizeOf('index.js')
  raw.dist = { files: distFiles, bytes: distBytes, entryBytes }
  row({
    id: 'dist-size',
    figure: `dist/ JavaScript size (index.js and ${distFiles.length - 1} parts loaded when needed)`,
    value: `${(distBytes / 1e6).toFixed(2)} MB (index.js ${(entryBytes / 1e6).toFixed(2)} MB)`,
    baseline: '—',
    target: '≤ 2 MB in all',
    pass: distBytes <= 2e6
  })
}

interface ColdAndUnchanged {
  coldMs: number[]
  coldBuildMs: number[]
  unchangedMs: number[]
  unchangedUpdates: number[]
  unchangedUploads: number[]
  unchangedRegistryRequests: number[]
  unchangedAwsRequests: number[]
  unchangedPhases: Record<string, number>[]
}

function emptyColdAndUnchanged(): ColdAndUnchanged {
  return {
    coldMs: [],
    coldBuildMs: [],
    unchangedMs: [],
    unchangedUpdates: [],
    unchangedUploads: [],
    unchangedRegistryRequests: [],
    unchangedAwsRequests: [],
    unchangedPhases: []
  }
}

const coldAction = emptyColdAndUnchanged()
const coldHand = emptyColdAndUnchanged()

async function coldAndUnchanged(): Promise<void> {
  for (let i = 0; i < REPEAT && !overBudget(); i += 1) {
    log(`cold run + unchanged redeploy ${i + 1}/${REPEAT}: action`)
    {
      const repo = await newRepository('cold')
      const [fn] = await newFunctions('cold')
      const context = exampleCopy()
      changeOneLine(context)
      await coldDocker(RUN_ID, PRUNE)
      const cold = mustSucceed(await action(deployInputs(fn!, repo.uri, context)), 'cold deploy')
      coldAction.coldMs.push(cold.ms)
      coldAction.coldBuildMs.push((cold.phases.build ?? Number.NaN) * 1000)
      const mark = logMark(REGISTRY_HOST)
      const again = mustSucceed(await action(deployInputs(fn!, repo.uri, context)), 'redeploy')
      const traffic = registryTrafficSince(REGISTRY_HOST, mark, [repo.name])
      coldAction.unchangedMs.push(again.ms)
      coldAction.unchangedUpdates.push(countOps(again.spawnedAt, 'UpdateFunctionCode'))
      coldAction.unchangedUploads.push(traffic.blobUploads)
      coldAction.unchangedRegistryRequests.push(traffic.requests)
      coldAction.unchangedAwsRequests.push(proxy.since(again.spawnedAt).length)
      coldAction.unchangedPhases.push(again.phases)
    }
    log(`cold run + unchanged redeploy ${i + 1}/${REPEAT}: by hand`)
    {
      const repo = await newRepository('hcold', { forHand: true })
      const [fn] = await newFunctions('hcold')
      const context = exampleCopy()
      changeOneLine(context)
      await coldDocker(RUN_ID, PRUNE)
      const cold = handMustSucceed(await hand([fn!], `${repo.uri}:v1`, context), 'cold deploy')
      coldHand.coldMs.push(cold.ms)
      coldHand.coldBuildMs.push(handBuildMs(cold))
      const mark = logMark(REGISTRY_HOST)
      const started = Date.now()
      const again = handMustSucceed(await hand([fn!], `${repo.uri}:v1`, context), 'redeploy')
      const traffic = registryTrafficSince(REGISTRY_HOST, mark, [repo.name])
      coldHand.unchangedMs.push(again.ms)
      coldHand.unchangedUpdates.push(countOps(started, 'UpdateFunctionCode'))
      coldHand.unchangedUploads.push(traffic.blobUploads)
      coldHand.unchangedRegistryRequests.push(traffic.requests)
      coldHand.unchangedAwsRequests.push(proxy.since(started).length)
    }
  }
  raw.coldAndUnchanged = { action: coldAction, hand: coldHand }
  const a = {
    cold: median(coldAction.coldMs),
    unchanged: median(coldAction.unchangedMs),
    updates: Math.max(...coldAction.unchangedUpdates),
    uploads: Math.max(...coldAction.unchangedUploads)
  }
  const h = {
    cold: median(coldHand.coldMs),
    unchanged: median(coldHand.unchangedMs),
    updates: Math.max(...coldHand.unchangedUpdates),
    uploads: Math.max(...coldHand.unchangedUploads)
  }
  row({
    id: 'cold-run',
    figure: 'Cold run (fresh function + repository, no build cache), whole step',
    value: seconds(a.cold),
    baseline: seconds(h.cold),
    target: '— (reference)',
    pass: null
  })
  row({
    id: 'unchanged-redeploy-time',
    figure: 'Unchanged redeploy, whole step, share of cold run',
    value: `${seconds(a.unchanged)} = ${percent(a.unchanged / a.cold)}`,
    baseline: `${seconds(h.unchanged)} = ${percent(h.unchanged / h.cold)}`,
    target: '≤ 25 % of cold',
    pass: a.unchanged / a.cold <= 0.25
  })
  const phaseNames = [...new Set(coldAction.unchangedPhases.flatMap(p => Object.keys(p)))]
  row({
    id: 'unchanged-redeploy-phases',
    figure: "Unchanged redeploy: the action's own phase timings (median)",
    value: phaseNames
      .map(
        name =>
          `${name} ${(median(coldAction.unchangedPhases.map(p => p[name] ?? 0)) * 1000).toFixed(0)} ms`
      )
      .join(', '),
    baseline: '—',
    target: '— (where the time goes)',
    pass: null
  })
  row({
    id: 'unchanged-redeploy-updates',
    figure: 'Unchanged redeploy: UpdateFunctionCode calls (max over runs)',
    value: String(a.updates),
    baseline: String(h.updates),
    target: '0',
    pass: a.updates === 0
  })
  row({
    id: 'unchanged-redeploy-uploads',
    figure: 'Unchanged redeploy: blobs uploaded to ECR (max over runs)',
    value: String(a.uploads),
    baseline: String(h.uploads),
    target: '0',
    pass: a.uploads === 0
  })
  row({
    id: 'unchanged-redeploy-requests',
    figure: 'Unchanged redeploy: AWS API requests / ECR registry requests (median)',
    value: `${median(coldAction.unchangedAwsRequests)} / ${median(coldAction.unchangedRegistryRequests)}`,
    baseline: `${median(coldHand.unchangedAwsRequests)} / ${median(coldHand.unchangedRegistryRequests)}`,
    target: '— (reference)',
    pass: null
  })
}

async function probeBuilders(): Promise<{ registryCache: string; containerDriver: string }> {
  log('warm build cache: probing the requested registry cache and a docker-container builder')
  const repo = await newRepository('regcache')
  const [fn] = await newFunctions('regcache')
  const dockerConfig = await loginDockerConfig({
    endpoint: proxy.url,
    account: ACCOUNT,
    region: REGION,
    registryHost: REGISTRY_HOST
  })
  const ref = `type=registry,ref=${repo.uri}:buildcache,image-manifest=true,oci-mediatypes=true`
  const requested = await action(
    { ...deployInputs(fn!, repo.uri, exampleCopy()), 'cache-from': ref, 'cache-to': ref },
    dockerConfig
  )
  rmSync(dockerConfig, { recursive: true, force: true })
  const registryCache =
    requested.run.exitCode === 0 ? 'works' : `fails: ${firstError(requested.run)}`

  const builder = `${RUN_ID}-container`
  const created = await runCommand('docker', [
    'buildx',
    'create',
    '--name',
    builder,
    '--driver',
    'docker-container'
  ])
  const booted = await runCommand('docker', ['buildx', 'inspect', '--bootstrap', builder], {
    timeoutMs: 90_000
  })
  await runCommand('docker', ['buildx', 'rm', '--force', builder])
  const containerDriver =
    created.exitCode !== 0
      ? `create fails: ${lastLine(created.stderr)}`
      : booted.exitCode === 0
        ? 'boots'
        : `bootstrap fails: ${lastLine(booted.stderr || booted.stdout)}`
  raw.builderProbe = { registryCache, containerDriver }
  return { registryCache, containerDriver }
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter(line => line.trim() !== '')
      .at(-1) ?? ''
  ).slice(0, 300)
}

async function warmBuildCache(): Promise<void> {
  const probe = await probeBuilders()
  row({
    id: 'warm-cache-registry',
    figure: 'Warm build cache as asked (cache-to type=registry,…,image-manifest=true)',
    value: probe.registryCache === 'works' ? 'works' : 'not available',
    baseline: '—',
    target: 'works, ≤ 30 % of cold build',
    pass: probe.registryCache === 'works' ? null : false,
    note: `action: ${probe.registryCache}; docker-container builder: ${probe.containerDriver}`
  })

  // The closest thing that the engine's own builder (driver "docker") can do: inline cache
  // metadata in the pushed image, imported on a builder with an empty cache.
  const actionWarm: number[] = []
  const actionLocal: number[] = []
  const handWarm: number[] = []
  if (!PRUNE) {
    row({
      id: 'warm-cache-inline',
      figure: 'Rebuild after a one-line change on an empty builder, inline cache from ECR',
      value: 'skipped',
      baseline: '—',
      target: '≤ 30 % of cold build',
      pass: null,
      note: 'needs an emptied build cache: run with BENCH_PRUNE=1 on an otherwise idle engine'
    })
    return
  }
  for (let i = 0; i < REPEAT && !overBudget(); i += 1) {
    log(`warm build cache ${i + 1}/${REPEAT}: action with inline cache`)
    {
      const repo = await newRepository('inline')
      const [fn] = await newFunctions('inline')
      const context = exampleCopy()
      const dockerConfig = await loginDockerConfig({
        endpoint: proxy.url,
        account: ACCOUNT,
        region: REGION,
        registryHost: REGISTRY_HOST
      })
      try {
        await coldDocker(RUN_ID, PRUNE)
        mustSucceed(
          await action(
            { ...deployInputs(fn!, repo.uri, context, 'seed'), 'cache-to': 'type=inline' },
            dockerConfig
          ),
          'inline cache seed'
        )
        changeOneLine(context)
        await coldDocker(RUN_ID, PRUNE)
        const warm = mustSucceed(
          await action(
            {
              ...deployInputs(fn!, repo.uri, context, 'warm'),
              'cache-from': `type=registry,ref=${repo.uri}:seed`,
              'cache-to': 'type=inline'
            },
            dockerConfig
          ),
          'inline cache rebuild'
        )
        actionWarm.push((warm.phases.build ?? Number.NaN) * 1000)
        changeOneLine(context)
        const local = mustSucceed(
          await action(deployInputs(fn!, repo.uri, context, 'local'), dockerConfig),
          'local cache rebuild'
        )
        actionLocal.push((local.phases.build ?? Number.NaN) * 1000)
      } finally {
        rmSync(dockerConfig, { recursive: true, force: true })
      }
    }
    log(`warm build cache ${i + 1}/${REPEAT}: by hand with inline cache`)
    {
      const repo = await newRepository('hinline', { forHand: true })
      const [fn] = await newFunctions('hinline')
      const context = exampleCopy()
      await coldDocker(RUN_ID, PRUNE)
      const inline = ['--build-arg', 'BUILDKIT_INLINE_CACHE=1']
      handMustSucceed(await hand([fn!], `${repo.uri}:seed`, context, inline), 'inline seed')
      changeOneLine(context)
      await coldDocker(RUN_ID, PRUNE)
      const warm = handMustSucceed(
        await hand([fn!], `${repo.uri}:warm`, context, [
          ...inline,
          '--cache-from',
          `${repo.uri}:seed`
        ]),
        'inline rebuild'
      )
      handWarm.push(handBuildMs(warm))
    }
  }
  raw.warmCache = { actionWarm, actionLocal, handWarm }
  const coldBuild = median(coldAction.coldBuildMs)
  const handColdBuild = median(coldHand.coldBuildMs)
  const ratio = median(actionWarm) / coldBuild
  row({
    id: 'warm-cache-inline',
    figure:
      'Rebuild after a one-line change on an empty builder, inline cache from ECR (build phase, share of cold build)',
    value: `${seconds(median(actionWarm))} = ${percent(ratio)} of ${seconds(coldBuild)}`,
    baseline: `${seconds(median(handWarm))} = ${percent(median(handWarm) / handColdBuild)} of ${seconds(handColdBuild)}`,
    target: '≤ 30 % of cold build',
    pass: ratio <= 0.3,
    note: 'closest available substitute for the registry cache (see above)'
  })
  row({
    id: 'warm-cache-local',
    figure:
      'Rebuild after a one-line change on the same builder (build phase, share of cold build)',
    value: `${seconds(median(actionLocal))} = ${percent(median(actionLocal) / coldBuild)}`,
    baseline: '—',
    target: '— (reference: the best any cache can do)',
    pass: null
  })
}

/** A repository that already holds the example's image, for the deploy-only cases. */
async function pushedExample(): Promise<{ repo: { name: string; uri: string }; context: string }> {
  await control.setUpdateDelay(0)
  const repo = await newRepository('shared')
  const [fn] = await newFunctions('shared')
  const context = exampleCopy()
  mustSucceed(await action(deployInputs(fn!, repo.uri, context)), 'priming deploy')
  handMustSucceed(await hand([fn!], `${repo.uri}:hand`, context), 'priming deploy')
  return { repo, context }
}

async function fanOut(shared: { repo: { uri: string }; context: string }): Promise<void> {
  await control.setUpdateDelay(FAN_OUT_DELAY_MS)
  const one: number[] = []
  const many: number[] = []
  const updateSpreadMs: number[] = []
  const firstUpdateMs: number[] = []
  let unavailable: string | undefined
  try {
    for (let i = 0; i < REPEAT && !overBudget() && !unavailable; i += 1) {
      log(`fan-out ${i + 1}/${REPEAT}: action, 1 then ${FAN_OUT} functions`)
      const [single] = await newFunctions('fan1')
      one.push(
        mustSucceed(
          await action(deployInputs(single!, shared.repo.uri, shared.context)),
          'fan-out 1'
        ).ms
      )
      const functions = await newFunctions('fan', FAN_OUT)
      const run = await action(deployInputs(functions.join('\n'), shared.repo.uri, shared.context))
      const updates = proxy
        .since(run.spawnedAt)
        .filter(r => r.at <= run.endedAt && r.operation === 'UpdateFunctionCode')
      if (run.run.exitCode !== 0) unavailable = firstError(run.run)
      else if (updates.length !== FAN_OUT) {
        unavailable = `the run updated ${updates.length} of ${FAN_OUT} functions`
      } else {
        many.push(run.ms)
        updateSpreadMs.push(updates.at(-1)!.at - updates[0]!.at)
        firstUpdateMs.push(updates[0]!.at - run.spawnedAt)
      }
    }
    log(`fan-out: by hand, 1 then ${FAN_OUT} functions (once: the loop is sequential and slow)`)
    const [single] = await newFunctions('hfan1')
    const handOne = handMustSucceed(
      await hand([single!], `${shared.repo.uri}:hand`, shared.context),
      'fan-out 1'
    ).ms
    const functions = await newFunctions('hfan', FAN_OUT)
    const handMany = handMustSucceed(
      await hand(functions, `${shared.repo.uri}:hand`, shared.context),
      'fan-out 20'
    ).ms
    raw.fanOut = { one, many, updateSpreadMs, firstUpdateMs, handOne, handMany, unavailable }
    const ratio = median(many) / median(one)
    row({
      id: 'fan-out',
      figure: `Fan-out: one image to ${FAN_OUT} functions vs 1 (update delay ${FAN_OUT_DELAY_MS / 1000} s)`,
      value: unavailable
        ? 'not available'
        : `${seconds(median(many))} vs ${seconds(median(one))} = ${ratio.toFixed(2)}×`,
      baseline: `${seconds(handMany)} vs ${seconds(handOne)} = ${(handMany / handOne).toFixed(2)}× (sequential loop)`,
      target: '≤ 1.5×',
      pass: unavailable ? null : ratio <= 1.5,
      note: unavailable
        ? `multiline function-name: ${unavailable}`
        : `20 UpdateFunctionCode calls, first ${seconds(median(firstUpdateMs))} after spawn, spread over ${seconds(median(updateSpreadMs))}`
    })
  } finally {
    await control.setUpdateDelay(0)
  }
}

async function completesAtOf(name: string, until: () => boolean): Promise<number | undefined> {
  while (!until()) {
    const state = await control.state()
    const fn = state.functions.find(candidate => candidate.name === name)
    if (fn?.lastUpdate.status === 'InProgress' && fn.lastUpdate.completesAt) {
      return fn.lastUpdate.completesAt
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  return undefined
}

async function waiting(shared: { repo: { uri: string }; context: string }): Promise<void> {
  await control.setUpdateDelay(WAIT_DELAY_MS)
  const toOutput: number[] = []
  const toNotice: number[] = []
  const handToOutput: number[] = []
  try {
    for (let i = 0; i < REPEAT && !overBudget(); i += 1) {
      log(`waiting ${i + 1}/${REPEAT}: update delay ${WAIT_DELAY_MS / 1000} s`)
      {
        const [fn] = await newFunctions('wait')
        let done = false
        const flip = completesAtOf(fn!, () => done)
        const measure = await action(deployInputs(fn!, shared.repo.uri, shared.context))
        done = true
        const completesAt = await flip
        mustSucceed(measure, 'waiting deploy')
        if (completesAt) {
          toOutput.push(measure.endedAt - completesAt)
          const noticed = proxy
            .since(completesAt)
            .find(r => r.at <= measure.endedAt && /^GetFunction/.test(r.operation))
          if (noticed) toNotice.push(noticed.at - completesAt)
        }
      }
      {
        const [fn] = await newFunctions('hwait')
        let done = false
        const flip = completesAtOf(fn!, () => done)
        const run = await hand([fn!], `${shared.repo.uri}:hand`, shared.context)
        done = true
        const completesAt = await flip
        handMustSucceed(run, 'waiting deploy')
        if (completesAt && run.waitedAt) handToOutput.push(run.waitedAt - completesAt)
      }
    }
  } finally {
    await control.setUpdateDelay(0)
  }
  raw.waiting = { toOutput, toNotice, handToOutput }
  const worst = Math.max(...toOutput)
  row({
    id: 'wait-latency',
    figure: 'Waiting: stand-in reports Successful → action exits (median / worst)',
    value: `${seconds(median(toOutput))} / ${seconds(worst)} (first poll after the flip: ${seconds(median(toNotice))} median)`,
    baseline: `${seconds(median(handToOutput))} / ${seconds(Math.max(...handToOutput))} (aws lambda wait function-updated-v2)`,
    target: '≤ 1 s',
    pass: worst <= 1000
  })
}

async function nightlyRefresh(shared: { repo: { uri: string; name: string }; context: string }) {
  const declared = /^\s{2}rebuild:/m.test(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8'))
  const [fn] = await newFunctions('nightly')
  mustSucceed(await action(deployInputs(fn!, shared.repo.uri, shared.context)), 'nightly priming')
  const refresh: number[] = []
  const builds: number[] = []
  const awsRequests: number[] = []
  const registryRequests: number[] = []
  let unavailable: string | undefined = declared ? undefined : 'action.yml has no `rebuild` input'
  for (let i = 0; i < REPEAT && !overBudget(); i += 1) {
    log(`nightly refresh ${i + 1}/${REPEAT}: rebuild: if-base-changed`)
    const ecrMark = logMark(REGISTRY_HOST)
    const publicMark = logMark(PUBLIC_HOST)
    const run = await action({
      ...deployInputs(fn!, shared.repo.uri, shared.context),
      rebuild: 'if-base-changed'
    })
    if (run.run.exitCode !== 0) {
      unavailable = firstError(run.run)
      break
    }
    refresh.push(run.ms)
    builds.push(run.builds)
    awsRequests.push(proxy.since(run.spawnedAt).filter(r => r.at <= run.endedAt).length)
    registryRequests.push(
      registryTrafficSince(REGISTRY_HOST, ecrMark).requests +
        registryTrafficSince(PUBLIC_HOST, publicMark).requests
    )
  }
  if (!unavailable && Math.max(...builds) > 0) {
    unavailable = `the action still ran docker build (${Math.max(...builds)} per run): input ignored or not skipping`
  }
  log('nightly refresh: plain rebuild + redeploy by hand (docker build --pull --no-cache)')
  const plain: number[] = []
  for (let i = 0; i < Math.min(REPEAT, 2) && !overBudget(); i += 1) {
    plain.push(
      handMustSucceed(
        await hand([fn!], `${shared.repo.uri}:nightly`, shared.context, ['--pull', '--no-cache']),
        'plain nightly rebuild'
      ).ms
    )
  }
  raw.nightly = { declared, refresh, builds, awsRequests, registryRequests, plain, unavailable }
  const speedup = median(plain) / median(refresh)
  row({
    id: 'nightly-refresh',
    figure: 'Unchanged nightly refresh (rebuild: if-base-changed) vs plain rebuild + redeploy',
    value: unavailable
      ? 'not available'
      : `${seconds(median(refresh))} = ${speedup.toFixed(1)}× faster; ${Math.max(...builds)} builds; ${median(awsRequests)} AWS + ${median(registryRequests)} registry requests`,
    baseline: `${seconds(median(plain))} (docker build --pull --no-cache, push, update, wait)`,
    target: '≥ 20× faster, 0 builds',
    pass: unavailable ? null : speedup >= 20 && Math.max(...builds) === 0,
    note: unavailable
  })
}

async function runnerShaped(store: ImageStore): Promise<void> {
  const stateDir = process.env.LAMBDA_STACK_STATE_DIR ?? '/var/lib/lambda-image-deploy-stack'
  const result = await runnerShapedBench(
    {
      account: ACCOUNT,
      registryHost: REGISTRY_HOST,
      publicHost: PUBLIC_HOST,
      engineBin: path.join(stateDir, 'engine', 'bin'),
      scratch,
      repeat: RUNNER_REPEAT,
      fanOut: FAN_OUT,
      proxy,
      setUpdateDelay: ms => control.setUpdateDelay(ms),
      log,
      overBudget,
      newRepository,
      newFunctions,
      exampleCopy,
      fixtureCopy,
      changeOneLine,
      action: (inputs, place) => action(inputs, place),
      hand: (fns, image, context, buildArgs, dockerHost) =>
        hand(fns, image, context, buildArgs, dockerHost),
      mustSucceed,
      handMustSucceed,
      handBuildMs
    },
    store
  )
  runnerTables.push({ store, rows: result.rows, conditions: result.conditions })
  raw[`runnerShaped-${store}`] = result.raw
  for (const entry of result.rows) {
    const verdict = entry.pass === null ? '—' : entry.pass ? 'pass' : 'FAIL'
    log(
      `runner-shaped (${store}): ${entry.figure}: ${entry.value} (baseline ${entry.baseline}) ${verdict}`
    )
  }
}

// ---------------------------------------------------------------- machine and report

async function machine(): Promise<Record<string, string>> {
  const cpu = /Model name:\s*(.+)/.exec((await runCommand('lscpu', [])).stdout)?.[1] ?? ''
  const docker = await runCommand('docker', [
    'version',
    '--format',
    'client {{.Client.Version}}, engine {{.Server.Version}}'
  ])
  const buildx = await runCommand('docker', ['buildx', 'version'])
  const driver = await runCommand('docker', ['info', '--format', '{{json .DriverStatus}}'])
  const stackStore = driver.stdout.includes('io.containerd.snapshotter') ? 'containerd' : 'classic'
  const aws = await runCommand(AWS_CLI, ['--version'])
  return {
    date: new Date().toISOString(),
    cpu: `${cpu.trim()} (${os.cpus().length} cores)`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    docker: docker.stdout.trim(),
    buildx: buildx.stdout.trim(),
    'image store': `loopback table: the stack's engine, ${stackStore} store; runner-shaped tables: a fresh engine per run, ${RUNNER_STORES.join(' store, then ')} store`,
    awscli: (aws.stdout || aws.stderr).trim(),
    load: `load average at start ${os
      .loadavg()
      .map(v => v.toFixed(2))
      .join(' ')}`
  }
}

function table(): string {
  const parts: string[] = []
  for (const { store, rows: storeRows, conditions } of runnerTables) {
    parts.push(
      `### Runner-shaped, ${store} image store${store === 'classic' ? ' (ubuntu-24.04)' : ''}: a fresh engine per run, a shaped network, Lambda updates that take time`,
      '',
      ...conditions.map(condition => `- ${condition}`),
      '',
      markdownTable(storeRows),
      ''
    )
  }
  if (PARTS.includes('loopback')) {
    parts.push(
      "### Loopback: the stack's own engine, every registry and AWS on loopback",
      '',
      markdownTable(rows)
    )
  }
  return parts.join('\n')
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : JSON.stringify(error)
}

function writeReports(host: Record<string, string>, failure?: unknown): void {
  const out = path.join(repoRoot, 'bench')
  mkdirSync(out, { recursive: true })
  const finished = {
    ...host,
    load: `${host.load}; at end ${os
      .loadavg()
      .map(v => v.toFixed(2))
      .join(' ')}`
  }
  const results = {
    machine: finished,
    repeat: REPEAT,
    durationSeconds: Math.round((Date.now() - benchStarted) / 1000),
    failure: failure === undefined ? undefined : describeError(failure),
    runnerShaped: PARTS.includes('runner')
      ? {
          shape: RUNNER_SHAPE,
          repeat: RUNNER_REPEAT,
          tables: runnerTables
        }
      : undefined,
    loopback: PARTS.includes('loopback') ? { rows } : undefined,
    raw
  }
  writeFileSync(path.join(out, 'results.json'), `${JSON.stringify(results, null, 2)}\n`)
  const analysisFile = path.join(out, 'ANALYSIS.md')
  const analysis = existsSync(analysisFile) ? readFileSync(analysisFile, 'utf8') : ''
  const markdown = [
    '# Performance bench results',
    '',
    'Written by `npm run bench` (scripts/bench.ts); the analysis below the table is bench/ANALYSIS.md.',
    '',
    '## Machine',
    '',
    ...Object.entries(finished).map(([key, value]) => `- ${key}: ${value}`),
    `- build cache pruned before cold runs: ${PRUNE ? 'yes' : 'no (BENCH_PRUNE=1 to prune)'}`,
    `- repetitions: ${REPEAT} (medians; start-up ${STARTUP_REPEAT}), whole bench ${results.durationSeconds} s`,
    '',
    '## Figures',
    '',
    table(),
    '',
    failure === undefined ? '' : `The bench stopped early: ${describeError(failure)}\n`,
    analysis
  ].join('\n')
  writeFileSync(path.join(out, 'RESULTS.md'), markdown)
  console.log(`\n${table()}\n\nWrote bench/results.json and bench/RESULTS.md`)
}

// ---------------------------------------------------------------- main

const host = await machine()
log(`machine: ${host.cpu}, ${host.memory}; ${host.docker}; ${host.awscli}`)
let failure: unknown
try {
  await warmUp()
  if (PARTS.includes('runner')) for (const store of RUNNER_STORES) await runnerShaped(store)
  if (PARTS.includes('loopback')) {
    await startUp()
    await coldAndUnchanged()
    await warmBuildCache()
    const shared = await pushedExample()
    await fanOut(shared)
    await waiting(shared)
    await nightlyRefresh(shared)
  }
} catch (error) {
  failure = error
  console.error(error)
} finally {
  writeReports(host, failure)
  await coldDocker(RUN_ID, PRUNE)
  rmSync(scratch, { recursive: true, force: true })
  await proxy.close()
  await standIn.close()
}
process.exitCode = failure === undefined ? 0 : 1
