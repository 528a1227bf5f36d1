import * as core from '@actions/core'
import { randomBytes } from 'node:crypto'
import type {
  BridgeNetwork,
  ContainerExit,
  DockerEngine,
  InspectedImage,
  RunningContainer
} from '../adapters/docker.js'
import {
  startRuntimeApi,
  type RuntimeApi,
  type RuntimeError
} from '../adapters/runtime-api-server.js'
import { runDockerSync } from '../adapters/docker-process.js'
import { launchLambdaContainer } from '../adapters/lambda-container-launch.js'
import {
  makeSecretDirectory,
  onCancellation,
  removeSecretDirectory
} from '../adapters/temporary-files.js'
import { ActionError, isActionError } from '../domain/errors.js'
import type { SmokeTestFunction } from '../domain/lambda-container.js'
import { maskSecrets, secretValues } from '../domain/secret-mask.js'
import { INIT_TIMEOUT_SECONDS } from '../domain/lambda-runtime.js'
import {
  explainSmokeTestFailure,
  findMismatch,
  type SmokeTestFailure
} from '../domain/smoke-test-outcome.js'
import type { SmokeTestSettings } from '../domain/smoke-test-settings.js'

export type { SmokeTestFunction } from '../domain/lambda-container.js'

/** What the smoke test saw, for the log and the job summary. */
export interface SmokeTestReport {
  readonly function: string
  /** From container start to the runtime's first request for an event. */
  readonly initSeconds: number
  readonly invocations: readonly SmokeTestInvocation[]
  /** Everything, network and container set-up and clean-up included. */
  readonly totalSeconds: number
}

export interface SmokeTestInvocation {
  readonly event: string
  readonly seconds: number
  /** The response, cut to 1,000 characters. */
  readonly response: string
}

/**
 * Runs the built image as Lambda would run the function (see launchLambdaContainer) against a
 * Runtime API served here, sends each event, and checks each response. Throws an ActionError
 * naming the cause (error response, init error, crash, write outside /tmp, permission denied,
 * time-out, out of memory, unexpected response) with the end of the container's output. The
 * container, its network and the server are always removed.
 */
export async function smokeTestImage(
  image: InspectedImage,
  settings: SmokeTestSettings,
  fn: SmokeTestFunction,
  docker: DockerEngine,
  /** What the run shows anyway (publishedValues): never registered as a secret. */
  published: readonly string[] = []
): Promise<SmokeTestReport> {
  // The function's variables may be secret: registered before anything can print them, and
  // masked in what the action itself writes (the summary is not masked by the runner).
  const secrets = secretValues(fn.overrides?.environment ?? {}, published)
  for (const secret of secrets) core.setSecret(secret)
  const mask = (text: string) => maskSecrets(text, secrets)
  return core.group(`Smoke test: ${fn.name} (${image.architecture})`, async () => {
    const started = performance.now()
    const name = `lambda-smoke-${process.pid}-${randomBytes(4).toString('hex')}`
    // A cancelled job exits at once; the container (its config holds the variables) and the
    // network must not outlive it. Both removals fit in the runner's 7.5 s before SIGKILL.
    const forget = onCancellation(() => {
      runDockerSync(['rm', '--force', name], CANCEL_CONTAINER_REMOVAL_MS)
      runDockerSync(['network', 'rm', name], CANCEL_NETWORK_REMOVAL_MS)
    })
    let network: BridgeNetwork | undefined
    let api: RuntimeApi | undefined
    let container: RunningContainer | undefined
    let secretDir: string | undefined
    let removed = false
    try {
      network = await docker.createNetwork(name)
      api = await serveRuntimeApi(network.gateway)
      secretDir = makeSecretDirectory('smoke-env')
      const launched = performance.now()
      container = launchLambdaContainer(docker, {
        name,
        image,
        function: fn,
        runtimeApi: api.address,
        network: network.name,
        secretDir,
        mask
      })
      const outcome = await exercise(image, api, container, settings, fn, launched, mask)
      // Removing the container first lets its last lines of output arrive.
      removed = true
      await container.remove()
      if ('failure' in outcome) {
        const error = explainSmokeTestFailure(outcome.failure, {
          memoryMb: fn.memoryMb,
          log: container.output()
        })
        // The function's error message may quote its variables too.
        throw isActionError(error)
          ? new ActionError(error.id, mask(error.reason), error.fix)
          : error
      }
      const report = { ...outcome.report, totalSeconds: secondsSince(started) }
      core.info(
        `Smoke test passed: init ${report.initSeconds.toFixed(2)} s, ${report.invocations.length} event(s), ${report.totalSeconds.toFixed(2)} s in all.`
      )
      return report
    } finally {
      if (secretDir !== undefined) removeSecretDirectory(secretDir)
      if (!removed) await container?.remove()
      await api?.close()
      await network?.remove()
      forget()
    }
  })
}

async function serveRuntimeApi(host: string): Promise<RuntimeApi> {
  try {
    return await startRuntimeApi(host)
  } catch (error) {
    throw new ActionError(
      'smoke-test-no-host-address',
      `The smoke test cannot serve the Lambda Runtime API on ${host}, the host's address on the container's docker network (${(error as Error).message}); the Docker engine is probably not on this machine.`,
      'Run the smoke test where the Docker engine is local (a Linux runner), or set smoke-test to false.'
    )
  }
}

type InitOutcome =
  | { readonly kind: 'ready' }
  | ({ readonly kind: 'init-error' } & RuntimeError)
  | ({ readonly kind: 'exited' } & ContainerExit)

type Outcome =
  | { readonly report: Omit<SmokeTestReport, 'totalSeconds'> }
  | { readonly failure: SmokeTestFailure }

async function exercise(
  image: InspectedImage,
  api: RuntimeApi,
  container: RunningContainer,
  settings: SmokeTestSettings,
  fn: SmokeTestFunction,
  launched: number,
  mask: (text: string) => string
): Promise<Outcome> {
  const exited = container.exited.then(exit => ({ kind: 'exited' as const, ...exit }))

  const slowdown = emulationSlowdown(image)
  const init = await within<InitOutcome>(INIT_TIMEOUT_SECONDS * slowdown * 1000, [
    api.initialized.then(() => ({ kind: 'ready' as const })),
    api.initError.then(error => ({ kind: 'init-error' as const, ...error })),
    exited
  ])
  if (init === undefined) {
    return { failure: { kind: 'init-timeout', seconds: INIT_TIMEOUT_SECONDS * slowdown } }
  }
  if (init.kind === 'init-error') return { failure: init }
  if (init.kind === 'exited') {
    return { failure: { kind: 'exited', exitCode: init.exitCode, outOfMemory: init.oomKilled } }
  }
  const initSeconds = secondsSince(launched)
  core.info(`The runtime is ready after ${initSeconds.toFixed(2)} s.`)

  const timeoutSeconds = Math.min(fn.timeoutSeconds, settings.timeoutSeconds) * slowdown
  const invocations: SmokeTestInvocation[] = []
  for (const event of settings.events) {
    const sent = performance.now()
    const result = await Promise.race([
      api.invoke({
        payload: event.payload,
        timeoutMs: timeoutSeconds * 1000,
        invokedFunctionArn: fn.arn
      }),
      exited
    ])
    const seconds = secondsSince(sent)
    switch (result.kind) {
      case 'exited':
        return {
          failure: {
            kind: 'exited',
            event: event.label,
            exitCode: result.exitCode,
            outOfMemory: result.oomKilled
          }
        }
      case 'timeout':
        return { failure: { kind: 'timeout', event: event.label, seconds: timeoutSeconds } }
      case 'error':
        return {
          failure: {
            kind: 'function-error',
            event: event.label,
            errorType: result.errorType,
            errorMessage: result.errorMessage
          }
        }
      case 'response': {
        const body = mask(result.body)
        const mismatch = findMismatch(event.expect, result.body)
        core.info(`${event.label}: ${(seconds * 1000).toFixed(0)} ms, response ${clip(body)}`)
        if (mismatch !== undefined) {
          return { failure: { kind: 'unexpected-response', event: event.label, mismatch } }
        }
        invocations.push({ event: event.label, seconds, response: clip(body) })
      }
    }
  }
  return { report: { function: fn.name, initSeconds, invocations } }
}

/**
 * How many times Lambda's deadlines the smoke test allows. An image of another architecture than
 * this machine's runs under emulation (QEMU), several times slower than natively (node and
 * aws-lambda-ric start about 6 times slower here), so its deadlines are stretched rather than
 * failing a function that would be in time on Lambda. The smoke test's engine is local (it serves
 * the Runtime API on the engine's network), so this process's architecture is the engine's.
 */
export function emulationSlowdown(image: Pick<InspectedImage, 'architecture'>): number {
  const native = process.arch === 'x64' ? 'amd64' : process.arch
  if (image.architecture === native) return 1
  core.warning(
    `The image is ${image.architecture} and this machine is ${native}: it runs under emulation, so the smoke test allows ${EMULATION_SLOWDOWN} times Lambda's init and invocation deadlines. Run on a ${image.architecture} runner for Lambda's own deadlines.`
  )
  return EMULATION_SLOWDOWN
}

const EMULATION_SLOWDOWN = 5

/** Within the runner's 7.5 s from SIGINT to SIGKILL: the container first, then its network. */
const CANCEL_CONTAINER_REMOVAL_MS = 4_500
const CANCEL_NETWORK_REMOVAL_MS = 2_000

/** The first of `outcomes` to settle, or undefined when none did within `ms`. */
async function within<T>(ms: number, outcomes: Promise<T>[]): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<undefined>(resolve => {
    timer = setTimeout(() => resolve(undefined), ms)
  })
  try {
    return await Promise.race([...outcomes, expired])
  } finally {
    clearTimeout(timer)
  }
}

function secondsSince(start: number): number {
  return (performance.now() - start) / 1000
}

function clip(text: string, length = 1000): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text
}
