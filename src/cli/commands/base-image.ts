import {
  baseImageLabels,
  findDockerfileBase,
  type DockerfileBase,
  type StageRef
} from '../../domain/dockerfile-base.js'
import { ActionError } from '../../domain/errors.js'
import type { ImageName } from '../../domain/image-name.js'
import { EXIT_OK, parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js'

const HELP = `Usage: lambda-image-deploy base-image <Dockerfile> [options]

Prints, as JSON, the external image the built stage starts from: the target stage's FROM,
followed through named stages, after ARG substitution. See docs/CLI.md for the keys.

Options:
  --build-arg KEY=VALUE  A build argument, as for docker build (repeatable). KEY alone takes
                         the value from the environment, and is ignored if it is not set there.
  --target STAGE         The stage to build (default: the last one).
  --platform OS/ARCH     The platform built for (e.g. linux/arm64); fills TARGETPLATFORM,
                         TARGETOS, TARGETARCH and TARGETVARIANT. Without it they stay symbolic
                         in --platform values and are an error in image names.
  -h, --help             Show this help.

Exit codes: 0 printed, 1 the Dockerfile cannot be analysed, 2 usage error.
`

export const baseImageCommand: CliCommand = {
  name: 'base-image',
  summary: "Print the final stage's base image of a Dockerfile as JSON.",
  help: HELP,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const options = parseOptions(args)
    if (options === 'help') {
      io.stdout(HELP)
      return EXIT_OK
    }
    const text = await readDockerfile(options.dockerfile, io)
    const base = findDockerfileBase(text, {
      target: options.target,
      platform: options.platform,
      buildArgs: buildArguments(options.buildArgs, io.env)
    })
    io.stdout(JSON.stringify(baseImageJson(options.dockerfile, base), null, 2) + '\n')
    return EXIT_OK
  }
}

interface BaseImageCommandOptions {
  readonly dockerfile: string
  readonly buildArgs: readonly string[]
  readonly target?: string
  readonly platform?: string
}

function parseOptions(args: readonly string[]): BaseImageCommandOptions | 'help' {
  const parsed = parseCommandArgs(
    args,
    {
      'build-arg': { type: 'string', multiple: true },
      target: { type: 'string' },
      platform: { type: 'string' }
    },
    {
      missing: 'give the path of the Dockerfile',
      tooMany: given => `give one Dockerfile, not ${given.length} (${given.join(' ')})`
    }
  )
  if (parsed === 'help') return 'help'
  const { values, positional } = parsed
  if (values.target === '') throw new UsageError('--target needs a stage name')
  return {
    dockerfile: positional,
    buildArgs: values['build-arg'] ?? [],
    target: values.target,
    platform: values.platform
  }
}

/** KEY=VALUE, or KEY alone taking the value from the environment, as docker build does. */
function buildArguments(
  given: readonly string[],
  env: Readonly<Record<string, string | undefined>>
): Record<string, string> {
  const buildArgs: Record<string, string> = {}
  for (const arg of given) {
    const equals = arg.indexOf('=')
    const key = equals < 0 ? arg : arg.slice(0, equals)
    if (key === '') throw new UsageError(`--build-arg "${arg}" has no name; use KEY=VALUE`)
    const value = equals < 0 ? env[key] : arg.slice(equals + 1)
    if (value !== undefined) buildArgs[key] = value
  }
  return buildArgs
}

async function readDockerfile(path: string, io: CliIo): Promise<string> {
  try {
    return await io.readTextFile(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ActionError(
      'dockerfile-unreadable',
      `Cannot read the Dockerfile "${path}"${code === undefined ? '' : ` (${code})`}.`,
      'Check the path; it is relative to the current directory.'
    )
  }
}

/** The documented output (docs/CLI.md): fixed keys, null for what does not apply. */
export function baseImageJson(dockerfile: string, base: DockerfileBase): Record<string, unknown> {
  return {
    dockerfile,
    target: stageJson(base.target),
    name: base.name,
    reference: base.reference === null ? null : referenceJson(base.reference),
    scratch: base.scratch,
    isAwsLambdaBase: base.isAwsLambdaBase,
    platform: base.platform,
    platformIsSymbolic: base.platformIsSymbolic,
    line: base.line,
    chain: base.chain.map(link => ({
      ...stageJson(link),
      line: link.line,
      from: link.from,
      platform: link.platform
    })),
    copiedFrom: base.copiedFrom.map(copy => ({
      name: copy.name,
      reference: referenceJson(copy.reference),
      stage: stageJson(copy.stage),
      line: copy.line
    })),
    labels: baseImageLabels(base)
  }
}

function stageJson(stage: StageRef): Record<string, unknown> {
  return { index: stage.index, name: stage.name }
}

function referenceJson(reference: ImageName): Record<string, unknown> {
  return {
    registry: reference.registry,
    repository: reference.repository,
    tag: reference.tag,
    digest: reference.digest,
    canonical: reference.canonical
  }
}
