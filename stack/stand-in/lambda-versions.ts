import { LAMBDA_MESSAGES } from './aws-wording.js'
import { arnOf, lastModifiedNow, newRevisionId } from './lambda-model.js'
import {
  canonicalJson,
  type AliasRecord,
  type FunctionRecord,
  type FunctionState,
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
  description: string | undefined,
  /** A new version's own State (Lambda Managed Instances provision it: lambda-kinds.ts). */
  initialState?: () => FunctionState
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
    description: description ?? fn.settings.description,
    ...(initialState ? { state: initialState() } : {})
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
 * AliasRoutingConfiguration). The checks run in the order AWS's answers show (AWS-validated
 * LocalStack snapshot TestLambdaAlias::test_notfound_and_invalid_routingconfigs): the model's
 * validation of keys and values first (ValidationException), then Lambda's own rules. */
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
  const shown = javaMap(entries)
  // Keys are version numbers: $LATEST (or an alias name) fails the model's pattern [0-9]+.
  if (entries.some(([version]) => !/^[0-9]+$/.test(version) || version.length > 1024)) {
    throw lambdaError('ValidationException', LAMBDA_MESSAGES.weightKeyNotAVersion(shown))
  }
  if (entries.some(([, weight]) => typeof weight !== 'number' || weight < 0 || weight > 1)) {
    throw lambdaError('ValidationException', LAMBDA_MESSAGES.weightOutOfRange(shown))
  }
  if (entries.length > 1) {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.oneAdditionalVersion)
  }
  if (functionVersion === '$LATEST') {
    throw lambdaError('InvalidParameterValueException', LAMBDA_MESSAGES.noWeightsOnLatest)
  }
  for (const [version] of entries) {
    if (version === functionVersion) {
      throw lambdaError(
        'InvalidParameterValueException',
        LAMBDA_MESSAGES.additionalVersionIsPrimary(version)
      )
    }
    requireVersion(fn, version)
  }
  return Object.fromEntries(entries) as Record<string, number>
}

/** A map as Lambda's validation messages print it (Java's Map.toString of doubles): {2=0.5}. */
function javaMap(entries: readonly (readonly [string, unknown])[]): string {
  const value = (weight: unknown) =>
    typeof weight === 'number' && Number.isInteger(weight) ? weight.toFixed(1) : String(weight)
  return `{${entries.map(([key, weight]) => `${key}=${value(weight)}`).join(', ')}}`
}
