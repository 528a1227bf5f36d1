import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import topology from './topology.json' with { type: 'json' }

/**
 * Runs the bundled action (dist/index.js) exactly as a GitHub runner does: inputs as INPUT_*
 * variables, outputs and summary through the files named by GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY. AWS is reached only through the SDK's standard endpoint variables.
 * Shared by the e2e tests and `npm run demo`.
 */

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface ActionRun {
  readonly exitCode: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly outputs: Record<string, string>
  readonly summary: string
  /** The runner's temp dir and HOME for this run, to look for anything left behind. */
  readonly runnerTemp: string
  readonly home: string
}

export interface RunOptions {
  readonly standInUrl: string
  /** The account whose credentials the run uses. */
  readonly account?: string
  readonly region?: string
  readonly env?: Record<string, string>
  readonly cwd?: string
  /** Called with the child process once started, e.g. to send it a signal. */
  readonly onStart?: (child: import('node:child_process').ChildProcess) => void
  /** Echo the action's output live (the demo does). */
  readonly echo?: boolean
  /** A command that runs node for the action, e.g. to start it in a namespace of its own. */
  readonly launcher?: readonly string[]
  /**
   * How long the run may take before it and every process it started are killed and runAction
   * throws with the log so far. Below jest's per-test limit, so that a hung run fails with what
   * it was doing, and leaves no build or push holding the engine for the suites after it.
   * 0: no limit, and the action stays in the caller's process group (a terminal's Ctrl-C
   * reaches it), as the demo wants.
   */
  readonly timeoutMs?: number
}

/** Longer than any deploy the suites make; jest's per-test limit (jest.config) is 300 s. */
const RUN_TIMEOUT_MS = 240_000

export function credentialsFor(account: string): { accessKeyId: string; secretAccessKey: string } {
  const found = topology.accounts.find(candidate => candidate.id === account)
  if (!found) throw new Error(`No account ${account} in stack/topology.json`)
  return { accessKeyId: found.accessKeyId, secretAccessKey: found.secretAccessKey }
}

export async function runAction(
  inputs: Record<string, string>,
  options: RunOptions
): Promise<ActionRun> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'action-run-'))
  const runnerTemp = mkdtempSync(path.join(work, 'runner-temp-'))
  const home = mkdtempSync(path.join(work, 'home-'))
  const outputFile = path.join(work, 'github-output')
  const summaryFile = path.join(work, 'step-summary')
  writeFileSync(outputFile, '')
  writeFileSync(summaryFile, '')
  const credentials = credentialsFor(options.account ?? topology.accounts[0]!.id)

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    RUNNER_TEMP: runnerTemp,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_ACTIONS: 'true',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: options.region ?? 'us-east-1',
    AWS_ENDPOINT_URL_ECR: options.standInUrl,
    AWS_ENDPOINT_URL_LAMBDA: options.standInUrl,
    AWS_ENDPOINT_URL_STS: options.standInUrl,
    AWS_ENDPOINT_URL_CLOUDWATCH: options.standInUrl,
    ...options.env
  }
  // The stack's registries use a CA made on this machine; the action's own HTTPS (registry API)
  // trusts it the way a runner trusts a corporate CA.
  if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS
  // Docker's own config (buildx plugin and builders) stays where the machine has it.
  env.DOCKER_CONFIG ??= process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
  for (const [name, value] of Object.entries(inputs)) {
    env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value
  }

  // ACTION_BUNDLE_DIR: a bundle built elsewhere (ncc build src/index.ts -o DIR), so that a branch
  // can run its e2e tests without rebuilding the committed dist/.
  const bundle = process.env.ACTION_BUNDLE_DIR ?? path.join(repoRoot, 'dist')
  const launcher = options.launcher ?? []
  const argv = [...launcher, process.execPath, path.join(bundle, 'index.js')]
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: options.cwd ?? repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // A process group of its own, so that a time-out can kill docker and anything else it started.
    detached: timeoutMs > 0
  })
  options.onStart?.(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
    if (options.echo) process.stdout.write(chunk)
  })
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
    if (options.echo) process.stderr.write(chunk)
  })
  let timedOut = false
  const killAll = () => {
    timedOut = true
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
  const timer = timeoutMs > 0 ? setTimeout(killAll, timeoutMs) : undefined
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(resolve =>
    child.on('close', (code, sig) => resolve([code, sig]))
  ).finally(() => clearTimeout(timer))
  if (timedOut) {
    throw new Error(
      `The action did not finish within ${timeoutMs / 1000} s and was killed with every process ` +
        `it started. Its log so far:\n${stdout}\n${stderr}`
    )
  }
  return {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    runnerTemp,
    home
  }
}

/** The runner's file format: `name<<DELIMITER`, value lines, `DELIMITER`. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i += 1) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i]!)
    if (!match) continue
    const [, name, delimiter] = match as unknown as [string, string, string]
    const value: string[] = []
    for (i += 1; i < lines.length && lines[i] !== delimiter; i += 1) value.push(lines[i]!)
    outputs[name] = value.join('\n')
  }
  return outputs
}

export interface CliRun {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs the bundled command-line interface (dist/cli/index.js, or ACTION_BUNDLE_DIR/cli) as a
 * workflow step runs it: the same credentials, region and AWS endpoint variables as runAction.
 */
export function runCli(
  argv: readonly string[],
  options: Pick<RunOptions, 'standInUrl' | 'account' | 'region' | 'env'>
): Promise<CliRun> {
  const credentials = credentialsFor(options.account ?? topology.accounts[0]!.id)
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: options.region ?? 'us-east-1',
    AWS_ENDPOINT_URL_ECR: options.standInUrl,
    AWS_ENDPOINT_URL_LAMBDA: options.standInUrl,
    AWS_ENDPOINT_URL_STS: options.standInUrl,
    ...options.env
  }
  const bundle = process.env.ACTION_BUNDLE_DIR ?? path.join(repoRoot, 'dist')
  return new Promise(resolve => {
    execFile(
      process.execPath,
      [path.join(bundle, 'cli', 'index.js'), ...argv],
      { cwd: repoRoot, env, timeout: RUN_TIMEOUT_MS },
      (error, stdout, stderr) => {
        const exitCode = error === null ? 0 : typeof error.code === 'number' ? error.code : -1
        resolve({ exitCode, stdout, stderr })
      }
    )
  })
}
