import { ActionError } from './errors.js'

/**
 * The opt-ins that let a deploy create what it would otherwise refuse as missing: a function
 * (create-function-role) and an ECR repository (create-repository). Off by default, so that a
 * typo in function-name or repository still fails instead of creating something new.
 */

/** CreateFunction settings for a function that does not exist yet. */
export interface FunctionCreation {
  /** The execution role: a role name (in the function's account) or a role ARN. */
  readonly role: string
  readonly memoryMb: number
  readonly timeoutSeconds: number
}

export type RepositoryTagMutability = 'MUTABLE' | 'IMMUTABLE'

/** CreateRepository settings for a repository in the workflow's own account that is missing. */
export interface RepositoryCreation {
  readonly tagMutability: RepositoryTagMutability
}

// Lambda API reference, CreateFunction: MemorySize 128-10240 (MB), Timeout 1-900 (seconds).
export const MIN_MEMORY_MB = 128
export const MAX_MEMORY_MB = 10_240
export const MIN_TIMEOUT_SECONDS = 1
export const MAX_TIMEOUT_SECONDS = 900
/** Lambda's own defaults when CreateFunction leaves MemorySize and Timeout out. */
export const DEFAULT_MEMORY_MB = 128
export const DEFAULT_TIMEOUT_SECONDS = 3

// IAM User Guide, "IAM identifiers": role names are 1-64 of [\w+=,.@-]; a path is /.../.
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/

type Read = (name: string) => string

export function parseFunctionCreation(read: Read): FunctionCreation | undefined {
  const role = read('create-function-role')
  if (role === '') {
    for (const name of ['create-function-memory', 'create-function-timeout']) {
      if (read(name) !== '') {
        throw new ActionError(
          `${name}-without-role`,
          `${name} is set but create-function-role is not; it only applies to a function the action creates.`,
          'Set create-function-role to the execution role a new function should run as, or remove the setting.'
        )
      }
    }
    return undefined
  }
  if (!ROLE_NAME.test(role) && !ROLE_ARN.test(role)) {
    throw new ActionError(
      'invalid-create-function-role',
      `create-function-role "${role}" is neither an IAM role name nor a role ARN.`,
      'Give the execution role as a name (looked up in the function’s account) or as arn:aws:iam::ACCOUNT:role/NAME.'
    )
  }
  return {
    role,
    memoryMb: parseWhole(read('create-function-memory'), 'create-function-memory', {
      fallback: DEFAULT_MEMORY_MB,
      min: MIN_MEMORY_MB,
      max: MAX_MEMORY_MB,
      unit: 'MB'
    }),
    timeoutSeconds: parseWhole(read('create-function-timeout'), 'create-function-timeout', {
      fallback: DEFAULT_TIMEOUT_SECONDS,
      min: MIN_TIMEOUT_SECONDS,
      max: MAX_TIMEOUT_SECONDS,
      unit: 'seconds'
    })
  }
}

export function parseRepositoryCreation(read: Read): RepositoryCreation | undefined {
  const enabled = read('create-repository')
  const mutability = read('create-repository-tag-mutability')
  if (enabled !== '' && !/^(true|false)$/i.test(enabled)) {
    throw new ActionError(
      'invalid-create-repository',
      `create-repository is "${enabled}", not true or false.`,
      'Set create-repository to true or false.'
    )
  }
  if (mutability !== '' && mutability !== 'MUTABLE' && mutability !== 'IMMUTABLE') {
    throw new ActionError(
      'invalid-create-repository-tag-mutability',
      `create-repository-tag-mutability is "${mutability}", not MUTABLE or IMMUTABLE.`,
      'Use MUTABLE (tags can be moved; the default) or IMMUTABLE.'
    )
  }
  if (!/^true$/i.test(enabled)) {
    if (mutability !== '') {
      throw new ActionError(
        'create-repository-tag-mutability-without-create-repository',
        'create-repository-tag-mutability is set but create-repository is not true.',
        'Set create-repository: true, or remove create-repository-tag-mutability.'
      )
    }
    return undefined
  }
  return { tagMutability: mutability === '' ? 'MUTABLE' : mutability }
}

/** The role ARN CreateFunction needs: a name is a role in the function's own account. */
export function executionRoleArn(role: string, partition: string, account: string): string {
  return role.startsWith('arn:') ? role : `arn:${partition}:iam::${account}:role/${role}`
}

function parseWhole(
  value: string,
  name: string,
  limits: { fallback: number; min: number; max: number; unit: string }
): number {
  if (value === '') return limits.fallback
  const number = /^\d+$/.test(value) ? Number(value) : NaN
  if (!(number >= limits.min && number <= limits.max)) {
    throw new ActionError(
      `invalid-${name}`,
      `${name} is "${value}", not a whole number of ${limits.unit} from ${limits.min} to ${limits.max} (Lambda's limits).`,
      `Give a whole number of ${limits.unit} between ${limits.min} and ${limits.max}, or leave it empty for ${limits.fallback}.`
    )
  }
  return number
}
