import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { FunctionFacts } from '../adapters/lambda.js'
import { parseFunctionArn, roleArnFor, type RepositoryLocation } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import {
  repositoryFromFunctions,
  type DerivedRepository
} from '../domain/repository-from-functions.js'
import { isLambdaArchitecture, type LambdaArchitecture } from '../domain/lambda-limits.js'
import { overridesFor, type FunctionOverrides } from '../domain/function-overrides.js'
import { namesOf, regionMismatch, type ActionConfig, type FunctionTarget } from '../inputs.js'
import { mapConcurrently } from './concurrency.js'
import { findOrPlanFunction, type PlannedCreation } from './missing-function.js'
import { locateRepository } from './create-repository.js'
import {
  durableWithoutVersionWarning,
  publishRefusal,
  verifyQualifierRefusal
} from '../domain/function-kinds.js'

/** One function a deploy goes to, and the repository (in its region) it pulls from. */
export interface DeployTarget {
  readonly function: FunctionFacts
  readonly region: string
  readonly account: string
  readonly repository: RepositoryLocation
  readonly architecture: LambdaArchitecture
  /** True when the user asked for another architecture than the function has now. */
  readonly changesArchitecture: boolean
  /** The function as written in function-name. */
  readonly given: string
  /** The role assumed to reach the function, when it is in another account. */
  readonly roleArn?: string
  /** Its function-config: its own entry over the `*` entry (empty when none applies). */
  readonly overrides: FunctionOverrides
  /** Set when the function does not exist yet and the deploy creates it (create-function-role). */
  readonly creation?: PlannedCreation
}

/** Everything a run deploys to, checked to fit together before anything is built. */
export interface DeployPlan {
  readonly targets: readonly DeployTarget[]
  readonly architecture: LambdaArchitecture
  /** One repository per region that has functions, in the order the functions came. */
  readonly repositories: readonly RepositoryLocation[]
  /** The repositories taken from the functions because repository was empty. */
  readonly derivedRepositories?: readonly DerivedRepository[]
}

export async function resolveTargets(config: ActionConfig, aws: AwsServices): Promise<DeployPlan> {
  // A repository given by name is looked up while the functions are read: its region is the
  // function's, known from the input. Its failure is reported after the functions' own.
  const named = lookUpNamedRepositories(config, aws)
  const roles = await rolesFor(config, aws)
  const described = await mapConcurrently(config.functions, config.maxConcurrency, async target => {
    const roleArn = target.reference.account ? roles.get(target.reference.account) : undefined
    const found = await findOrPlanFunction(target, config.createFunction, aws, () =>
      describe(target, roleArn, aws)
    )
    return { target, roleArn, ...found }
  })
  // A verify invoke the function kind would refuse (a durable function's $LATEST), or a release
  // no caller would reach (a Managed Instances function's numbered version without an alias),
  // fails the run before anything is built or changed (domain/function-kinds.ts).
  for (const { fn, creation } of described) {
    if (creation) continue
    const refusal = verifyQualifierRefusal(fn, config) ?? publishRefusal(fn, config)
    if (refusal) throw refusal
  }
  for (const { fn, creation } of described) {
    const warning = creation ? undefined : durableWithoutVersionWarning(fn, config)
    if (warning) core.warning(warning)
  }
  // A function still to be created takes whatever architecture the others agree on.
  const architecture =
    config.architecture ?? commonArchitecture(described.filter(d => !d.creation).map(d => d.fn))

  const repositories = new Map<string, RepositoryLocation>()
  const derived: DerivedRepository[] = []
  for (const { fn } of described) {
    const { region } = parseFunctionArn(fn.arn)
    if (repositories.has(region)) continue
    const given = config.repositories.byRegion.get(region)
    if (given) repositories.set(region, given)
    else if (config.repositories.fromFunctions) {
      const found = repositoryFromFunctions(
        region,
        described
          .filter(d => parseFunctionArn(d.fn.arn).region === region)
          .map(d => ({
            functionName: d.fn.name,
            imageUri: d.fn.imageUri,
            creating: d.creation !== undefined
          }))
      )
      core.info(
        `repository is empty: pushing to ${found.location.uri}, the repository ${found.functions.join(', ')} ${found.functions.length === 1 ? 'runs its image' : 'run their image'} from.`
      )
      derived.push(found)
      repositories.set(region, found.location)
    } else if (config.repositories.name !== undefined) {
      repositories.set(region, await named(region))
    } else throw regionMismatch([...config.repositories.byRegion.values()][0]!, region)
  }

  const targets = described.map(({ target, roleArn, fn: found, creation }) => {
    const fn = creation ? { ...found, architectures: [architecture] } : found
    const arn = parseFunctionArn(fn.arn)
    const current = fn.architectures[0] ?? 'x86_64'
    if (architecture !== current) {
      core.notice(`${fn.name} runs on ${current}; this deploy switches it to ${architecture}.`)
    }
    return {
      function: fn,
      region: arn.region,
      account: arn.account,
      repository: repositories.get(arn.region)!,
      architecture,
      changesArchitecture: architecture !== current,
      given: target.given,
      roleArn,
      overrides: overridesFor(config.overrides, namesOf(target)),
      creation
    }
  })
  return {
    targets,
    architecture,
    repositories: [...repositories.values()],
    ...(derived.length > 0 ? { derivedRepositories: derived } : {})
  }
}

/**
 * The repository named by the repository input, per region, looked up in the caller's account;
 * the lookups of the functions' regions start at once.
 */
function lookUpNamedRepositories(
  config: ActionConfig,
  aws: AwsServices
): (region: string) => Promise<RepositoryLocation> {
  const lookups = new Map<string, Promise<RepositoryLocation>>()
  const lookUp = (region: string, name: string) => {
    let lookup = lookups.get(region)
    if (!lookup) {
      lookup = aws
        .callerAccount()
        .then(account => locateRepository(aws, region, account, name, config.createRepository))
      // Awaited (and its failure thrown) where the plan takes the region's repository.
      lookup.catch(() => undefined)
      lookups.set(region, lookup)
    }
    return lookup
  }
  const { name, fromFunctions, byRegion } = config.repositories
  if (name !== undefined && !fromFunctions) {
    for (const { region } of config.functions) if (!byRegion.has(region)) void lookUp(region, name)
  }
  return region => lookUp(region, name!)
}

async function describe(
  target: FunctionTarget,
  roleArn: string | undefined,
  aws: AwsServices
): Promise<FunctionFacts> {
  const fn = await aws.functions(target.region, roleArn).describe(target.reference.apiName)
  if (fn.packageType !== 'Image') {
    throw new ActionError(
      'function-not-image',
      `The function ${fn.name} has package type ${fn.packageType}; a function's package type cannot be changed, and only Image functions run container images.`,
      'Create a new function with --package-type Image and point function-name at it.'
    )
  }
  return fn
}

/** A role per other account, when cross-account-role is set; none are needed otherwise. */
async function rolesFor(config: ActionConfig, aws: AwsServices): Promise<Map<string, string>> {
  const roles = new Map<string, string>()
  if (config.crossAccountRole === undefined) return roles
  const accounts = new Set(config.functions.flatMap(f => f.reference.account ?? []))
  if (accounts.size === 0) return roles
  const own = await aws.callerAccount()
  for (const account of accounts) {
    if (account === own) continue
    const partition = config.functions.find(f => f.reference.account === account)?.reference
      .partition
    roles.set(account, roleArnFor(config.crossAccountRole, account, partition))
  }
  return roles
}

function commonArchitecture(functions: readonly FunctionFacts[]): LambdaArchitecture {
  const found = new Set(
    functions.map(fn => {
      const current = fn.architectures[0] ?? 'x86_64'
      return isLambdaArchitecture(current) ? current : 'x86_64'
    })
  )
  if (found.size > 1) {
    throw new ActionError(
      'functions-architecture-mismatch',
      `The functions run on different architectures (${functions.map(fn => `${fn.name}: ${fn.architectures[0] ?? 'x86_64'}`).join(', ')}); one image has one architecture.`,
      'Set architecture to the one they should all run on (the deploy switches the others), or deploy them in separate steps.'
    )
  }
  return [...found][0] ?? 'x86_64'
}
