import { ActionError } from './errors.js'

/**
 * Parsing of the names a user gives: function names/ARNs and ECR repository URIs. Pure, so that
 * a mismatch is refused before anything is built or changed.
 */

export interface FunctionReference {
  /** The function's name, without account, region or qualifier. */
  readonly name: string
  /** What to pass as `FunctionName` to the Lambda API (the name or ARN as given, minus qualifier). */
  readonly apiName: string
  readonly account?: string
  readonly region?: string
  readonly partition?: string
}

// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html#lambda-UpdateFunctionCode-request-FunctionName
const FUNCTION_NAME = /^[a-zA-Z0-9-_]{1,64}$/
const FUNCTION_ARN =
  /^arn:(aws[a-zA-Z-]*):lambda:([a-z]{2}(?:-gov)?-[a-z]+-\d{1}):(\d{12}):function:([a-zA-Z0-9-_]{1,64})(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/
const PARTIAL_ARN = /^(\d{12}):function:([a-zA-Z0-9-_]{1,64})(?::(\$LATEST|[a-zA-Z0-9-_]+))?$/

export function parseFunctionReference(value: string): FunctionReference {
  const given = value.trim()
  if (FUNCTION_NAME.test(given)) return { name: given, apiName: given }
  const arn = FUNCTION_ARN.exec(given)
  if (arn) {
    const [, partition, region, account, name, qualifier] = arn as unknown as string[]
    rejectQualifier(given, qualifier)
    return {
      name: name!,
      apiName: `arn:${partition}:lambda:${region}:${account}:function:${name}`,
      account,
      region,
      partition
    }
  }
  const partial = PARTIAL_ARN.exec(given)
  if (partial) {
    const [, account, name, qualifier] = partial as unknown as string[]
    rejectQualifier(given, qualifier)
    return { name: name!, apiName: `${account}:function:${name}`, account }
  }
  throw new ActionError(
    'invalid-function-name',
    `function-name "${given}" is not a Lambda function name or ARN.`,
    'Use the name (1-64 letters, digits, - or _), a partial ARN (123456789012:function:NAME) or a full ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME).'
  )
}

function rejectQualifier(given: string, qualifier: string | undefined): void {
  if (qualifier === undefined) return
  throw new ActionError(
    'function-qualifier-not-allowed',
    `function-name "${given}" has a version or alias qualifier (":${qualifier}"); code is only ever updated on $LATEST.`,
    'Remove the qualifier from function-name.'
  )
}

export interface RepositoryLocation {
  readonly account: string
  readonly region: string
  /** The registry host, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com. */
  readonly registry: string
  readonly name: string
  /** `registry/name`: what docker pushes to and what Lambda's ImageUri starts with. */
  readonly uri: string
}

// https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html#registry_concepts
// Covers commercial, China (.amazonaws.com.cn) and FIPS (dkr.ecr-fips) endpoints.
const ECR_HOST =
  /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d{1})\.amazonaws\.com(?:\.cn)?$/
// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_CreateRepository.html#ECR-CreateRepository-request-repositoryName
const REPOSITORY_NAME =
  /^(?=.{2,256}$)(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/

/** The account and region of an ECR registry host; undefined for any other registry. */
export function parseEcrRegistryHost(host: string): RepositoryLocation | undefined {
  const match = ECR_HOST.exec(host)
  if (!match) return undefined
  const [, account, region] = match as unknown as [string, string, string]
  return { account, region, registry: host, name: '', uri: host }
}

export function isRepositoryName(value: string): boolean {
  return REPOSITORY_NAME.test(value)
}

/** True when the value looks like a registry URI rather than a bare repository name. */
export function looksLikeRepositoryUri(value: string): boolean {
  const first = value.split('/')[0] ?? ''
  return first.includes('.') || first.includes(':')
}

export function parseRepositoryUri(value: string): RepositoryLocation {
  const given = value.trim().replace(/^https?:\/\//, '')
  if (/[@:]/.test(given.split('/').slice(1).join('/'))) {
    throw new ActionError(
      'repository-has-tag',
      `repository "${value}" includes a tag or digest.`,
      'Give the repository alone (ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME) and put tags in the tags input.'
    )
  }
  const slash = given.indexOf('/')
  const host = slash < 0 ? given : given.slice(0, slash)
  const name = slash < 0 ? '' : given.slice(slash + 1)
  const match = ECR_HOST.exec(host)
  if (!match) {
    throw new ActionError(
      'repository-not-ecr',
      `repository "${value}" is not in a private Amazon ECR registry; Lambda only runs images from ECR private repositories.`,
      'Use a URI of the form ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME, or just the repository name to use the function’s own account and region.'
    )
  }
  if (!isRepositoryName(name)) {
    throw new ActionError(
      'invalid-repository-name',
      `repository "${value}" has no valid repository name after the registry host.`,
      'Repository names are 2-256 lower-case letters, digits and . _ - / (e.g. my-team/my-function).'
    )
  }
  const [, account, region] = match as unknown as [string, string, string]
  return { account, region, registry: host, name, uri: `${host}/${name}` }
}

/** The registry host for an account and region, for a repository given by name only. */
export function repositoryLocation(
  account: string,
  region: string,
  name: string
): RepositoryLocation {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'
  const registry = `${account}.dkr.ecr.${region}.${suffix}`
  return { account, region, registry, name, uri: `${registry}/${name}` }
}

/** Parses `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`. */
export function parseFunctionArn(arn: string): {
  partition: string
  region: string
  account: string
  name: string
} {
  const parts = arn.split(':')
  if (parts.length < 7 || parts[0] !== 'arn' || parts[2] !== 'lambda' || parts[5] !== 'function') {
    throw new Error(`Not a Lambda function ARN: ${arn}`)
  }
  return { partition: parts[1]!, region: parts[3]!, account: parts[4]!, name: parts[6]! }
}

/** An existing image in ECR, for deploy-only runs: pinned by digest, or a tag to resolve once. */
export interface ImageReference {
  readonly repository: RepositoryLocation
  readonly digest?: string
  readonly tag?: string
}

const DIGEST = /^sha256:[a-f0-9]{64}$/
const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/

/** Parses `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME@sha256:HEX` or `...:TAG`. */
export function parseImageReference(value: string): ImageReference {
  const given = value.trim()
  const at = given.indexOf('@')
  if (at >= 0) {
    const digest = given.slice(at + 1)
    if (!DIGEST.test(digest)) {
      throw new ActionError(
        'invalid-image-digest',
        `image "${value}" has "${digest}" after @, which is not a sha256 digest.`,
        'Pin the image as REPOSITORY@sha256:<64 hex digits>, e.g. the image-digest output of the build job.'
      )
    }
    return { repository: parseRepositoryUri(given.slice(0, at)), digest }
  }
  const lastSlash = given.lastIndexOf('/')
  const colon = given.indexOf(':', lastSlash + 1)
  if (lastSlash < 0 || colon < 0) {
    throw new ActionError(
      'image-not-pinned',
      `image "${value}" names no tag or digest.`,
      'Give REPOSITORY@sha256:DIGEST (preferred) or REPOSITORY:TAG.'
    )
  }
  const tag = given.slice(colon + 1)
  if (!IMAGE_TAG.test(tag)) {
    throw new ActionError(
      'invalid-tag',
      `image "${value}" has the tag "${tag}", which is not a valid image tag.`,
      'A tag is 1-128 letters, digits, _ . and -, and does not start with . or -.'
    )
  }
  return { repository: parseRepositoryUri(given.slice(0, colon)), tag }
}

/** The role to assume in an account: a name, or an ARN with the word ACCOUNT in it. */
export function roleArnFor(role: string, account: string, partition = 'aws'): string {
  if (role.startsWith('arn:')) return role.replace(':iam::ACCOUNT:', `:iam::${account}:`)
  return `arn:${partition}:iam::${account}:role/${role}`
}
