import { spawn } from 'node:child_process'
import { openSync, readSync, closeSync, statSync } from 'node:fs'
import path from 'node:path'
import topology from '../../stack/topology.json' with { type: 'json' }

/** Processes, the registries' access logs and the bench's own docker housekeeping. */

export interface CommandResult {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}

export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}
): Promise<CommandResult> {
  const started = performance.now()
  return new Promise(resolve => {
    const child = spawn(command, [...args], {
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
      : undefined
    child.on('error', error => (stderr += String(error)))
    // A command that exits without reading its input must not crash the bench with EPIPE.
    child.stdin.on('error', () => undefined)
    child.on('close', code => {
      if (timer) clearTimeout(timer)
      resolve({ exitCode: code ?? -1, stdout, stderr, ms: performance.now() - started })
    })
    child.stdin.end(options.input ?? '')
  })
}

/** What one registry (docker-registry's access log) saw between two marks. */
export interface RegistryTraffic {
  readonly requests: number
  /** Completed blob uploads (PUT .../blobs/uploads/... 201) into the given repositories. */
  readonly blobUploads: number
}

export function registryLogPath(host: string): string {
  return path.join(topology.stateDir, 'registries', host, 'registry.log')
}

export function logMark(host: string): number {
  return statSync(registryLogPath(host), { throwIfNoEntry: false })?.size ?? 0
}

/** Access-log lines appended since `mark` that name one of `repositories` (any, if empty). */
export function registryTrafficSince(
  host: string,
  mark: number,
  repositories: readonly string[] = []
): RegistryTraffic {
  const file = registryLogPath(host)
  const size = statSync(file, { throwIfNoEntry: false })?.size ?? 0
  if (size <= mark) return { requests: 0, blobUploads: 0 }
  const buffer = Buffer.alloc(size - mark)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, buffer, 0, buffer.length, mark)
  } finally {
    closeSync(fd)
  }
  // Access lines look like: 127.0.0.1 - - [date] "PUT /v2/NAME/blobs/uploads/ID?... HTTP/1.1" 201 0 "" "USER-AGENT"
  // The stand-in's own reads (its BatchGetImage and PutImage read the registry) carry no user
  // agent; AWS serves those from ECR's own store, so they are no traffic of the run's.
  const access = buffer
    .toString('utf8')
    .split('\n')
    .filter(line => !line.endsWith(' ""'))
    .map(line => /"([A-Z]+) (\/v2\/\S*) HTTP\/[\d.]+" (\d{3})/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .filter(
      ([, , url]) =>
        repositories.length === 0 || repositories.some(repo => url!.startsWith(`/v2/${repo}/`))
    )
  return {
    requests: access.length,
    blobUploads: access.filter(
      ([, method, url, status]) =>
        method === 'PUT' && url!.includes('/blobs/uploads/') && status === '201'
    ).length
  }
}

/**
 * A cold start as a fresh runner has it: no BuildKit cache, none of the bench's images. Only the
 * build cache is pruned (never `docker system prune`), and only images the bench tagged
 * (their names carry `nameMark`) are removed: the engine is shared.
 */
export async function coldDocker(nameMark: string, prune: boolean): Promise<void> {
  // Docker 20.10's BuildKit 0.8 can panic (nil pointer in cache GetByBlob) and take dockerd down
  // when the build cache is pruned while another build pulls: prune only on an idle engine.
  if (prune) await runCommand('docker', ['builder', 'prune', '-af'])
  const images = await runCommand('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}'])
  const ours = images.stdout
    .split('\n')
    .filter(reference => reference.includes(nameMark) && !reference.endsWith(':<none>'))
  if (ours.length > 0) await runCommand('docker', ['image', 'rm', '--force', ...ours])
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
