import { spawn } from 'node:child_process'
import type { Readable } from 'node:stream'

/**
 * A docker command whose standard output is read as raw bytes, as it arrives. `@actions/exec`
 * splits everything a command prints into lines, even binary output: a tar stream with long
 * runs without a newline (empty or zero-padded files) was accumulated and re-scanned, 9.3 s and
 * about 400 MB for a 51 MB stream that a plain spawn reads in 1.7 s (issue 18).
 */
export interface DockerProcess {
  /** Standard output, never decoded, split or kept here: the reader decides what to keep. */
  readonly stdout: Readable
  /** Settles once the process has exited and its output is closed. */
  readonly exited: Promise<DockerExit>
  /** Ends the command early (SIGTERM), for a reader that has what it needs. */
  stop(): void
}

export interface DockerExit {
  /** The exit code; null when the process ended by a signal (stop()) or could not start. */
  readonly exitCode: number | null
  /** The end of docker's error output (or why it could not start), for messages. */
  readonly stderr: string
}

/**
 * Starts `docker ARGS`. Everything that reads an image's files starts docker through one such
 * function, so a wrapper (a time-out, a log) can be put around it in one place.
 */
export type SpawnDocker = (args: readonly string[]) => DockerProcess

/** Enough of docker's error output for a message; the rest of a long stderr is dropped. */
const KEPT_STDERR_BYTES = 4096

export const spawnDocker: SpawnDocker = args => {
  const child = spawn('docker', [...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-KEPT_STDERR_BYTES)
  })
  let failedToStart: Error | undefined
  child.on('error', error => {
    failedToStart = error
  })
  const exited = new Promise<DockerExit>(resolve => {
    child.on('close', code => {
      resolve({
        exitCode: failedToStart ? null : code,
        stderr: failedToStart ? `could not run docker: ${failedToStart.message}` : stderr.trim()
      })
    })
  })
  return {
    stdout: child.stdout,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    }
  }
}

/** Runs a docker command with a short answer (an id), collecting its output as text. */
export async function dockerText(
  spawnIt: SpawnDocker,
  args: readonly string[]
): Promise<DockerExit & { readonly stdout: string }> {
  const docker = spawnIt(args)
  const chunks: Buffer[] = []
  docker.stdout.on('data', (chunk: Buffer) => chunks.push(chunk))
  const exit = await docker.exited
  return { ...exit, stdout: Buffer.concat(chunks).toString('utf8') }
}
