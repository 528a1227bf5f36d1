import { parseVerifySettings, type VerifySettings } from './domain/verify-settings.js'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import {
  looksLikeRepositoryUri,
  isRepositoryName,
  parseFunctionReference,
  parseImageReference,
  parseRepositoryUri,
  type FunctionReference,
  type ImageReference,
  type RepositoryLocation
} from './domain/aws-names.js'
import { ActionError } from './domain/errors.js'
import type { RegistryCacheMode } from './domain/docker-setup.js'
import {
  parseFunctionCreation,
  parseRepositoryCreation,
  type FunctionCreation,
  type RepositoryCreation
} from './domain/create-missing.js'
import { parseFunctionOverrides, type OverridesByFunction } from './domain/function-overrides.js'
import {
  isLambdaArchitecture,
  MAX_UNCOMPRESSED_IMAGE_BYTES,
  type LambdaArchitecture
} from './domain/lambda-limits.js'
import { formatBytes } from './domain/image-checks.js'
import { REBUILD_MODES, type RebuildMode } from './domain/refresh-decision.js'
import { parseRolloutPlan, type RolloutPlan } from './domain/rollout-plan.js'
import { parseSmokeTestSettings, type SmokeTestSettings } from './domain/smoke-test-settings.js'

/**
 * Where the image goes: one URI per region (each function uses the one in its region), and/or
 * one name, looked up in the caller's account in each region that has no URI.
 */
export interface RepositoryInputs {
  readonly byRegion: ReadonlyMap<string, RepositoryLocation>
  readonly name?: string
  /**
   * repository was left empty (and image is not set): each region's functions name the
   * repository they already run their image from.
   */
  readonly fromFunctions?: boolean
}

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
  /**
   * Cache to and from the function's repository when cache-from and cache-to are both empty:
   * min (registry-cache: true) caches only the final image's layers, max every stage's.
   */
  readonly registryCache: RegistryCacheMode
  readonly builder?: string
}

export interface AliasSettings {
  readonly name: string
  /** Canary: the share of traffic (0 < w < 1) the new version gets; the rest stays put. */
  readonly routingWeight?: number
}

/** A gradual move of the alias to the new version, watched by CloudWatch alarms. */
export interface RolloutSettings {
  readonly plan: RolloutPlan
  /** Alarms whose ALARM state rolls the alias back (DescribeAlarms), in the order given. */
  readonly alarms: readonly string[]
  /**
   * What an alarm that stayed INSUFFICIENT_DATA for the whole rollout (it watched nothing)
   * does: fail rolls the alias back and fails the step, warn lets the rollout finish.
   */
  readonly insufficientData: InsufficientDataPolicy
}

export const INSUFFICIENT_DATA_POLICIES = ['fail', 'warn'] as const
export type InsufficientDataPolicy = (typeof INSUFFICIENT_DATA_POLICIES)[number]

/** A function to update, with the region it is in (from its ARN or the default region). */
export interface FunctionTarget {
  readonly reference: FunctionReference
  readonly region: string
  /** As the user wrote it, to match function-config entries and to name it in messages. */
  readonly given: string
}

/** Every input, parsed and validated once, before anything happens. */
export interface ActionConfig {
  readonly functions: readonly FunctionTarget[]
  readonly repositories: RepositoryInputs
  /** Deploy-only: an image that exists already; no build. */
  readonly image?: ImageReference
  readonly tags: readonly string[]
  /** Undefined in deploy-only runs. */
  readonly build?: BuildSettings
  /** Undefined: use the functions' current architecture. */
  readonly architecture?: LambdaArchitecture
  readonly maxImageBytes: number
  readonly manageRepositoryPolicy: boolean
  readonly wait: boolean
  readonly waitTimeoutSeconds: number
  /** One docker push attempt's time-out. */
  readonly pushTimeoutSeconds: number
  /** The default region: aws-region, or the environment; functions given by ARN carry their own. */
  readonly region?: string
  readonly overrides: OverridesByFunction
  readonly publish: boolean
  readonly alias?: AliasSettings
  /** Undefined: the alias moves at once (or by alias-routing-weight). */
  readonly rollout?: RolloutSettings
  readonly dryRun: boolean
  /** Role name (or ARN with ACCOUNT in it) to assume for functions in other accounts. */
  readonly crossAccountRole?: string
  readonly maxConcurrency: number
  readonly revision?: string
  /**
   * if-inputs-changed: build unless the repository holds an image of the same inputs; always:
   * build every run; if-base-changed: only when the deployed image's base moved.
   */
  readonly rebuild: RebuildMode
  readonly smokeTest: SmokeTestSettings
  /** Finding ids to report as notices instead of failing or warning. */
  readonly ignoreFindings: readonly string[]
  readonly warningsAsErrors: boolean
  /** A tag moved to the deployed image after each deploy, out of lifecycle rules' reach. */
  readonly deployedTag?: string
  /** create-function-role and its settings: create a function function-name names that is missing. */
  readonly createFunction?: FunctionCreation
  /** create-repository: create a missing repository in the workflow's own account. */
  readonly createRepository?: RepositoryCreation
  /** One real invocation of each deployed function after the deploy; undefined: none. */
  readonly verify?: VerifySettings
}

export type InputReader = (name: string) => string
export type Environment = Readonly<Record<string, string | undefined>>

const DEFAULT_WAIT_TIMEOUT_SECONDS = 600
/** Long enough for a 10 GB image over a slow link; what it stops is a push that stalls. */
const DEFAULT_PUSH_TIMEOUT_SECONDS = 3600
const DEFAULT_CONCURRENCY = 20

/** Reads `INPUT_*` like @actions/core does, so this module stays testable without a runner. */
export function inputsFromEnvironment(env: Environment): InputReader {
  return name => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim()
}

export function parseConfig(read: InputReader, env: Environment): ActionConfig {
  refuseForeignInputs(read, env)
  const region = parseDefaultRegion(read('aws-region'), env)
  const functions = parseFunctions(required(read, 'function-name'), read('aws-region'), region)
  const image = read('image') === '' ? undefined : parseImageReference(read('image'))
  const repositories = parseRepositories(read('repository'), image)
  for (const target of functions) {
    if (repositories.fromFunctions) continue
    if (repositories.name === undefined && !repositories.byRegion.has(target.region)) {
      const other = [...repositories.byRegion.values()][0]!
      throw regionMismatch(other, target.region)
    }
  }
  const overrides = parseFunctionOverrides(read('function-config'))
  for (const key of overrides.keys()) {
    if (key !== '*' && !functions.some(target => namesOf(target).includes(key))) {
      throw new ActionError(
        'function-config-unknown-function',
        `function-config has settings for "${key}", which is not in function-name.`,
        'Key each entry by a function exactly as written in function-name (or by "*" for all).'
      )
    }
  }
  const alias = parseAlias(read('alias'), read('alias-routing-weight'))
  // An alias points at a published version, so alias implies publish: asking for both would
  // only add a way to get it wrong (and a workflow cannot tell an explicit publish: false from
  // the default).
  const publish = parseBoolean(read, 'publish', false) || alias !== undefined
  const verify = parseVerifySettings(read, file => readFileSync(file, 'utf8'))
  const rollout = parseRollout(read, alias, verify !== undefined)
  return {
    functions,
    repositories,
    image,
    tags: parseTags(read('tags'), env),
    build: image ? undefined : parseBuild(read),
    architecture: parseArchitecture(read('architecture')),
    maxImageBytes: parseMaxImageSize(read('max-image-size')),
    manageRepositoryPolicy: parseBoolean(read, 'manage-repository-policy', true),
    wait: parseBoolean(read, 'wait', true),
    waitTimeoutSeconds: parseDuration(read('wait-timeout'), 'wait-timeout'),
    pushTimeoutSeconds:
      read('push-timeout') === ''
        ? DEFAULT_PUSH_TIMEOUT_SECONDS
        : parseDuration(read('push-timeout'), 'push-timeout'),
    region,
    overrides,
    publish,
    alias,
    rollout,
    dryRun: parseBoolean(read, 'dry-run', false),
    crossAccountRole: parseRole(read('cross-account-role')),
    maxConcurrency: parseCount(read('max-concurrency'), 'max-concurrency', DEFAULT_CONCURRENCY),
    rebuild: parseRebuild(read('rebuild'), image),
    smokeTest: parseSmokeTestSettings(read, file => readFileSync(file, 'utf8')),
    ignoreFindings: parseFindingIds(read('ignore-findings')),
    warningsAsErrors: parseBoolean(read, 'warnings-as-errors', false),
    deployedTag: parseDeployedTag(read('deployed-tag')),
    createFunction: parseFunctionCreation(read),
    createRepository: parseRepositoryCreation(read),
    verify,
    revision: env.GITHUB_SHA && /^[0-9a-f]{7,64}$/.test(env.GITHUB_SHA) ? env.GITHUB_SHA : undefined
  }
}

/** The names a function can be keyed by in function-config. */
export function namesOf(target: FunctionTarget): string[] {
  return [target.given, target.reference.name, target.reference.apiName]
}

function parseBuild(read: InputReader): BuildSettings {
  const context = parseContext(read('context'))
  return {
    context,
    file: parseDockerfile(read('file'), context),
    target: optionalToken(read, 'target', /^[a-zA-Z][a-zA-Z0-9._-]*$/),
    buildArgs: parseKeyValues(read('build-args'), 'build-args'),
    labels: parseKeyValues(read('labels'), 'labels'),
    secrets: parseSecrets(read('secrets')),
    cacheFrom: parseBuilderOptions(read('cache-from'), 'cache-from'),
    cacheTo: parseBuilderOptions(read('cache-to'), 'cache-to'),
    registryCache: parseRegistryCache(read('registry-cache')),
    builder: optionalToken(read, 'builder', /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/)
  }
}

function parseFunctions(
  value: string,
  regionInput: string,
  defaultRegion: string | undefined
): FunctionTarget[] {
  const targets: FunctionTarget[] = []
  for (const given of splitList(value, true)) {
    const reference = parseFunctionReference(given)
    if (reference.region !== undefined) {
      if (
        regionInput !== '' &&
        regionInput !== reference.region &&
        splitList(value, true).length === 1
      ) {
        throw new ActionError(
          'function-region-mismatch',
          `function-name is in ${reference.region} but aws-region is ${regionInput}.`,
          'Remove aws-region or make it match the region in the function ARN.'
        )
      }
    } else if (defaultRegion === undefined) {
      throw new ActionError(
        'missing-region',
        `No AWS region is known for the function ${given}.`,
        'Set aws-region, give function-name as a full ARN, or run aws-actions/configure-aws-credentials with aws-region first.'
      )
    }
    const region = reference.region ?? defaultRegion!
    const key = `${reference.account ?? ''}:${region}:${reference.name}`
    if (targets.some(t => `${t.reference.account ?? ''}:${t.region}:${t.reference.name}` === key)) {
      throw new ActionError(
        'duplicate-function',
        `function-name lists ${given} twice.`,
        'List each function once.'
      )
    }
    targets.push({ reference, region, given })
  }
  return targets
}

/**
 * Inputs of neighbouring actions that users carry over, with this action's name for the same
 * thing. The runner only warns about an input action.yml does not declare and still passes it
 * (INPUT_IMAGE-URI; INPUT_IMAGE_URI from tools that replace the hyphen), so without this check
 * `image-uri:` from aws-actions/aws-lambda-deploy would silently build `.` instead of deploying
 * the image. Refused, not accepted: image-uri is this action's output, and one name per input
 * keeps workflows readable.
 */
export const FOREIGN_INPUTS: Readonly<
  Record<string, { readonly use: string; readonly from: string }>
> = {
  'image-uri': { use: 'image', from: 'aws-actions/aws-lambda-deploy' },
  platforms: { use: 'architecture', from: 'docker/build-push-action' }
}

function refuseForeignInputs(read: InputReader, env: Environment): void {
  for (const [name, { use, from }] of Object.entries(FOREIGN_INPUTS)) {
    const given = read(name) || (env[`INPUT_${name.replace(/-/g, '_').toUpperCase()}`] ?? '').trim()
    if (given === '') continue
    throw new ActionError(
      'unknown-input',
      `${name} is not an input of this action (it is ${from}'s name); the run would otherwise ignore it.`,
      `Rename ${name} to ${use} (${use}: ${given}).`
    )
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

function parseRepositories(value: string, image: ImageReference | undefined): RepositoryInputs {
  const byRegion = new Map<string, RepositoryLocation>()
  let name: string | undefined
  const items = splitList(value, true)
  // Checked once the functions are known: they must all run an image from one repository.
  if (items.length === 0 && !image) return { byRegion, fromFunctions: true }
  for (const item of items) {
    const parsed = parseRepository(item)
    if (parsed.kind === 'name') {
      if (name !== undefined && name !== parsed.name) {
        throw new ActionError(
          'ambiguous-repository',
          `repository lists two names, "${name}" and "${parsed.name}".`,
          'Give one name (looked up in every region), or one URI per region.'
        )
      }
      name = parsed.name
      continue
    }
    const existing = byRegion.get(parsed.location.region)
    if (existing && existing.uri !== parsed.location.uri) {
      throw new ActionError(
        'ambiguous-repository',
        `repository lists two repositories in ${parsed.location.region}: ${existing.uri} and ${parsed.location.uri}.`,
        'Give at most one repository per region.'
      )
    }
    byRegion.set(parsed.location.region, parsed.location)
  }
  if (image) {
    const given = [...byRegion.values()]
    if (name !== undefined || given.some(location => location.uri !== image.repository.uri)) {
      throw new ActionError(
        'image-repository-mismatch',
        `image is in ${image.repository.uri}, which is not the repository input (${items.join(', ')}).`,
        'Leave repository empty when image is set, or make them name the same repository.'
      )
    }
    byRegion.set(image.repository.region, image.repository)
  }
  return { byRegion, name }
}

function parseRepository(
  value: string
):
  | { readonly kind: 'uri'; readonly location: RepositoryLocation }
  | { readonly kind: 'name'; readonly name: string } {
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

function parseDefaultRegion(input: string, env: Environment): string | undefined {
  const region = input || env.AWS_REGION || env.AWS_DEFAULT_REGION || ''
  if (region === '') return undefined
  if (!REGION.test(region)) {
    throw new ActionError(
      'invalid-region',
      `"${region}" is not an AWS region name.`,
      'Set aws-region (or AWS_REGION) to a region such as us-east-1.'
    )
  }
  return region
}

export function regionMismatch(
  repository: RepositoryLocation,
  functionRegion: string
): ActionError {
  return new ActionError(
    'repository-region-mismatch',
    `The repository ${repository.uri} is in ${repository.region}, but the function is in ${functionRegion}; Lambda only runs images from a repository in the function's own region.`,
    `Use (or create, and replicate to) a repository in ${functionRegion}: ${repository.account}.dkr.ecr.${functionRegion}.amazonaws.com/${repository.name}, and list it in repository.`
  )
}

// https://docs.aws.amazon.com/lambda/latest/api/API_CreateAlias.html#lambda-CreateAlias-request-Name
const ALIAS = /^(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}$/

function parseAlias(name: string, weight: string): AliasSettings | undefined {
  if (name === '') {
    if (weight !== '') {
      throw new ActionError(
        'alias-routing-weight-without-alias',
        'alias-routing-weight is set but alias is not.',
        'Set alias to the alias whose traffic the new version should share.'
      )
    }
    return undefined
  }
  if (!ALIAS.test(name) || name === '$LATEST') {
    throw new ActionError(
      'invalid-alias',
      `alias "${name}" is not a valid alias name.`,
      'Use 1-128 letters, digits, - and _, not only digits (those are version numbers).'
    )
  }
  if (weight === '') return { name }
  const routingWeight = Number(weight)
  if (!/^\d*\.?\d+$/.test(weight) || !(routingWeight > 0 && routingWeight < 1)) {
    throw new ActionError(
      'invalid-alias-routing-weight',
      `alias-routing-weight "${weight}" is not a number between 0 and 1 (exclusive).`,
      'Give the share of traffic for the new version, e.g. 0.1 for 10%; leave it empty to move the alias outright.'
    )
  }
  return { name, routingWeight }
}

// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html:
// AlarmNames holds at most 100 names of 1-255 characters.
const MAX_ROLLOUT_ALARMS = 100
const MAX_ALARM_NAME_LENGTH = 255

function parseRollout(
  read: InputReader,
  alias: AliasSettings | undefined,
  /** verify-event is set: the new version is invoked before the first weight and can stop it. */
  verified: boolean
): RolloutSettings | undefined {
  const planText = read('rollout')
  const plan = parseRolloutPlan(planText)
  const alarms = splitList(read('rollout-alarms'), true)
  const unwatched = parseBoolean(read, 'rollout-unwatched', false)
  const insufficientData = parseInsufficientDataPolicy(read('rollout-insufficient-data'))
  // Only a choice away from the default (action.yml gives the defaults) is out of place.
  const acceptsNoData = insufficientData === 'warn'
  if (!plan) {
    if (alarms.length > 0) {
      throw new ActionError(
        'rollout-alarms-without-rollout',
        'rollout-alarms is set but rollout is not; alarms are watched only during a rollout.',
        'Set rollout (e.g. "canary 10% 5m"), or remove rollout-alarms.'
      )
    }
    if (unwatched || acceptsNoData) {
      throw new ActionError(
        'rollout-option-without-rollout',
        `${unwatched ? 'rollout-unwatched' : 'rollout-insufficient-data'} is set but rollout is not; it applies only to a rollout.`,
        'Set rollout (e.g. "canary 10% 5m"), or remove it.'
      )
    }
    return undefined
  }
  if (!alias) {
    throw new ActionError(
      'rollout-needs-alias',
      `rollout "${planText}" is set but alias is not; the rollout moves an alias's traffic between published versions.`,
      'Set alias to the alias your callers invoke (e.g. live); it publishes the new version.'
    )
  }
  if (alias.routingWeight !== undefined) {
    throw new ActionError(
      'rollout-conflicts-with-routing-weight',
      'rollout and alias-routing-weight are both set; both decide how much traffic the new version gets.',
      'Use rollout for a watched, step-by-step move to 100%, or alias-routing-weight to leave a fixed split; not both.'
    )
  }
  if (alarms.length > MAX_ROLLOUT_ALARMS) {
    throw new ActionError(
      'too-many-rollout-alarms',
      `rollout-alarms names ${alarms.length} alarms; CloudWatch's DescribeAlarms reads at most ${MAX_ROLLOUT_ALARMS} by name.`,
      'Combine them into a composite alarm and name that one.'
    )
  }
  const tooLong = alarms.find(name => name.length > MAX_ALARM_NAME_LENGTH)
  if (tooLong !== undefined) {
    throw new ActionError(
      'invalid-rollout-alarm',
      `rollout-alarms: "${tooLong.slice(0, 40)}…" is longer than the ${MAX_ALARM_NAME_LENGTH} characters of an alarm name.`,
      'Give alarm names, one per line or comma-separated.'
    )
  }
  // A rollout that nothing watches can never roll back: its steps only delay the full switch,
  // while it looks as safe as a watched one. That takes an explicit opt-in.
  if (alarms.length === 0 && !verified && !unwatched) {
    throw new ActionError(
      'rollout-unwatched',
      `rollout "${planText}" has nothing to watch: neither rollout-alarms nor verify-event is set, so no step could roll the alias back.`,
      'Name the CloudWatch alarms that should stop it in rollout-alarms, and/or set verify-event to invoke the new version before the first weight. To shift traffic step by step with no check at all, set rollout-unwatched: true.'
    )
  }
  if (acceptsNoData && alarms.length === 0) {
    throw new ActionError(
      'rollout-insufficient-data-without-alarms',
      'rollout-insufficient-data is warn but rollout-alarms is not set; it says what an alarm without data does.',
      'Set rollout-alarms, or remove rollout-insufficient-data.'
    )
  }
  return { plan, alarms: [...new Set(alarms)], insufficientData }
}

function parseInsufficientDataPolicy(value: string): InsufficientDataPolicy {
  const policy = value === '' ? 'fail' : value.toLowerCase()
  if ((INSUFFICIENT_DATA_POLICIES as readonly string[]).includes(policy)) {
    return policy as InsufficientDataPolicy
  }
  throw new ActionError(
    'invalid-rollout-insufficient-data',
    `rollout-insufficient-data is "${value}", not ${INSUFFICIENT_DATA_POLICIES.join(' or ')}.`,
    'Set fail (the default: an alarm that had no data for the whole rollout rolls it back) or warn (a warning, and the rollout completes).'
  )
}

const ROLE_NAME = /^[\w+=,.@-]{1,64}$/
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}|ACCOUNT):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/

function parseRole(value: string): string | undefined {
  if (value === '') return undefined
  if (!ROLE_NAME.test(value) && !ROLE_ARN.test(value)) {
    throw new ActionError(
      'invalid-cross-account-role',
      `cross-account-role "${value}" is neither a role name nor a role ARN.`,
      'Give the name of a role that exists in each workload account (e.g. lambda-deployer), or arn:aws:iam::ACCOUNT:role/NAME with the literal word ACCOUNT.'
    )
  }
  return value
}

function parseCount(value: string, name: string, fallback: number): number {
  if (value === '') return fallback
  const count = Number(value)
  if (!/^\d+$/.test(value) || count < 1 || count > 50) {
    throw new ActionError(
      `invalid-${name}`,
      `${name} "${value}" is not a whole number from 1 to 50.`,
      `Give a number such as ${fallback}.`
    )
  }
  return count
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

/** deployed-tag: one image tag, which the run moves (the tags input only adds). */
function parseDeployedTag(value: string): string | undefined {
  const tag = value.trim()
  if (tag === '') return undefined
  if (!TAG.test(tag)) {
    throw new ActionError(
      'invalid-deployed-tag',
      `deployed-tag is "${tag}", which is not a valid image tag.`,
      'Give one tag: 1-128 letters, digits, _ . and -, not starting with . or - (e.g. deployed-my-function).'
    )
  }
  return tag
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

/**
 * Docker's platform vocabulary (docker/build-push-action's platforms, docker build --platform)
 * for the two architectures Lambda runs, with and without the linux/ prefix. arm64's only
 * variant is v8 (https://github.com/containerd/platforms: normalize), so linux/arm64/v8 is arm64.
 */
const ARCHITECTURE_SPELLINGS: Readonly<Record<string, LambdaArchitecture>> = {
  'linux/amd64': 'x86_64',
  'linux/x86_64': 'x86_64',
  'linux/arm64': 'arm64',
  'linux/arm64/v8': 'arm64'
}

function parseArchitecture(value: string): LambdaArchitecture | undefined {
  if (value === '') return undefined
  if (isLambdaArchitecture(value)) return value
  const spelled = ARCHITECTURE_SPELLINGS[value.toLowerCase()]
  if (spelled !== undefined) return spelled
  const hint = /[,\n]/.test(value)
    ? ' (one function runs one architecture; deploy each architecture in a step of its own)'
    : value === 'amd64' || value === 'x86-64'
      ? ' (Lambda calls amd64 "x86_64")'
      : value === 'aarch64'
        ? ' (Lambda calls aarch64 "arm64")'
        : ''
  throw new ActionError(
    'invalid-architecture',
    `architecture "${value}" is not a Lambda architecture${hint}.`,
    'Use x86_64 or arm64 (linux/amd64 and linux/arm64 are understood too), or leave it empty to keep the function’s current architecture.'
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

/**
 * registry-cache: true (the default) and min cache only what the final image publishes anyway;
 * max also the build stages, an explicit choice because their layers become readable by
 * everyone who may pull from the repository; false none.
 */
function parseRegistryCache(value: string): RegistryCacheMode {
  if (value === '' || /^(true|min)$/i.test(value)) return 'min'
  if (/^max$/i.test(value)) return 'max'
  if (/^false$/i.test(value)) return 'off'
  throw new ActionError(
    'invalid-registry-cache',
    `registry-cache is "${value}", not one of true, min, max or false.`,
    "Set registry-cache to true (the default, the same as min: only the final image's layers), max (every build stage's layers too, readable by everyone who may pull from the repository) or false (no registry cache)."
  )
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

function parseRebuild(value: string, image: ImageReference | undefined): RebuildMode {
  if (value === '') return 'if-inputs-changed'
  if (!(REBUILD_MODES as readonly string[]).includes(value)) {
    throw new ActionError(
      'invalid-rebuild',
      `rebuild is "${value}", not one of ${REBUILD_MODES.join(', ')}.`,
      'Use if-inputs-changed (the default: no build when the repository holds an image of the same inputs), always (every run builds) or if-base-changed (scheduled refresh: only when the base image was updated).'
    )
  }
  if (value === 'if-base-changed' && image) {
    throw new ActionError(
      'rebuild-with-image',
      'rebuild: if-base-changed needs a Dockerfile to rebuild, but image (deploy-only) is set.',
      'Remove image, or remove rebuild.'
    )
  }
  return value as RebuildMode
}

const FINDING_ID = /^[a-z][a-z0-9-]*$/

function parseFindingIds(value: string): string[] {
  const ids = splitList(value, true)
  for (const id of ids) {
    if (!FINDING_ID.test(id)) {
      throw new ActionError(
        'invalid-ignore-findings',
        `ignore-findings has "${id}", which is not a finding id.`,
        'List finding ids such as runtime-interface-client-not-found, one per line or comma-separated (the annotations show each id).'
      )
    }
  }
  return ids
}
