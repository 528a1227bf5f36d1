import { ActionError } from './errors.js'
import type { FunctionOverrides } from './function-overrides.js'
import type { ImageFacts } from './image-checks.js'
import {
  DEFAULT_EPHEMERAL_STORAGE_MB,
  DEFAULT_RUNTIME_DIR,
  DEFAULT_TASK_ROOT,
  LAMBDA_USER
} from './lambda-runtime.js'

/** The function an image is smoke-tested as: what Lambda would run it with. */
export interface SmokeTestFunction {
  readonly name: string
  /** The ARN the runtime is told it was invoked as. */
  readonly arn: string
  readonly region: string
  /** The function's MemorySize: the container's memory limit. */
  readonly memoryMb: number
  /** The function's Timeout; each invocation gets the shorter of it and smoke-test-timeout. */
  readonly timeoutSeconds: number
  /** EphemeralStorage.Size: the size of /tmp. Default 512 MB. */
  readonly ephemeralStorageMb?: number
  /** ImageConfig (EntryPoint, Command, WorkingDirectory) and variables the deploy sets. */
  readonly overrides?: FunctionOverrides
  /** AWS_LAMBDA_FUNCTION_VERSION: a published version number; default $LATEST. */
  readonly version?: string
}

export interface LambdaContainerSpec {
  /** The image to run: docker's image id, so nothing is pulled. */
  readonly image: string
  readonly facts: Pick<
    ImageFacts,
    'os' | 'architecture' | 'variant' | 'entrypoint' | 'cmd' | 'env' | 'workingDir'
  >
  readonly function: SmokeTestFunction
  /** `host:port` of the Runtime API the action serves. */
  readonly runtimeApi: string
  /** The docker network whose gateway serves the Runtime API. */
  readonly network: string
  /** Time of the run, for the log stream name. */
  readonly now: Date
  /** 32 hex digits, the last part of the log stream name. */
  readonly streamId: string
  /** Where the env file with the variables' values is written (see containerEnvironment). */
  readonly envFile: string
}

/**
 * How the variables reach docker without their values on its command line, where every user of
 * the machine can read them (/proc/PID/cmdline) for the whole test.
 */
export interface ContainerEnvironment {
  /** The env file's text: `NAME=value` lines, docker's --env-file format. */
  readonly file: string
  /**
   * Variables docker's env file cannot carry (a value with a line break): passed as `--env NAME`,
   * their values in the docker CLI's own environment.
   */
  readonly byName: Readonly<Record<string, string>>
}

/**
 * `docker run` arguments (after `--name`) that run an image the way Lambda runs a function: read-only
 * root file system with a size-limited writable /tmp, a non-root user without capabilities, the
 * function's memory as a hard limit (no swap), Lambda's environment variables (from the env file,
 * never as values on the command line), and the function's ImageConfig overrides. No port is
 * published: the runtime calls out to the Runtime API.
 */
export function lambdaContainerArguments(spec: LambdaContainerSpec): string[] {
  const { facts, function: fn } = spec
  const overrides = fn.overrides ?? {}
  const entrypoint = overrides.entryPoint ?? facts.entrypoint
  // docker drops the image's CMD when --entrypoint is given, so the command is always passed.
  const command = overrides.command ?? facts.cmd
  const tmpMb = fn.ephemeralStorageMb ?? DEFAULT_EPHEMERAL_STORAGE_MB
  const platform = [facts.os, facts.architecture, facts.variant].filter(Boolean).join('/')

  const args = [
    '--pull=never',
    `--platform=${platform}`,
    `--network=${spec.network}`,
    '--read-only',
    // Lambda's /tmp allows running programs from it, so no noexec.
    `--tmpfs=/tmp:rw,exec,nosuid,nodev,size=${tmpMb}m,mode=1777`,
    `--user=${LAMBDA_USER.uid}:${LAMBDA_USER.gid}`,
    '--cap-drop=ALL',
    '--security-opt=no-new-privileges',
    `--memory=${fn.memoryMb}m`,
    `--memory-swap=${fn.memoryMb}m`,
    // Lambda's file descriptor quota.
    '--ulimit=nofile=1024:1024'
  ]
  args.push(`--env-file=${spec.envFile}`)
  for (const name of Object.keys(containerEnvironment(spec).byName)) args.push('--env', name)
  if (overrides.workingDirectory !== undefined) {
    args.push(`--workdir=${overrides.workingDirectory}`)
  }
  if (overrides.entryPoint !== undefined || entrypoint.length > 0) {
    args.push(`--entrypoint=${entrypoint[0] ?? ''}`)
  }
  args.push(spec.image, ...entrypoint.slice(1), ...command)
  return args
}

/**
 * The variables Lambda defines for a function ("Defined runtime environment variables"), after the
 * function's own. Never AWS credentials: the smoke test runs without any.
 */
export function lambdaEnvironment(
  spec: LambdaContainerSpec,
  command: readonly string[]
): Record<string, string> {
  const { function: fn } = spec
  const fromImage = new Map(
    spec.facts.env.map(entry => {
      const equals = entry.indexOf('=')
      return [
        equals < 0 ? entry : entry.slice(0, equals),
        equals < 0 ? '' : entry.slice(equals + 1)
      ]
    })
  )
  const version = fn.version ?? '$LATEST'
  const day = spec.now.toISOString().slice(0, 10).replace(/-/g, '/')
  const environment: Record<string, string> = {
    ...fn.overrides?.environment,
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: version,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[${version}]${spec.streamId}`,
    AWS_REGION: fn.region,
    AWS_DEFAULT_REGION: fn.region,
    LAMBDA_TASK_ROOT: fromImage.get('LAMBDA_TASK_ROOT') || DEFAULT_TASK_ROOT,
    LAMBDA_RUNTIME_DIR: fromImage.get('LAMBDA_RUNTIME_DIR') || DEFAULT_RUNTIME_DIR,
    TZ: ':UTC',
    AWS_LAMBDA_RUNTIME_API: spec.runtimeApi
  }
  // The handler is the command's first word, as the AWS base images' entrypoint reads it.
  if (command[0] !== undefined) environment._HANDLER = command[0]
  return environment
}

/**
 * The container's variables, split into the env file and those passed by name. docker reads the
 * env file line by line, taking everything after the first `=` as the value, so only a line
 * break cannot go there. A variable passed by name is read from the docker CLI's environment,
 * where a name the CLI itself reads would change what docker does (or where it connects).
 */
export function containerEnvironment(spec: LambdaContainerSpec): ContainerEnvironment {
  const overrides = spec.function.overrides ?? {}
  const command = overrides.command ?? spec.facts.cmd
  const lines: string[] = []
  const byName: Record<string, string> = {}
  for (const [name, value] of Object.entries(lambdaEnvironment(spec, command))) {
    if (!/[\r\n]/.test(value)) {
      lines.push(`${name}=${value}`)
      continue
    }
    if (DOCKER_CLI_VARIABLE.test(name)) {
      throw new ActionError(
        'smoke-test-variable-not-passable',
        `The function's variable ${name} has a line break in its value, which docker's env file cannot hold, and passing it by name would also set it for the docker CLI, which reads ${name} itself.`,
        `Keep line breaks out of ${name} (encode the value, e.g. base64), rename the variable, or set smoke-test: false.`
      )
    }
    byName[name] = value
  }
  return { file: lines.length > 0 ? `${lines.join('\n')}\n` : '', byName }
}

/** Variables the docker CLI reads from its own environment (docker's CLI reference, proxies). */
const DOCKER_CLI_VARIABLE = /^(DOCKER_.*|.*_PROXY|PATH|HOME|TMPDIR)$/i
