import { LAMBDA_MESSAGES } from './aws-wording.js'
import { arnOf, lastModifiedNow, newRevisionId } from './lambda-model.js'
import {
  canonicalJson,
  type AliasRecord,
  type FunctionRecord,
  type FunctionVersionRecord
} from './state.js'
import { lambdaError } from './wire.js'

/**
 * Published versions and aliases of a function: which exist, what an alias may route to, and
 * when publishing makes a new version.
 */

/** Lambda publishes nothing new when code and configuration equal the latest version's. */
export function publish(
  fn: FunctionRecord,
  description: string | undefined
): FunctionVersionRecord {
  const latest = fn.versions.at(-1)
  if (
    latest &&
    latest.code.codeSha256 === fn.code.codeSha256 &&
    canonicalJson(latest.settings) === canonicalJson(fn.settings)
  ) {
    return latest
  }
  const version: FunctionVersionRecord = {
    version: String(latest ? Number(latest.version) + 1 : 1),
    code: fn.code,
    settings: fn.settings,
    lastModified: lastModifiedNow(),
    revisionId: newRevisionId(),
    description: description ?? fn.settings.description
  }
  fn.versions.push(version)
  return version
}

export function requireVersion(fn: FunctionRecord, version: string): void {
  if (version === '$LATEST' || fn.versions.some(candidate => candidate.version === version)) return
  throw lambdaError(
    'ResourceNotFoundException',
    LAMBDA_MESSAGES.functionNotFound(arnOf(fn, version))
  )
}

export function requireAlias(fn: FunctionRecord, name: string): AliasRecord {
  const alias = fn.aliases[name]
  if (!alias)
    throw lambdaError('ResourceNotFoundException', LAMBDA_MESSAGES.aliasNotFound(arnOf(fn, name)))
  return alias
}

/** RoutingConfig: one other published version and a weight in [0, 1] (API reference,
 * AliasRoutingConfiguration; "Lambda function aliases", weighted aliases). */
export function routingWeights(
  fn: FunctionRecord,
  functionVersion: string,
  routingConfig: unknown
): Record<string, number> | undefined {
  if (routingConfig === undefined || routingConfig === null) return undefined
  const weights = (routingConfig as { AdditionalVersionWeights?: unknown }).AdditionalVersionWeights
  if (weights === undefined || weights === null) return undefined
  if (typeof weights !== 'object') {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.weightsNotAMap)
  }
  const entries = Object.entries(weights as Record<string, unknown>)
  if (entries.length === 0) return undefined
  if (entries.length > 1) {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.oneAdditionalVersion)
  }
  if (functionVersion === '$LATEST') {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.noWeightsOnLatest)
  }
  for (const [version, weight] of entries) {
    if (typeof weight !== 'number' || weight < 0 || weight > 1) {
      throw lambdaError(
        'ValidationException',
        LAMBDA_MESSAGES.validation(
          String(weight),
          'routingConfig.additionalVersionWeights',
          'Member must have value between 0.0 and 1.0'
        )
      )
    }
    if (version === functionVersion) {
      throw lambdaError(
        'InvalidParameterValueException',
        LAMBDA_MESSAGES.additionalVersionIsPrimary
      )
    }
    requireVersion(fn, version)
  }
  return Object.fromEntries(entries) as Record<string, number>
}
