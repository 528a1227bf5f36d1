import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { repoRoot, runAction } from '../../stack/run-action.js'
import { startStandIn } from '../../stack/stand-in/server.js'
import { median, runCommand } from './host-tools.js'
import { startRecordingProxy, type RecordingProxy } from './recording-proxy.js'

/**
 * Start-up: from spawning node to the first AWS request reaching the recording proxy, for the
 * bundled action and, side by side (alternating, so both see the same load), for a bare
 * `node -e "fetch(...)"`, the floor for any Node action on this machine. The action is given a
 * function that does not exist, so it stops right after its first calls; nothing else runs.
 * Used by scripts/bench.ts (its start-up row) and on its own:
 *   npx tsx scripts/bench/startup.ts [runs] [bundle-dir ...]
 * (default: 15 runs of dist/), which prints medians and the ratio to the floor per bundle.
 */

export interface StartUpSamples {
  /** Per bundle directory, spawn → first AWS request (ms), one sample per run. */
  readonly bundles: Record<string, number[]>
  /** A bare node sending one request, one sample per run. */
  readonly floorMs: number[]
}

export interface StartUpPlace {
  readonly proxy: RecordingProxy
  readonly account: string
  readonly region: string
  /** A name no function has: the run stops at its first calls. */
  readonly absentName: (run: number) => string
  /** Something else to time in the same round (the bench's hand-written baseline). */
  readonly alongside?: (absentName: string) => Promise<void>
}

export async function measureStartUp(
  place: StartUpPlace,
  runs: number,
  bundleDirs: readonly string[]
): Promise<StartUpSamples> {
  const { proxy, account, region } = place
  const bundles: Record<string, number[]> = Object.fromEntries(bundleDirs.map(dir => [dir, []]))
  const floorMs: number[] = []
  const previousBundle = process.env.ACTION_BUNDLE_DIR
  try {
    for (let run = 0; run < runs; run += 1) {
      // The floor for any Node action on this machine now: a bare node that sends one request.
      const floorSpawned = Date.now()
      await runCommand(process.execPath, [
        '-e',
        `fetch(${JSON.stringify(`${proxy.url}/start-up-floor`)}).catch(() => {})`
      ])
      const floor = proxy.since(floorSpawned).find(r => r.operation.endsWith('/start-up-floor'))
      if (floor) floorMs.push(floor.at - floorSpawned)

      for (const dir of bundleDirs) {
        // run-action.ts runs ACTION_BUNDLE_DIR/index.js.
        process.env.ACTION_BUNDLE_DIR = dir
        const missing = place.absentName(run)
        let spawnedAt = 0
        const result = await runAction(
          {
            'function-name': missing,
            repository: `${account}.dkr.ecr.${region}.amazonaws.com/${missing}`,
            context: path.join(repoRoot, 'examples', 'hello-node'),
            tags: 'v1'
          },
          {
            standInUrl: proxy.url,
            account,
            region,
            onStart: () => (spawnedAt = Date.now()),
            timeoutMs: 60_000
          }
        )
        const first = proxy.since(spawnedAt)[0]
        if (!first) {
          throw new Error(
            `${dir}: the action sent no AWS request (exit ${result.exitCode}): ` +
              `${result.stdout.slice(-500)} ${result.stderr.slice(-500)}`
          )
        }
        bundles[dir]!.push(first.at - spawnedAt)
      }
      await place.alongside?.(place.absentName(run))
    }
  } finally {
    if (previousBundle === undefined) delete process.env.ACTION_BUNDLE_DIR
    else process.env.ACTION_BUNDLE_DIR = previousBundle
  }
  return { bundles, floorMs }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const runs = Math.max(1, Number(process.argv[2] ?? 15))
  const dirs = process.argv.slice(3).map(dir => path.resolve(dir))
  const bundleDirs = dirs.length > 0 ? dirs : [path.join(repoRoot, 'dist')]
  const standIn = await startStandIn({ port: 0 })
  const proxy = await startRecordingProxy(standIn.url)
  const stamp = Date.now().toString(36)
  try {
    const samples = await measureStartUp(
      {
        proxy,
        account: '111111111111',
        region: 'us-east-1',
        absentName: run => `startup${stamp}-absent-${run}`
      },
      runs,
      bundleDirs
    )
    const floor = median(samples.floorMs)
    console.log(`node ${process.version}, ${runs} runs, load ${os.loadavg()[0]!.toFixed(2)}`)
    console.log(
      `bare node + fetch: median ${floor.toFixed(0)} ms, min ${Math.min(...samples.floorMs).toFixed(0)} ms`
    )
    for (const [dir, ms] of Object.entries(samples.bundles)) {
      const value = median(ms)
      console.log(
        `${dir}: median ${value.toFixed(0)} ms, min ${Math.min(...ms).toFixed(0)} ms, ` +
          `${(value / floor).toFixed(2)}× the bare node`
      )
    }
    console.log(JSON.stringify(samples))
  } finally {
    await proxy.close()
    await standIn.close()
  }
}
