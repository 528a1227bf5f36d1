import { spawn } from 'node:child_process'
import { mkdirSync, openSync } from 'node:fs'
import path from 'node:path'
import { repoRoot } from './run-action.js'
import topology from './topology.json' with { type: 'json' }

/**
 * Returns the URL of the long-running AWS stand-in that the demo and the self-test workflow use,
 * starting it in the background (logs and pid in the stack's state dir) when it is not running.
 * The e2e tests start their own in-process stand-in instead, on a random port.
 */
export async function ensureStandIn(): Promise<string> {
  const url = `http://${topology.standIn.host}:${topology.standIn.port}`
  if (await answers(url)) return url
  mkdirSync(topology.stateDir, { recursive: true })
  const log = openSync(path.join(topology.stateDir, 'stand-in.log'), 'a')
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'stack', 'stand-in', 'cli.ts'),
      '--port',
      String(topology.standIn.port),
      '--pid-file',
      path.join(topology.stateDir, 'stand-in.pid')
    ],
    { cwd: repoRoot, detached: true, stdio: ['ignore', log, log] }
  )
  child.unref()
  for (let attempt = 0; attempt < 100; attempt += 1) {
    if (await answers(url)) return url
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`The AWS stand-in did not start; see ${topology.stateDir}/stand-in.log`)
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/_stand-in/state`, { signal: AbortSignal.timeout(1000) })
    return response.ok
  } catch {
    return false
  }
}
