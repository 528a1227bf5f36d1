import * as core from '@actions/core'
import { spawn, spawnSync } from 'node:child_process'
import { ActionError } from '../domain/errors.js'

/**
 * Runs the docker CLI with a time-out on every command. Without one, a stalled push or a wedged
 * daemon holds the job until GitHub's six-hour limit. On time-out the child gets SIGTERM, then
 * SIGKILL; a command that is safe to repeat (a read, or a push: content-addressed) is run again.
 */

/** Inspecting, listing, creating and removing: a healthy engine answers in seconds. */
export const DOCKER_QUICK_TIMEOUT_MS = 60_000
/** A build can legitimately take long; this only ends one whose engine stopped answering. */
export const DOCKER_BUILD_TIMEOUT_MS = 2 * 3600_000
/** After SIGTERM, how long the CLI gets to cancel its request before SIGKILL. */
const KILL_GRACE_MS = 3_000

export interface DockerCommand {
  readonly args: readonly string[]
  readonly timeoutMs: number
  /** Runs of the command in all when it times out; only for commands that are safe to repeat. */
  readonly attempts?: number
  /** Added to this process's environment for the child. */
  readonly env?: Readonly<Record<string, string>>
  /** Echo `[command]docker ARGS` and stream the output to the log, as @actions/exec does. */
  readonly echo?: boolean
  /** The command line to echo instead of the arguments (with values hidden). */
  readonly shownArgs?: readonly string[]
  /** Each line of output (stdout and stderr), as it comes. */
  readonly onLine?: (line: string) => void
}

export interface DockerResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** A docker command that exited non-zero; `dockerOutput` is what docker itself printed on stderr. */
export class DockerCommandError extends ActionError {
  constructor(
    id: string,
    reason: string,
    fix: string,
    readonly dockerOutput: string
  ) {
    super(id, reason, fix)
  }
}

/** Runs `docker ARGS`; a time-out (after every attempt) is an ActionError naming the command. */
export async function runDocker(command: DockerCommand): Promise<DockerResult> {
  const attempts = Math.max(1, command.attempts ?? 1)
  for (let attempt = 1; ; attempt += 1) {
    const result = await runOnce(command)
    if (result !== 'timeout') return result
    if (attempt >= attempts) throw timeoutError(command)
    core.warning(
      `docker ${verbOf(command.args)} did not finish within ${command.timeoutMs / 1000} s and was stopped; running it again (attempt ${attempt + 1} of ${attempts}).`
    )
  }
}

function runOnce(command: DockerCommand): Promise<DockerResult | 'timeout'> {
  return new Promise((resolve, reject) => {
    if (command.echo) {
      core.info(`[command]docker ${(command.shownArgs ?? command.args).join(' ')}`)
    }
    const child = spawn('docker', [...command.args], {
      env: command.env ? { ...process.env, ...command.env } : process.env,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    const lines = { stdout: '', stderr: '' }
    const take = (stream: 'stdout' | 'stderr', chunks: Buffer[]) => (data: Buffer) => {
      chunks.push(data)
      if (command.echo) process.stdout.write(data)
      if (!command.onLine) return
      const parts = (lines[stream] + data.toString('utf8')).split(/\r?\n/)
      lines[stream] = parts.pop() ?? ''
      for (const line of parts) command.onLine(line)
    }
    child.stdout.on('data', take('stdout', stdout))
    child.stderr.on('data', take('stderr', stderr))

    let timedOut = false
    let killer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      killer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS)
    }, command.timeoutMs)

    child.on('error', error => {
      clearTimeout(timer)
      clearTimeout(killer)
      reject(
        new ActionError(
          'docker-not-found',
          `The docker CLI could not be started (${error.message}).`,
          'Run on a runner with Docker installed (GitHub’s ubuntu runners have it), with docker on PATH.'
        )
      )
    })
    // A grandchild may hold the pipes open after the CLI is gone: a stopped command is done when
    // the CLI exits, not when its output closes.
    child.on('exit', () => {
      if (!timedOut) return
      child.stdout.destroy()
      child.stderr.destroy()
    })
    child.on('close', code => {
      clearTimeout(timer)
      clearTimeout(killer)
      for (const rest of [lines.stdout, lines.stderr]) if (rest !== '') command.onLine?.(rest)
      if (timedOut) return resolve('timeout')
      resolve({
        exitCode: code ?? 128,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8')
      })
    })
  })
}

function timeoutError(command: DockerCommand): ActionError {
  const verb = verbOf(command.args)
  const seconds = command.timeoutMs / 1000
  const runs = command.attempts ?? 1
  const tries = runs > 1 ? ` in each of ${runs} attempts` : ''
  const fix =
    verb === 'push'
      ? 'The registry stopped answering or the network to it is too slow for the image: run again, and if the image is large for the link, raise push-timeout.'
      : verb === 'build'
        ? 'Check what the build waits on (a RUN step that never ends, a wedged engine: run `docker info` on the runner).'
        : 'The Docker engine stopped answering: check it with `docker info` on the runner (restart the daemon if it hangs), then run again.'
  return new ActionError(
    `docker-${verb}-timeout`,
    `docker ${command.args.slice(0, 2).join(' ')} did not finish within ${seconds} s${tries} and was stopped.`,
    fix
  )
}

/** `buildx build` → build, `image inspect` → inspect, `network create` → network. */
function verbOf(args: readonly string[]): string {
  const [first, second] = args
  if (first === 'buildx') return 'build'
  if (first === 'image' || first === 'container') return second ?? first
  return first ?? 'command'
}

/**
 * `docker ARGS`, blocking, for a signal handler: the process exits right after, so there is no
 * event loop to wait on. Its output is dropped; a failure or time-out is not an error here.
 */
export function runDockerSync(args: readonly string[], timeoutMs: number): void {
  spawnSync('docker', [...args], { stdio: 'ignore', timeout: timeoutMs, killSignal: 'SIGKILL' })
}
