import * as core from '@actions/core'
import { ActionError } from '../domain/errors.js'
import type { BuilderFacts, DockerFacts, ImageStore } from '../domain/docker-setup.js'
import {
  sizeNotMeasured,
  sizeWithoutMeasuring,
  type ImageFacts,
  type ImageLayer,
  type ImageSize
} from '../domain/image-checks.js'
import type { ImageFileReader } from '../domain/image-files.js'
import type { ImageTreeWalker } from '../domain/task-files.js'
import { withImageFiles } from './docker-image-files.js'
import { ImageSaveError, measureSavedImage } from './docker-image-size.js'
import {
  DOCKER_BUILD_TIMEOUT_MS,
  DOCKER_QUICK_TIMEOUT_MS,
  DockerCommandError,
  runDocker
} from './docker-process.js'

/** The docker CLI, as the steps need it. Tests of the steps can give another implementation. */
export interface DockerEngine {
  /** The engine, image store, buildx and builder that a build with `builder` would run on. */
  describe(builder: string | undefined): Promise<DockerFacts>
  /** Runs `docker ARGS`, streaming its output; env adds to the process environment. */
  run(args: readonly string[], env?: Record<string, string>): Promise<string>
  inspectImage(reference: string): Promise<InspectedImage>
  /**
   * Pushes one reference with the given DOCKER_CONFIG within `timeoutMs`; returns the digest
   * docker reports.
   */
  push(reference: string, dockerConfigDir: string, timeoutMs: number): Promise<string>
  /**
   * Lends `work` a reader of the image's files and a walker of its directory trees. The image is
   * never run: a container is created (not started) so `docker cp` can read from it, and removed
   * afterwards (src/adapters/docker-image-files.ts).
   */
  withImageFiles<T>(
    image: string,
    work: (read: ImageFileReader, walk: ImageTreeWalker) => Promise<T>
  ): Promise<T>
  /**
   * Starts `docker run --name NAME ARGS` attached, so the container's output streams into the
   * log as it comes; the container is kept after it exits until `remove()`.
   */
  startContainer(
    name: string,
    args: readonly string[],
    options?: ContainerOptions
  ): RunningContainer
  /**
   * Creates a bridge network of its own; its gateway is the host's address as containers on the
   * network reach it. `remove()` deletes it (after its containers are gone).
   */
  createNetwork(name: string): Promise<BridgeNetwork>
}

export interface BridgeNetwork {
  readonly name: string
  /** IPv4 address of the host on this network. */
  readonly gateway: string
  remove(): Promise<void>
}

export interface RunningContainer {
  /** Settles when the container has exited (or was removed) and its output is all read. */
  readonly exited: Promise<ContainerExit>
  /** The container's output so far (stdout and stderr, by line, the last 500 lines). */
  output(): readonly string[]
  /** `docker rm --force`: kills the container if it still runs; then waits for `exited`. */
  remove(): Promise<ContainerExit>
}

export interface ContainerExit {
  /** The container's exit code; 125 when docker could not run it at all. */
  readonly exitCode: number
  /** The kernel killed it for going over its memory limit. */
  readonly oomKilled: boolean
}

export interface InspectedImage extends ImageFacts {
  /** docker's image id: the config digest (classic store) or the manifest digest (containerd store). */
  readonly id: string
  /** The uncompressed layer digests, base first (RootFS.Layers). */
  readonly diffIds: readonly string[]
}

export function createDockerEngine(): DockerEngine {
  return new DockerCli()
}

class DockerCli implements DockerEngine {
  async describe(builder: string | undefined): Promise<DockerFacts> {
    const unreachable = 'The Docker engine does not answer'
    const startIt =
      "Run the step on a runner with a Docker engine (GitHub's ubuntu runners have one), or start the engine; with a docker context, check that `docker info` works in the job."
    // A named builder is looked up beside the rest; the context's own builder needs the
    // context's name first (`context inspect` without a name reads the current context).
    // Settled here, so that an engine that does not answer is reported first, as before.
    const namedBuilder =
      builder === undefined
        ? undefined
        : inspectBuilder(builder).then(
            facts => () => facts,
            (error: unknown) => () => {
              throw error
            }
          )
    const [version, driverStatus, buildx, context] = await Promise.all([
      dockerOutput(['version', '--format', '{{json .}}'], unreachable, startIt),
      dockerOutput(['info', '--format', '{{json .DriverStatus}}'], unreachable, startIt),
      runDocker({ args: ['buildx', 'version'], timeoutMs: DOCKER_QUICK_TIMEOUT_MS, attempts: 2 }),
      dockerOutput(
        ['context', 'inspect', '--format', '{{.Name}} {{.Endpoints.docker.Host}}'],
        'docker could not read its current context',
        startIt
      ),
      namedBuilder
    ])
    const [name = '', endpoint = ''] = context.trim().split(' ')
    const contextName = name || 'default'
    const builderFacts = namedBuilder ? (await namedBuilder)() : await inspectBuilder(contextName)
    const server = (JSON.parse(version) as DockerVersion).Server
    return {
      engineVersion: server?.Version ?? 'unknown',
      apiVersion: server?.ApiVersion ?? 'unknown',
      imageStore: imageStoreOf(driverStatus),
      buildxVersion:
        buildx.exitCode === 0 ? (/\bv?(\d+\.\d+\.\d+)/.exec(buildx.stdout)?.[1] ?? '') : '',
      enginePlatform: `${server?.Os ?? ''}/${server?.Arch ?? ''}`,
      kernelVersion: server?.KernelVersion ?? '',
      context: contextName,
      endpoint,
      builder: builderFacts
    }
  }

  async run(args: readonly string[], env?: Record<string, string>): Promise<string> {
    const result = await runDocker({ args, timeoutMs: DOCKER_BUILD_TIMEOUT_MS, env, echo: true })
    if (result.exitCode !== 0) {
      // Whole, so that a caller can tell one failure from another (an exec format error).
      throw new DockerCommandError(
        `docker-${args[0] === 'buildx' ? 'build' : (args[0] ?? 'command')}-failed`,
        `docker ${args.slice(0, 2).join(' ')} failed with exit code ${result.exitCode}: ${lastLines(result.stderr || result.stdout)}`,
        'Read the docker output above for the failing step; the build runs exactly as `docker buildx build` would on your machine.',
        `${result.stdout}\n${result.stderr}`
      )
    }
    return result.stdout
  }

  async inspectImage(reference: string): Promise<InspectedImage> {
    const notLoaded = `The image ${reference} is not in the local Docker engine`
    const loadIt =
      'Use a builder that loads the image into the engine (the docker driver, or a docker-container builder with --load), and check the build output above.'
    const [image] = JSON.parse(
      await dockerOutput(['image', 'inspect', reference], notLoaded, loadIt)
    ) as DockerInspect[]
    if (!image) throw new ActionError('image-not-loaded', `${notLoaded}.`, loadIt)
    const history = await dockerOutput(
      ['history', '--no-trunc', '--human=false', '--format', '{{json .}}', reference],
      notLoaded,
      loadIt
    )
    const historyLayers: ImageLayer[] = history
      .split('\n')
      .filter(line => line.trim() !== '')
      .map(line => JSON.parse(line) as DockerHistoryLine)
      .map(line => ({ sizeBytes: Number(line.Size) || 0, createdBy: line.CreatedBy ?? '' }))
      .filter(layer => layer.sizeBytes > 0)
    const { size, layers } = await measureImage(image, historyLayers)
    const config = image.Config ?? {}
    return {
      id: image.Id,
      os: image.Os ?? '',
      architecture: image.Architecture ?? '',
      variant: image.Variant,
      ...size,
      layers,
      entrypoint: config.Entrypoint ?? [],
      cmd: config.Cmd ?? [],
      workingDir: config.WorkingDir ?? '',
      env: config.Env ?? [],
      user: config.User ?? '',
      diffIds: image.RootFS?.Layers ?? []
    }
  }

  async push(reference: string, dockerConfigDir: string, timeoutMs: number): Promise<string> {
    core.info(`Pushing ${reference}`)
    const args = ['push', reference]
    const result = await runDocker({
      args,
      timeoutMs,
      env: { DOCKER_CONFIG: dockerConfigDir },
      echo: true
    })
    if (result.exitCode !== 0) {
      throw new DockerCommandError(
        'docker-push-failed',
        `docker push failed with exit code ${result.exitCode}: ${lastLines(result.stderr || result.stdout)}`,
        'Read the docker output above for the registry’s answer.',
        result.stderr
      )
    }
    const output = result.stdout
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(output)?.[1]
    if (!digest) {
      throw new ActionError(
        'docker-push-no-digest',
        `docker push ${reference} finished without printing the pushed digest ("digest: sha256:..."), so the image to deploy is unknown.`,
        'Run the real docker CLI (23.0 or later) on the runner; a wrapper that shortens its output hides the digest.'
      )
    }
    return digest
  }

  async withImageFiles<T>(
    image: string,
    work: (read: ImageFileReader, walk: ImageTreeWalker) => Promise<T>
  ): Promise<T> {
    return withImageFiles(image, work)
  }

  startContainer(
    name: string,
    args: readonly string[],
    options: ContainerOptions = {}
  ): RunningContainer {
    const lines: string[] = []
    const mask = options.mask ?? ((line: string) => line)
    // The container's output is streamed by hand, masked: it may print the function's secrets.
    const show = (raw: string) => {
      const line = mask(raw)
      lines.push(line)
      if (lines.length > KEPT_OUTPUT_LINES) lines.shift()
      process.stdout.write(`${line}\n`)
    }
    core.info(`[command]docker run --name ${name} ${redactEnvironment(args).join(' ')}`)
    // The smoke test's own deadlines end the container; this bound is for an engine that hangs.
    const exited = runDocker({
      args: ['run', '--name', name, ...args],
      timeoutMs: DOCKER_BUILD_TIMEOUT_MS,
      env: options.env,
      onLine: show
    }).then(async result => {
      const state = await runDocker({
        args: ['container', 'inspect', '--format', '{{.State.OOMKilled}}', name],
        timeoutMs: DOCKER_QUICK_TIMEOUT_MS,
        attempts: 2
      })
      return { exitCode: result.exitCode, oomKilled: state.stdout.trim() === 'true' }
    })
    return {
      exited,
      output: () => [...lines],
      remove: async () => {
        await removeContainer(name)
        return exited
      }
    }
  }

  async createNetwork(name: string): Promise<BridgeNetwork> {
    const created = await runDocker({
      args: ['network', 'create', '--driver', 'bridge', name],
      timeoutMs: DOCKER_QUICK_TIMEOUT_MS
    })
    if (created.exitCode !== 0) {
      throw new Error(`docker network create failed: ${lastLines(created.stderr)}`)
    }
    const remove = () => removeNetwork(name)
    const inspected = await runDocker({
      args: ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}', name],
      timeoutMs: DOCKER_QUICK_TIMEOUT_MS,
      attempts: 2
    })
    const gateway = inspected.stdout
      .split(/\s+/)
      .find(address => /^\d+\.\d+\.\d+\.\d+$/.test(address))
    if (!gateway) {
      await remove()
      throw new Error(`docker network ${name} has no IPv4 gateway: ${inspected.stderr.trim()}`)
    }
    return { name, gateway, remove }
  }
}

/**
 * The uncompressed size Lambda limits, and the layers by size (newest first), for inspectImage:
 * measured from `docker image save` (src/adapters/docker-image-size.ts), unless the engine's own
 * figure settles it (image-checks.ts, sizeWithoutMeasuring).
 */
async function measureImage(
  image: DockerInspect,
  historyLayers: readonly ImageLayer[]
): Promise<{ size: ImageSize; layers: ImageLayer[] }> {
  const engine = {
    // Only the containerd store has a descriptor (API 1.48+); only the classic store's graph
    // driver has layer directories.
    classicStore: !image.Descriptor && !!image.GraphDriver?.Data?.UpperDir,
    reportedBytes: image.Size ?? 0
  }
  const known = sizeWithoutMeasuring(engine)
  if (known) return { size: known, layers: [...historyLayers] }
  try {
    const saved = await measureSavedImage(image.Id, image.RootFS?.Layers ?? [])
    return {
      size: { sizeBytes: saved.layers.reduce((sum, layer) => sum + layer.uncompressedBytes, 0) },
      layers: saved.layers
        .map(layer => ({ sizeBytes: layer.uncompressedBytes, createdBy: layer.createdBy }))
        .reverse()
    }
  } catch (error) {
    if (!(error instanceof ImageSaveError)) throw error
    return { size: sizeNotMeasured(engine, error.message), layers: [...historyLayers] }
  }
}

/** How a smoke-test container is started besides its arguments. */
export interface ContainerOptions {
  /** Added to the docker CLI's environment: values that `--env NAME` passes by name. */
  readonly env?: Readonly<Record<string, string>>
  /** Applied to each line of the container's output before it is shown or kept. */
  readonly mask?: (line: string) => string
}

/** `docker rm --force`; removing is safe to repeat. */
export async function removeContainer(name: string): Promise<void> {
  await runDocker({
    args: ['rm', '--force', name],
    timeoutMs: DOCKER_QUICK_TIMEOUT_MS,
    attempts: 2
  })
}

export async function removeNetwork(name: string): Promise<void> {
  await runDocker({
    args: ['network', 'rm', name],
    timeoutMs: DOCKER_QUICK_TIMEOUT_MS,
    attempts: 2
  })
}

/** The containerd image store reports its snapshotter as the storage driver's type. */
function imageStoreOf(driverStatus: string): ImageStore {
  return driverStatus.includes('io.containerd.snapshotter') ? 'containerd' : 'classic'
}

async function inspectBuilder(name: string): Promise<BuilderFacts> {
  const inspected = await runDocker({
    args: ['buildx', 'inspect', name],
    timeoutMs: DOCKER_QUICK_TIMEOUT_MS,
    attempts: 2
  })
  if (inspected.exitCode !== 0) {
    throw new ActionError(
      'builder-not-found',
      `docker buildx has no builder named ${name} (docker buildx inspect: ${lastLines(inspected.stderr || inspected.stdout)}).`,
      'Name a builder that `docker buildx ls` lists in the builder input (docker/setup-buildx-action outputs its name), or leave the input empty to build on the engine itself.'
    )
  }
  const driver = /^Driver:\s*(\S+)/m.exec(inspected.stdout)?.[1] ?? 'unknown'
  return { name, driver, platforms: builderPlatforms(inspected.stdout) }
}

/** Every node's `Platforms:` line, merged; buildx marks platforms set by hand with `*`. */
export function builderPlatforms(inspect: string): string[] {
  const lines = [...inspect.matchAll(/^Platforms:\s*(.*)$/gm)].map(match => match[1] ?? '')
  const platforms = lines.flatMap(line => line.split(',').map(p => p.trim().replace(/\*$/, '')))
  return [...new Set(platforms.filter(platform => platform !== ''))]
}

interface DockerVersion {
  Server?: {
    Version?: string
    ApiVersion?: string
    Os?: string
    Arch?: string
    KernelVersion?: string
  } | null
}

/** Enough of a container's output for the end of an error message. */
const KEPT_OUTPUT_LINES = 500

/** `docker ARGS` without echo; a failure is an ActionError with docker's own words. */
async function dockerOutput(
  args: readonly string[],
  what: string,
  fix: string,
  attempts = 2
): Promise<string> {
  const result = await runDocker({ args, timeoutMs: DOCKER_QUICK_TIMEOUT_MS, attempts })
  if (result.exitCode !== 0) {
    throw new ActionError(
      `docker-${args[0] ?? 'command'}-failed`,
      `${what} (docker ${args.slice(0, 2).join(' ')}: ${lastLines(result.stderr || result.stdout)}).`,
      fix
    )
  }
  return result.stdout
}

/** `--env NAME=value` becomes `--env NAME=***`, for logs. */
export function redactEnvironment(args: readonly string[]): string[] {
  return args.map((arg, index) =>
    args[index - 1] === '--env' ? arg.replace(/=.*$/s, '=***') : arg
  )
}

interface DockerInspect {
  Id: string
  Os?: string
  Architecture?: string
  Variant?: string
  Size?: number
  /** The containerd store's manifest descriptor; the classic store has none. */
  Descriptor?: { digest?: string } | null
  GraphDriver?: { Name?: string; Data?: Record<string, string> | null }
  RootFS?: { Layers?: string[] | null }
  Config?: {
    Entrypoint?: string[] | null
    Cmd?: string[] | null
    WorkingDir?: string
    Env?: string[] | null
    User?: string
  }
}

interface DockerHistoryLine {
  Size?: string
  CreatedBy?: string
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-5).join('\n')
}
