import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import {
  looksLikeRepositoryUri,
  isRepositoryName,
  parseFunctionReference,
  parseRepositoryUri,
  type FunctionReference,
  type RepositoryLocation
} from './domain/aws-names.js'
import { ActionError } from './domain/errors.js'
import {
  isLambdaArchitecture,
  MAX_UNCOMPRESSED_IMAGE_BYTES,
  type LambdaArchitecture
} from './domain/lambda-limits.js'
import { formatBytes } from './domain/image-checks.js'

/** The repository as the user gave it: a full URI, or a name to find in the function's account. */
export type RepositoryInput =
  | { readonly kind: 'uri'; readonly location: RepositoryLocation }
  | { readonly kind: 'name'; readonly name: string }

export interface BuildSettings {
  readonly context: string
  readonly file: string
  readonly target?: string
  readonly buildArgs: readonly string[]
  readonly labels: readonly string[]
  /** `id=value` pairs; values are secret and are handed to the builder as files. */
  readonly secrets: readonly { readonly id: string; readonly value: string }[]
  readonly cacheFrom: readonly string[]
  readonly cacheTo: readonly string[]
  readonly builder?: string
}

/** Every input, parsed and validated once, before anything happens. */
export interface ActionConfig {
  readonly function: FunctionReference
  readonly repository: RepositoryInput
  readonly tags: readonly string[]
  readonly build: BuildSettings
  /** Undefined: use the function's current architecture. */
  readonly architecture?: LambdaArchitecture
  readonly maxImageBytes: number
  readonly manageRepositoryPolicy: boolean
  readonly wait: boolean
  readonly waitTimeoutSeconds: number
  /** The region of the function: from its ARN, the aws-region input, or the environment. */
  readonly region: string
}

export type InputReader = (name: string) => string
export type Environment = Readonly<Record<string, string | undefined>>

const DEFAULT_WAIT_TIMEOUT_SECONDS = 600

/** Reads `INPUT_*` like @actions/core does, so this module stays testable without a runner. */
export function inputsFromEnvironment(env: Environment): InputReader {
  return name => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

export function parseConfig(read: InputReader, env: Environment): ActionConfig {
  const fn = parseFunctionReference(required(read, 'function-name'))
  const repository = parseRepository(required(read, 'repository'))
  const region = resolveRegion(fn, read('aws-region'), env)
  if (repository.kind === 'uri' && repository.location.region !== region) {
    throw regionMismatch(repository.location, region)
  }
  const context = parseContext(read('context'))
  return {
    function: fn,
    repository,
    tags: parseTags(read('tags'), env),
    build: {
      context,
      file: parseDockerfile(read('file'), context),
      target: optionalToken(read, 'target', /^[a-zA-Z][a-zA-Z0-9._-]*$/),
      buildArgs: parseKeyValues(read('build-args'), 'build-args'),
      labels: parseKeyValues(read('labels'), 'labels'),
      secrets: parseSecrets(read('secrets')),
      cacheFrom: parseBuilderOptions(read('cache-from'), 'cache-from'),
      cacheTo: parseBuilderOptions(read('cache-to'), 'cache-to'),
      builder: optionalToken(read, 'builder', /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/)
    },
    architecture: parseArchitecture(read('architecture')),
    maxImageBytes: parseMaxImageSize(read('max-image-size')),
    manageRepositoryPolicy: parseBoolean(read, 'manage-repository-policy', true),
    wait: parseBoolean(read, 'wait', true),
    waitTimeoutSeconds: parseDuration(read('wait-timeout'), 'wait-timeout'),
    region
  }
}

function required(read: InputReader, name: string): string {
  const value = read(name)
  if (value === '') {
    throw new ActionError(
      `missing-${name}`,
      `The ${name} input is required.`,
      `Set ${name} in the step's with: block.`
    )
  }
  return value
}

function parseRepository(value: string): RepositoryInput {
  if (looksLikeRepositoryUri(value)) return { kind: 'uri', location: parseRepositoryUri(value) }
  if (!isRepositoryName(value)) {
    throw new ActionError(
      'invalid-repository-name',
      `repository "${value}" is neither an ECR repository URI nor a repository name.`,
      'Give ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME, or a name of 2-256 lower-case letters, digits and . _ - /.'
    )
  }
  return { kind: 'name', name: value }
}

const REGION = /^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$/

function resolveRegion(fn: FunctionReference, input: string, env: Environment): string {
  const fromEnvironment = input || env.AWS_REGION || env.AWS_DEFAULT_REGION || ''
  if (fromEnvironment !== '' && !REGION.test(fromEnvironment)) {
    throw new ActionError(
      'invalid-region',
      `"${fromEnvironment}" is not an AWS region name.`,
      'Set aws-region (or AWS_REGION) to a region such as us-east-1.'
    )
  }
  if (fn.region !== undefined) {
    if (input !== '' && input !== fn.region) {
      throw new ActionError(
        'function-region-mismatch',
        `function-name is in ${fn.region} but aws-region is ${input}.`,
        'Remove aws-region or make it match the region in the function ARN.'
      )
    }
    return fn.region
  }
  if (fromEnvironment === '') {
    throw new ActionError(
      'missing-region',
      'No AWS region is known for the function.',
      'Set aws-region, give function-name as a full ARN, or run aws-actions/configure-aws-credentials with aws-region first.'
    )
  }
  return fromEnvironment
}

export function regionMismatch(
  repository: RepositoryLocation,
  functionRegion: string
): ActionError {
  return new ActionError(
    'repository-region-mismatch',
    `The repository ${repository.uri} is in ${repository.region}, but the function is in ${functionRegion}; Lambda only runs images from a repository in the function's own region.`,
    `Use (or create, and replicate to) a repository in ${functionRegion}: ${repository.account}.dkr.ecr.${functionRegion}.amazonaws.com/${repository.name}.`
  )
}

/** Docker's tag grammar (https://docs.docker.com/reference/cli/docker/image/tag/). */
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

function parseTags(value: string, env: Environment): string[] {
  const tags = splitList(value, true)
  if (tags.length === 0)
    return [env.GITHUB_SHA && TAG.test(env.GITHUB_SHA) ? env.GITHUB_SHA : 'latest']
  for (const tag of tags) {
    if (!TAG.test(tag)) {
      throw new ActionError(
        'invalid-tag',
        `tags has "${tag}", which is not a valid image tag.`,
        'A tag is 1-128 letters, digits, _ . and -, and does not start with . or -.'
      )
    }
  }
  return [...new Set(tags)]
}

function parseContext(value: string): string {
  const context = value || '.'
  rejectOptionLike(context, 'context')
  if (/^[a-z]+:\/\//.test(context) || context.startsWith('git@')) return context
  if (!existsSync(context) || !statSync(context).isDirectory()) {
    throw new ActionError(
      'context-not-found',
      `The build context "${context}" is not a directory (working directory: ${process.cwd()}).`,
      'Check the context input, and that actions/checkout ran before this step.'
    )
  }
  return context
}

function parseDockerfile(value: string, context: string): string {
  const file = value || path.join(/^[a-z]+:\/\//.test(context) ? '.' : context, 'Dockerfile')
  rejectOptionLike(file, 'file')
  if (!existsSync(file) || !statSync(file).isFile()) {
    throw new ActionError(
      'dockerfile-not-found',
      `The Dockerfile "${file}" does not exist.`,
      'Set the file input to the Dockerfile’s path (relative to the workspace), or add a Dockerfile to the build context.'
    )
  }
  return file
}

function optionalToken(read: InputReader, name: string, grammar: RegExp): string | undefined {
  const value = read(name)
  if (value === '') return undefined
  if (!grammar.test(value)) {
    throw new ActionError(
      `invalid-${name}`,
      `${name} "${value}" is not a valid ${name} name.`,
      `Use letters, digits, . _ and -, starting with a letter${name === 'builder' ? ' or digit' : ''}.`
    )
  }
  return value
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/

function parseKeyValues(value: string, input: string): string[] {
  return splitList(value, false).map(line => {
    const equals = line.indexOf('=')
    const key = equals < 0 ? line : line.slice(0, equals)
    if (equals < 0 || !KEY.test(key)) {
      throw new ActionError(
        `invalid-${input}`,
        `${input} has the line "${line.slice(0, 60)}", which is not KEY=VALUE.`,
        `Write one KEY=VALUE per line; keys are letters, digits and _ . -, starting with a letter or _.`
      )
    }
    return line
  })
}

function parseSecrets(value: string): { id: string; value: string }[] {
  return splitList(value, false).map(line => {
    const equals = line.indexOf('=')
    const id = equals < 0 ? '' : line.slice(0, equals)
    if (!KEY.test(id)) {
      throw new ActionError(
        'invalid-secrets',
        'secrets has a line that is not ID=VALUE (the line is not shown, as it may hold a secret).',
        'Write one ID=VALUE per line; the build reads it with RUN --mount=type=secret,id=ID.'
      )
    }
    return { id, value: line.slice(equals + 1) }
  })
}

function parseBuilderOptions(value: string, input: string): string[] {
  const options = splitList(value, false)
  for (const option of options) rejectOptionLike(option, input)
  return options
}

/** A value that starts with "-" would be read by docker as another option. */
function rejectOptionLike(value: string, input: string): void {
  if (value.startsWith('-')) {
    throw new ActionError(
      `invalid-${input}`,
      `${input} "${value}" starts with "-", which docker would read as an option.`,
      `Give a value, not an option (for a path that starts with "-", write ./${value}).`
    )
  }
}

function parseArchitecture(value: string): LambdaArchitecture | undefined {
  if (value === '') return undefined
  if (isLambdaArchitecture(value)) return value
  const hint =
    value === 'amd64' || value === 'x86-64'
      ? ' (Lambda calls amd64 "x86_64")'
      : value === 'aarch64'
        ? ' (Lambda calls aarch64 "arm64")'
        : ''
  throw new ActionError(
    'invalid-architecture',
    `architecture "${value}" is not a Lambda architecture${hint}.`,
    'Use x86_64 or arm64, or leave it empty to keep the function’s current architecture.'
  )
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KIB|MIB|GIB)?$/i
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30
}

function parseMaxImageSize(value: string): number {
  if (value === '') return MAX_UNCOMPRESSED_IMAGE_BYTES
  const match = SIZE.exec(value)
  const bytes = match
    ? Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? 'B').toUpperCase()]!)
    : NaN
  if (!Number.isFinite(bytes) || bytes <= 0) {
    throw new ActionError(
      'invalid-max-image-size',
      `max-image-size "${value}" is not a positive size.`,
      'Give bytes or a size with a unit, e.g. 500MB or 2GiB.'
    )
  }
  if (bytes > MAX_UNCOMPRESSED_IMAGE_BYTES) {
    throw new ActionError(
      'max-image-size-over-limit',
      `max-image-size "${value}" is above Lambda's limit of ${formatBytes(MAX_UNCOMPRESSED_IMAGE_BYTES)} uncompressed.`,
      'Lower it, or leave it empty to use the Lambda limit.'
    )
  }
  return bytes
}

function parseBoolean(read: InputReader, name: string, fallback: boolean): boolean {
  const value = read(name)
  if (value === '') return fallback
  if (/^true$/i.test(value)) return true
  if (/^false$/i.test(value)) return false
  throw new ActionError(
    `invalid-${name}`,
    `${name} is "${value}", not true or false.`,
    `Set ${name} to true or false.`
  )
}

const DURATION = /^(\d+)\s*(s|m|h)?$/i

function parseDuration(value: string, name: string): number {
  if (value === '') return DEFAULT_WAIT_TIMEOUT_SECONDS
  const match = DURATION.exec(value)
  const seconds = match
    ? Number(match[1]) *
      { s: 1, m: 60, h: 3600 }[(match[2] ?? 's').toLowerCase() as 's' | 'm' | 'h']
    : NaN
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 12 * 3600) {
    throw new ActionError(
      `invalid-${name}`,
      `${name} "${value}" is not a duration between 1 second and 12 hours.`,
      'Give seconds (600) or a duration with a unit (10m, 1h).'
    )
  }
  return seconds
}

/** Lists are one item per line; where items cannot contain commas, commas separate too. */
function splitList(value: string, commas: boolean): string[] {
  return value
    .split(commas ? /[\n,]/ : /\n/)
    .map(item => item.trim())
    .filter(item => item !== '')
}
