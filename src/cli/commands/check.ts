import { readFileSync } from 'node:fs'
import { createDockerEngine } from '../../adapters/docker.js'
import { ActionError } from '../../domain/errors.js'
import type { Finding } from '../../domain/image-checks.js'
import { checkBuiltImage } from '../../steps/check-image.js'
import {
  DEFAULT_FUNCTION_TIMEOUT_SECONDS,
  DEFAULT_MEMORY_MB,
  MAX_FUNCTION_TIMEOUT_SECONDS,
  MAX_MEMORY_MB,
  MIN_MEMORY_MB
} from '../../domain/lambda-runtime.js'
import {
  isLambdaArchitecture,
  MAX_UNCOMPRESSED_IMAGE_BYTES,
  type LambdaArchitecture
} from '../../domain/lambda-limits.js'
import { parseSmokeTestSettings } from '../../domain/smoke-test-settings.js'
import { smokeTestImage } from '../../steps/smoke-test.js'
import { EXIT_OK, parseCommandArgs, UsageError, type CliCommand, type CliIo } from '../command.js'

const HELP = `Usage: lambda-image-deploy check <IMAGE> [options]

Checks a local image (one the Docker engine has: name:tag or id) against what Lambda demands,
as the action does before it pushes: Linux, one architecture, size, the ENTRYPOINT file, task
files readable by a non-root user, a recognisable runtime interface client. With
--smoke-test it then runs the image the way Lambda runs a function (read-only root, writable
/tmp, non-root uid 993, memory limit, Lambda's variables) against a Runtime API served by this
command, sends each event and checks each response. Unlike the other commands this one uses the
Docker engine, and prints progress (and the container's output) as text, not JSON.

Options:
  --architecture ARCH     x86_64 or arm64 (default: the image's own).
  --smoke-test            Also run the image and invoke it.
  --event JSON|FILE       An event, inline JSON on one line or a JSON file (repeatable, in
                          order; default: {}).
  --expect EXPECTATION    "equals JSON", "subset JSON" (JSON inline or a file) or "any"; one for
                          every event, or one per event (repeatable).
  --timeout SECONDS       Longest an invocation may take (default 60).
  --memory MB             The function's memory size (default ${DEFAULT_MEMORY_MB}).
  --function-timeout S    The function's timeout in seconds (default ${DEFAULT_FUNCTION_TIMEOUT_SECONDS}).
  --function-name NAME    The name the runtime is told (default smoke-test).
  --region REGION         AWS_REGION for the runtime (default us-east-1).
  -h, --help              Show this help.

Exit codes: 0 passed, 1 a check or the smoke test failed, 2 usage error.
`

export const checkCommand: CliCommand = {
  name: 'check',
  summary: "Check a local image against Lambda's requirements, optionally running it.",
  help: HELP,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    const options = parseOptions(args)
    if (options === 'help') {
      io.stdout(HELP)
      return EXIT_OK
    }
    const docker = createDockerEngine()
    const image = await docker.inspectImage(options.image).catch(() => {
      throw new ActionError(
        'image-not-found',
        `The Docker engine has no image ${options.image}.`,
        'Build or pull it first, and give its name:tag or id.'
      )
    })
    const architecture = options.architecture ?? lambdaArchitectureOf(image.architecture)
    const findings: Finding[] = await checkBuiltImage(
      image,
      { architecture, maxImageBytes: MAX_UNCOMPRESSED_IMAGE_BYTES },
      docker
    )
    for (const finding of findings) {
      io.stdout(`${finding.severity}: [${finding.id}] ${finding.message} Fix: ${finding.fix}\n`)
    }
    const errors = findings.filter(finding => finding.severity === 'error')
    if (errors.length > 0) {
      throw new ActionError(
        'image-checks-failed',
        `${options.image} fails ${errors.length} of Lambda's requirements (${errors.map(e => e.id).join(', ')}).`,
        'See the findings above, each with its fix.'
      )
    }
    io.stdout(`${options.image}: passes the image checks (${architecture}).\n`)
    if (!options.smokeTest) return EXIT_OK

    const inputs: Record<string, string> = {
      'smoke-test': 'true',
      'smoke-test-events': options.events.join('\n'),
      'smoke-test-expect': options.expect.join('\n'),
      'smoke-test-timeout': options.timeout ?? ''
    }
    const settings = parseSmokeTestSettings(
      name => inputs[name] ?? '',
      file => readFileSync(file, 'utf8')
    )
    const name = options.functionName
    const report = await smokeTestImage(
      image,
      settings,
      {
        name,
        arn: `arn:aws:lambda:${options.region}:000000000000:function:${name}`,
        region: options.region,
        memoryMb: options.memoryMb,
        timeoutSeconds: options.functionTimeoutSeconds
      },
      docker
    )
    io.stdout(
      `${options.image}: passes the smoke test (init ${report.initSeconds.toFixed(2)} s, ${report.invocations.length} event(s)).\n`
    )
    return EXIT_OK
  }
}

interface CheckOptions {
  readonly image: string
  readonly architecture?: LambdaArchitecture
  readonly smokeTest: boolean
  readonly events: readonly string[]
  readonly expect: readonly string[]
  readonly timeout?: string
  readonly memoryMb: number
  readonly functionTimeoutSeconds: number
  readonly functionName: string
  readonly region: string
}

function parseOptions(args: readonly string[]): CheckOptions | 'help' {
  const parsed = parseCommandArgs(
    args,
    {
      architecture: { type: 'string' },
      'smoke-test': { type: 'boolean' },
      event: { type: 'string', multiple: true },
      expect: { type: 'string', multiple: true },
      timeout: { type: 'string' },
      memory: { type: 'string' },
      'function-timeout': { type: 'string' },
      'function-name': { type: 'string' },
      region: { type: 'string' }
    },
    { missing: 'give the image to check', tooMany: () => 'give one image to check' }
  )
  if (parsed === 'help') return 'help'
  const { values, positional } = parsed
  if (values.architecture !== undefined && !isLambdaArchitecture(values.architecture)) {
    throw new UsageError(`--architecture "${values.architecture}" is not x86_64 or arm64`)
  }
  const smokeOnly = [
    'event',
    'expect',
    'timeout',
    'memory',
    'function-timeout',
    'function-name',
    'region'
  ] as const
  const stray = smokeOnly.find(option => values[option] !== undefined)
  if (values['smoke-test'] !== true && stray !== undefined) {
    throw new UsageError(`--${stray} only applies with --smoke-test`)
  }
  return {
    image: positional,
    architecture: values.architecture,
    smokeTest: values['smoke-test'] === true,
    events: values.event ?? [],
    expect: values.expect ?? [],
    timeout: values.timeout,
    memoryMb: integer(values.memory, 'memory', DEFAULT_MEMORY_MB, MIN_MEMORY_MB, MAX_MEMORY_MB),
    functionTimeoutSeconds: integer(
      values['function-timeout'],
      'function-timeout',
      DEFAULT_FUNCTION_TIMEOUT_SECONDS,
      1,
      MAX_FUNCTION_TIMEOUT_SECONDS
    ),
    functionName: values['function-name'] ?? 'smoke-test',
    region: values.region ?? 'us-east-1'
  }
}

function integer(
  value: string | undefined,
  option: string,
  fallback: number,
  min: number,
  max: number
): number {
  if (value === undefined) return fallback
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw new UsageError(`--${option} "${value}" is not a whole number from ${min} to ${max}`)
  }
  return number
}

/** Lambda's name for a Go architecture name; other values fail the architecture check. */
function lambdaArchitectureOf(imageArchitecture: string): LambdaArchitecture {
  return imageArchitecture === 'arm64' ? 'arm64' : 'x86_64'
}
