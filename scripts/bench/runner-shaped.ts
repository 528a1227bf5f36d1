import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import type { ActionRun } from '../../stack/run-action.js'
import { startFreshEngine, startRunnerNetwork, type ImageStore } from './fresh-runner.js'
import type { HandRun } from './hand-pipeline.js'
import { logMark, median, registryTrafficSince } from './host-tools.js'
import { sequentialRoundTrips, type RecordingProxy } from './recording-proxy.js'
import { percent, seconds, type Row } from './rows.js'

/**
 * The targets, measured where they matter: every run that stands for a job on a new
 * GitHub-hosted runner gets an engine with an empty store (fresh-runner.ts), the registries sit
 * behind a link with a fixed round trip and bandwidth (shaping-proxy.ts), AWS API calls carry the
 * same round trip, and the stand-in's Lambda takes a fixed time to apply an update. The hand
 * pipeline runs on the same stack, each run on its own fresh engine too.
 */

/** Why these numbers: see RUNNER_CONDITIONS, which the report prints beside the table. */
export const RUNNER_SHAPE = {
  rttMs: Number(process.env.BENCH_RTT_MS ?? 30),
  mbitPerSecond: Number(process.env.BENCH_MBIT ?? 400),
  lambdaUpdateMs: Number(process.env.BENCH_UPDATE_MS ?? 10_000)
}

/**
 * The image stores a fresh runner can have, one table each. The classic store comes first: it is
 * what GitHub's ubuntu-24.04 runners have (Docker 28, the engine's own builder), so most users.
 * BENCH_RUNNER_STORE=containerd (or a comma list) runs some.
 */
export const RUNNER_STORES = (process.env.BENCH_RUNNER_STORE ?? 'classic,containerd')
  .split(',')
  .map(store => store.trim())
  .filter((store): store is ImageStore => store === 'classic' || store === 'containerd')

/** BENCH_RUNNER_CASES=deps,hand… runs some of: action, deps, hand, fanout (all by default). */
const CASES = new Set((process.env.BENCH_RUNNER_CASES ?? 'action,deps,hand,fanout').split(','))

export const runnerConditions = (store: ImageStore): string[] => [
  `round trip ${RUNNER_SHAPE.rttMs} ms to every registry and on every AWS API call: GitHub-hosted runners run in Azure, and the function's AWS region is rarely in the same city (same-city round trips are a few ms, across a continent 30-80 ms), so 30 ms stands for a nearby region`,
  `bandwidth ${RUNNER_SHAPE.mbitPerSecond} Mbit/s each way, shared by all connections: what hosted runners commonly reach to a registry, rather than the multi-Gbit/s of a runner's NIC`,
  `Lambda applies an image update in ${RUNNER_SHAPE.lambdaUpdateMs / 1000} s (LastUpdateStatus InProgress, then Successful): image updates commonly take 5-60 s, and the shorter end is the harder case for the ratios against the hand pipeline, which waits for every update`,
  `each fresh-runner run starts a dockerd (${store} image store${store === 'classic' ? ', as on ubuntu-24.04' : ''}) with a new, empty data-root: no base image, no build cache, as on a new runner; BENCH_RTT_MS, BENCH_MBIT, BENCH_UPDATE_MS and BENCH_RUNNER_STORE change these`,
  'AWS requests are counted by the recording proxy, "in sequence" being the most of them that had no two open at once (requests sent side by side count once); registry requests from the registries\' access logs'
]

/** Where a run on a fresh runner happens: its engine, its namespaces, its way to AWS. */
export interface RunnerPlace {
  readonly dockerHost: string
  readonly launcher: readonly string[]
  readonly standInUrl: string
}

export interface RunnerBenchKit {
  readonly account: string
  readonly registryHost: string
  readonly publicHost: string
  readonly engineBin: string
  readonly scratch: string
  readonly repeat: number
  readonly fanOut: number
  readonly proxy: RecordingProxy
  setUpdateDelay(ms: number): Promise<void>
  log(message: string): void
  overBudget(): boolean
  newRepository(
    label: string,
    options?: { forHand?: boolean }
  ): Promise<{ name: string; uri: string }>
  newFunctions(label: string, count?: number): Promise<string[]>
  exampleCopy(): string
  /** A private copy of bench/fixtures/NAME. */
  fixtureCopy(name: string): string
  changeOneLine(dir: string): void
  action(
    inputs: Record<string, string>,
    place: RunnerPlace
  ): Promise<{
    run: ActionRun
    ms: number
    spawnedAt: number
    endedAt: number
    phases: Record<string, number>
    builds: number
  }>
  hand(
    fns: string[],
    image: string,
    context: string,
    buildArgs: string[],
    dockerHost: string
  ): Promise<HandRun>
  mustSucceed<T extends { run: ActionRun }>(measure: T, what: string): T
  handMustSucceed(run: HandRun, what: string): HandRun
  handBuildMs(run: HandRun): number
}

/** What one run cost in requests: AWS (all, and in sequence) and registry (ECR and public). */
interface Traffic {
  aws: number
  awsInSequence: number
  registry: number
}

interface Figures {
  coldMs: number[]
  coldBuildMs: number[]
  coldPhases: Record<string, number>[]
  coldTraffic: Traffic[]
  unchangedTraffic: Traffic[]
  cachedPhases: Record<string, number>[]
  cachedTraffic: Traffic[]
  refreshTraffic: Traffic[]
  unchangedMs: number[]
  unchangedBuilds: number[]
  unchangedUploads: number[]
  unchangedUpdates: number[]
  unchangedPhases: Record<string, number>[]
  depsColdBuildMs: number[]
  cachedMs: number[]
  cachedBuildMs: number[]
  refreshMs: number[]
  refreshBuilds: number[]
  refreshAwsRequests: number[]
  refreshRegistryRequests: number[]
  refreshPhases: Record<string, number>[]
  handColdMs: number[]
  handColdBuildMs: number[]
  handUnchangedMs: number[]
  handRebuildMs: number[]
  fanOneMs: number[]
  fanManyMs: number[]
}

export async function runnerShapedBench(
  kit: RunnerBenchKit,
  store: ImageStore
): Promise<{ rows: Row[]; raw: Figures; conditions: string[] }> {
  const work = mkdtempSync(path.join('/var/tmp', 'lid-bench-runner-'))
  const network = await startRunnerNetwork({
    registryHosts: [kit.registryHost, kit.publicHost],
    awsEndpoint: kit.proxy.url,
    shape: { rttMs: RUNNER_SHAPE.rttMs, bytesPerSecond: (RUNNER_SHAPE.mbitPerSecond * 1e6) / 8 },
    workDir: work
  })
  const f: Figures = {
    coldMs: [],
    coldBuildMs: [],
    coldPhases: [],
    coldTraffic: [],
    unchangedTraffic: [],
    cachedPhases: [],
    cachedTraffic: [],
    refreshTraffic: [],
    unchangedMs: [],
    unchangedBuilds: [],
    unchangedUploads: [],
    unchangedUpdates: [],
    unchangedPhases: [],
    depsColdBuildMs: [],
    cachedMs: [],
    cachedBuildMs: [],
    refreshMs: [],
    refreshBuilds: [],
    refreshAwsRequests: [],
    refreshRegistryRequests: [],
    refreshPhases: [],
    handColdMs: [],
    handColdBuildMs: [],
    handUnchangedMs: [],
    handRebuildMs: [],
    fanOneMs: [],
    fanManyMs: []
  }
  /** Runs `job` on a new runner: a fresh engine, stopped and deleted afterwards. */
  const onNewRunner = async <T>(job: (place: RunnerPlace) => Promise<T>): Promise<T> => {
    const engine = await startFreshEngine(network, {
      store,
      engineBin: kit.engineBin,
      workDir: work
    })
    try {
      return await job({
        dockerHost: engine.dockerHost,
        launcher: network.launcher,
        standInUrl: network.awsEndpoint
      })
    } finally {
      await engine.stop()
    }
  }
  const countOps = (since: number, until: number, operation?: string): number =>
    kit.proxy
      .since(since)
      .filter(r => r.at <= until && (operation === undefined || r.operation === operation)).length
  /** Marks the registries' access logs; the closure returns the traffic since the mark. */
  const trafficFrom = (): ((measure: { spawnedAt: number; endedAt: number }) => Traffic) => {
    const ecr = logMark(kit.registryHost)
    const publicMark = logMark(kit.publicHost)
    return measure => {
      const aws = kit.proxy.since(measure.spawnedAt).filter(r => r.at <= measure.endedAt)
      return {
        aws: aws.length,
        awsInSequence: sequentialRoundTrips(aws),
        registry:
          registryTrafficSince(kit.registryHost, ecr).requests +
          registryTrafficSince(kit.publicHost, publicMark).requests
      }
    }
  }

  kit.proxy.setRoundTrip(RUNNER_SHAPE.rttMs)
  await kit.setUpdateDelay(RUNNER_SHAPE.lambdaUpdateMs)
  try {
    // At least one round per store, whatever the budget: a table of NaN tells nobody anything.
    for (let i = 0; i < kit.repeat && (i === 0 || !kit.overBudget()); i += 1) {
      const round = `${i + 1}/${kit.repeat}`
      const repo = await kit.newRepository('runner')
      const [fn] = await kit.newFunctions('runner')
      const context = kit.exampleCopy()
      kit.changeOneLine(context)
      const inputs = () => ({ 'function-name': fn!, repository: repo.uri, context, tags: 'v1' })

      if (CASES.has('action')) {
        kit.log(`fresh runner ${round} (${store}): action, cold deploy`)
        const coldTraffic = trafficFrom()
        const cold = kit.mustSucceed(
          await onNewRunner(place => kit.action(inputs(), place)),
          'fresh-runner cold deploy'
        )
        f.coldMs.push(cold.ms)
        f.coldBuildMs.push((cold.phases.build ?? Number.NaN) * 1000)
        f.coldPhases.push(cold.phases)
        f.coldTraffic.push(coldTraffic(cold))

        kit.log(`fresh runner ${round} (${store}): action, unchanged redeploy`)
        const mark = logMark(kit.registryHost)
        const unchangedTraffic = trafficFrom()
        const again = kit.mustSucceed(
          await onNewRunner(place => kit.action(inputs(), place)),
          'fresh-runner unchanged redeploy'
        )
        f.unchangedMs.push(again.ms)
        f.unchangedBuilds.push(again.builds)
        f.unchangedUploads.push(
          registryTrafficSince(kit.registryHost, mark, [repo.name]).blobUploads
        )
        f.unchangedUpdates.push(countOps(again.spawnedAt, again.endedAt, 'UpdateFunctionCode'))
        f.unchangedPhases.push(again.phases)
        f.unchangedTraffic.push(unchangedTraffic(again))

        kit.log(
          `fresh runner ${round} (${store}): action, unchanged scheduled refresh (if-base-changed)`
        )
        const ecrMark = logMark(kit.registryHost)
        const publicMark = logMark(kit.publicHost)
        const refreshTraffic = trafficFrom()
        const refresh = kit.mustSucceed(
          await onNewRunner(place =>
            kit.action({ ...inputs(), rebuild: 'if-base-changed' }, place)
          ),
          'fresh-runner refresh'
        )
        f.refreshMs.push(refresh.ms)
        f.refreshPhases.push(refresh.phases)
        f.refreshBuilds.push(refresh.builds)
        f.refreshAwsRequests.push(countOps(refresh.spawnedAt, refresh.endedAt))
        f.refreshTraffic.push(refreshTraffic(refresh))
        f.refreshRegistryRequests.push(
          registryTrafficSince(kit.registryHost, ecrMark).requests +
            registryTrafficSince(kit.publicHost, publicMark).requests
        )
      }

      // hello-node's one source file is copied before its only RUN step, so a change to it leaves
      // nothing for any cache to reuse; the usual layout (dependencies, then sources) does.
      if (CASES.has('deps')) {
        kit.log(
          `fresh runner ${round} (${store}): action, dependencies fixture cold, then a one-line change`
        )
        const depsRepo = await kit.newRepository('rdeps')
        const [depsFn] = await kit.newFunctions('rdeps')
        const deps = kit.fixtureCopy('with-dependencies')
        kit.changeOneLine(deps)
        const depsInputs = () => ({
          'function-name': depsFn!,
          repository: depsRepo.uri,
          context: deps,
          tags: 'v1'
        })
        const depsCold = kit.mustSucceed(
          await onNewRunner(place => kit.action(depsInputs(), place)),
          'fresh-runner dependencies cold deploy'
        )
        f.depsColdBuildMs.push((depsCold.phases.build ?? Number.NaN) * 1000)
        kit.changeOneLine(deps)
        const cachedTraffic = trafficFrom()
        const cached = kit.mustSucceed(
          await onNewRunner(place => kit.action({ ...depsInputs(), tags: 'v2' }, place)),
          'fresh-runner cached rebuild'
        )
        f.cachedMs.push(cached.ms)
        f.cachedBuildMs.push((cached.phases.build ?? Number.NaN) * 1000)
        f.cachedPhases.push(cached.phases)
        f.cachedTraffic.push(cachedTraffic(cached))
      }

      if (CASES.has('hand')) {
        kit.log(
          `fresh runner ${round} (${store}): by hand, cold deploy, unchanged redeploy, plain rebuild`
        )
        const handRepo = await kit.newRepository('hrunner', { forHand: true })
        const [handFn] = await kit.newFunctions('hrunner')
        const handContext = kit.exampleCopy()
        kit.changeOneLine(handContext)
        const image = `${handRepo.uri}:v1`
        const handCold = kit.handMustSucceed(
          await onNewRunner(place => kit.hand([handFn!], image, handContext, [], place.dockerHost)),
          'fresh-runner cold deploy'
        )
        f.handColdMs.push(handCold.ms)
        f.handColdBuildMs.push(kit.handBuildMs(handCold))
        f.handUnchangedMs.push(
          kit.handMustSucceed(
            await onNewRunner(place =>
              kit.hand([handFn!], image, handContext, [], place.dockerHost)
            ),
            'fresh-runner unchanged redeploy'
          ).ms
        )
        f.handRebuildMs.push(
          kit.handMustSucceed(
            await onNewRunner(place =>
              kit.hand([handFn!], image, handContext, ['--pull', '--no-cache'], place.dockerHost)
            ),
            'fresh-runner plain rebuild'
          ).ms
        )
      }

      if (i < 2 && CASES.has('fanout')) {
        kit.log(
          `fresh runner ${round} (${store}): fan-out, the same image to 1 then ${kit.fanOut} functions`
        )
        await onNewRunner(async place => {
          const [single] = await kit.newFunctions('rfan1')
          f.fanOneMs.push(
            kit.mustSucceed(
              await kit.action({ ...inputs(), 'function-name': single! }, place),
              'fan-out 1'
            ).ms
          )
          const many = await kit.newFunctions('rfan', kit.fanOut)
          f.fanManyMs.push(
            kit.mustSucceed(
              await kit.action({ ...inputs(), 'function-name': many.join('\n') }, place),
              `fan-out ${kit.fanOut}`
            ).ms
          )
        })
      }
    }
  } finally {
    kit.proxy.setRoundTrip(0)
    await kit.setUpdateDelay(0)
    await network.close()
    rmSync(work, { recursive: true, force: true })
  }
  return { rows: rowsOf(f, kit.fanOut, store), raw: f, conditions: runnerConditions(store) }
}

function rowsOf(f: Figures, fanOut: number, store: ImageStore): Row[] {
  const m = (values: number[]) => median(values)
  const coldRatio = m(f.coldMs) / m(f.handColdMs)
  const unchangedShare = m(f.unchangedMs) / m(f.handUnchangedMs)
  const refreshSpeedup = m(f.handRebuildMs) / m(f.refreshMs)
  const cacheShare = m(f.cachedBuildMs) / m(f.depsColdBuildMs)
  const fanRatio = m(f.fanManyMs) / m(f.fanOneMs)
  const most = (values: number[]) => Math.max(...values)
  const at = (id: string) => `runner-${store}-${id}`
  return [
    {
      id: at('cold-deploy'),
      figure: 'Cold deploy on a fresh runner (new function and repository), whole step, vs by hand',
      value: `${seconds(m(f.coldMs))} = ${coldRatio.toFixed(2)}× (build ${seconds(m(f.coldBuildMs))})`,
      baseline: `${seconds(m(f.handColdMs))} (build ${seconds(m(f.handColdBuildMs))})`,
      target: '≤ 1.05× by hand',
      note: `phases (median): ${phasesText(f.coldPhases)}<br>${trafficText(f.coldTraffic)}`,
      pass: coldRatio <= 1.05
    },
    {
      id: at('unchanged-redeploy'),
      figure: "Unchanged redeploy on a fresh runner, share of the hand pipeline's redeploy",
      value: `${seconds(m(f.unchangedMs))} = ${percent(unchangedShare)}; ${most(f.unchangedBuilds)} builds, ${most(f.unchangedUploads)} layers uploaded, ${most(f.unchangedUpdates)} UpdateFunctionCode`,
      baseline: `${seconds(m(f.handUnchangedMs))} (pull, build, push, update, wait)`,
      target: '≤ 5 %; 0 builds, 0 layers uploaded, 0 UpdateFunctionCode',
      note: `phases (median): ${phasesText(f.unchangedPhases)}<br>${trafficText(f.unchangedTraffic)}`,
      pass:
        unchangedShare <= 0.05 &&
        most(f.unchangedBuilds) === 0 &&
        most(f.unchangedUploads) === 0 &&
        most(f.unchangedUpdates) === 0
    },
    {
      id: at('unchanged-refresh'),
      figure: 'Unchanged scheduled refresh (rebuild: if-base-changed) vs a rebuild and redeploy',
      value: `${seconds(m(f.refreshMs))} = ${refreshSpeedup.toFixed(1)}× faster; ${most(f.refreshBuilds)} builds; ${m(f.refreshAwsRequests)} AWS + ${m(f.refreshRegistryRequests)} registry requests`,
      baseline: `${seconds(m(f.handRebuildMs))} (docker build --pull --no-cache, push, update, wait)`,
      target: '≥ 20× faster; ≤ 3 AWS and ≤ 2 registry requests',
      note: `phases (median): ${phasesText(f.refreshPhases)}<br>${trafficText(f.refreshTraffic)}`,
      pass:
        refreshSpeedup >= 20 &&
        most(f.refreshBuilds) === 0 &&
        most(f.refreshAwsRequests) <= 3 &&
        most(f.refreshRegistryRequests) <= 2
    },
    {
      id: at('changed-deploy'),
      figure:
        'Changed deploy after a one-line change on a fresh runner, default inputs (bench/fixtures/with-dependencies; build phase, share of its cold build)',
      value: `${seconds(m(f.cachedBuildMs))} = ${percent(cacheShare)} of ${seconds(m(f.depsColdBuildMs))}; whole step ${seconds(m(f.cachedMs))}`,
      baseline: '—',
      target: '≤ 40 % of the cold build',
      note: `phases (median): ${phasesText(f.cachedPhases)}<br>${trafficText(f.cachedTraffic)}`,
      pass: cacheShare <= 0.4
    },
    {
      id: at('fan-out'),
      figure: `Fan-out on a fresh runner: one unchanged image to ${fanOut} functions vs 1`,
      value: `${seconds(m(f.fanManyMs))} vs ${seconds(m(f.fanOneMs))} = ${fanRatio.toFixed(2)}×`,
      baseline: '—',
      target: '≤ 1.5×',
      pass: fanRatio <= 1.5
    }
  ]
}

/** Requests per run (medians): AWS, how many of them in sequence, registry. */
function trafficText(runs: readonly Traffic[]): string {
  const m = (pick: (t: Traffic) => number) => median(runs.map(pick))
  return `requests (median): ${m(t => t.aws)} AWS, ${m(t => t.awsInSequence)} of them in sequence; ${m(t => t.registry)} registry`
}

/** The action's own phase timings (from its job summary), medians over the runs. */
function phasesText(runs: readonly Record<string, number>[]): string {
  const names = [...new Set(runs.flatMap(phases => Object.keys(phases)))]
  return names
    .map(name => `${name} ${(median(runs.map(p => p[name] ?? 0)) * 1000).toFixed(0)} ms`)
    .join(', ')
}
