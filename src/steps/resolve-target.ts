import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { FunctionFacts } from '../adapters/lambda.js'
import { parseFunctionArn, type RepositoryLocation } from '../domain/aws-names.js'
import { ActionError } from '../domain/errors.js'
import { isLambdaArchitecture, type LambdaArchitecture } from '../domain/lambda-limits.js'
import { regionMismatch, type ActionConfig } from '../inputs.js'

/** The function and repository a deploy goes to, checked to fit together. */
export interface DeployTarget {
  readonly function: FunctionFacts
  readonly region: string
  readonly account: string
  readonly repository: RepositoryLocation
  readonly architecture: LambdaArchitecture
  /** True when the user asked for another architecture than the function has now. */
  readonly changesArchitecture: boolean
}

export async function resolveTarget(config: ActionConfig, aws: AwsServices): Promise<DeployTarget> {
  const fn = await aws.functions(config.region).describe(config.function.apiName)
  if (fn.packageType !== 'Image') {
    throw new ActionError(
      'function-not-image',
      `The function ${fn.name} has package type ${fn.packageType}; a function's package type cannot be changed, and only Image functions run container images.`,
      'Create a new function with --package-type Image and point function-name at it.'
    )
  }
  const arn = parseFunctionArn(fn.arn)
  const repository =
    config.repository.kind === 'uri'
      ? config.repository.location
      : await aws.registry(arn.region).findRepository(arn.account, config.repository.name)
  if (repository.region !== arn.region) throw regionMismatch(repository, arn.region)

  const current = fn.architectures[0] ?? 'x86_64'
  const architecture = config.architecture ?? (isLambdaArchitecture(current) ? current : 'x86_64')
  if (config.architecture && config.architecture !== current) {
    core.notice(
      `The function runs on ${current}; this deploy switches it to ${config.architecture}.`
    )
  }
  return {
    function: fn,
    region: arn.region,
    account: arn.account,
    repository,
    architecture,
    changesArchitecture: architecture !== current
  }
}
