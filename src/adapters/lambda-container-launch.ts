import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import {
  containerEnvironment,
  lambdaContainerArguments,
  type LambdaContainerSpec,
  type SmokeTestFunction
} from '../domain/lambda-container.js'
import type { DockerEngine, InspectedImage, RunningContainer } from './docker.js'

/** One Lambda container to start against a Runtime API served on the host. */
export interface LambdaContainerLaunch {
  /** docker's `--name`: the caller removes the container by it (also on cancellation). */
  readonly name: string
  /** The image to run, as the engine inspected it: run by its id, so nothing is pulled. */
  readonly image: Pick<InspectedImage, 'id'> & LambdaContainerSpec['facts']
  readonly function: SmokeTestFunction
  /** `host:port` of the Runtime API server, on the network's gateway. */
  readonly runtimeApi: string
  /** The bridge network whose gateway serves the Runtime API. */
  readonly network: string
  /**
   * A directory only this user can read, where the env file with the variables' values is
   * written; the caller removes it when the run is over.
   */
  readonly secretDir: string
  /** Applied to each line of the container's output (the function's secret variables). */
  readonly mask?: (line: string) => string
}

/** The env file's name inside `secretDir`. */
const ENV_FILE_NAME = 'env'

/**
 * Starts the image as Lambda runs the function (read-only root, size-limited /tmp, non-root user,
 * the function's memory, Lambda's variables: src/domain/lambda-container.ts), attached, against
 * the Runtime API at `runtimeApi`. The variables' values go into an env file (mode 0600) and the
 * docker CLI's environment, never onto its command line. Used by the action's smoke test and by
 * the stand-in's Invoke, so both run an image the same way.
 */
export function launchLambdaContainer(
  docker: DockerEngine,
  launch: LambdaContainerLaunch
): RunningContainer {
  const spec: LambdaContainerSpec = {
    image: launch.image.id,
    facts: launch.image,
    function: launch.function,
    runtimeApi: launch.runtimeApi,
    network: launch.network,
    now: new Date(),
    // The log stream name ends in 32 hex digits, as Lambda's do.
    streamId: randomBytes(16).toString('hex'),
    envFile: path.join(launch.secretDir, ENV_FILE_NAME)
  }
  const environment = containerEnvironment(spec)
  writeFileSync(spec.envFile, environment.file, { mode: 0o600 })
  return docker.startContainer(launch.name, lambdaContainerArguments(spec), {
    env: environment.byName,
    mask: launch.mask
  })
}
