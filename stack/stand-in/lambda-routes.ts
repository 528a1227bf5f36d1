import { LAMBDA_PATH_PREFIX } from './aws-wording.js'

/**
 * Lambda's REST paths (API reference, "Request Syntax" of each operation), mapped to operation
 * names. Path labels arrive percent-encoded (an ARN's colons as %3A) and are decoded here.
 */

export interface LambdaRoute {
  readonly operation: string
  readonly functionName: string
  /** The alias name, for the alias operations. */
  readonly aliasName?: string
}

const ROUTES: readonly [method: string, suffix: RegExp, operation: string][] = [
  ['GET', /^$/, 'GetFunction'],
  ['GET', /^\/configuration$/, 'GetFunctionConfiguration'],
  ['PUT', /^\/code$/, 'UpdateFunctionCode'],
  ['PUT', /^\/configuration$/, 'UpdateFunctionConfiguration'],
  ['POST', /^\/versions$/, 'PublishVersion'],
  ['GET', /^\/versions$/, 'ListVersionsByFunction'],
  ['POST', /^\/aliases$/, 'CreateAlias'],
  ['GET', /^\/aliases$/, 'ListAliases'],
  ['GET', /^\/aliases\/([^/]+)$/, 'GetAlias'],
  ['PUT', /^\/aliases\/([^/]+)$/, 'UpdateAlias'],
  // Invoke lives under the 2015-03-31 prefix too (API reference, "Invoke").
  ['POST', /^\/invocations$/, 'Invoke']
]

/** CreateFunction is the one operation without the name in its path: POST /2015-03-31/functions
 * (Lambda API reference, CreateFunction "Request Syntax"); the name is the body's FunctionName. */
export const LAMBDA_CREATE_PATH = LAMBDA_PATH_PREFIX.replace(/\/$/, '')

export function matchLambdaRoute(method: string, path: string): LambdaRoute | undefined {
  if (method === 'POST' && (path === LAMBDA_CREATE_PATH || path === LAMBDA_PATH_PREFIX)) {
    return { operation: 'CreateFunction', functionName: '' }
  }
  if (!path.startsWith(LAMBDA_PATH_PREFIX)) return undefined
  const rest = path.slice(LAMBDA_PATH_PREFIX.length)
  const slash = rest.indexOf('/')
  const encodedName = slash === -1 ? rest : rest.slice(0, slash)
  const suffix = slash === -1 ? '' : rest.slice(slash)
  if (!encodedName) return undefined
  for (const [routeMethod, pattern, operation] of ROUTES) {
    if (routeMethod !== method) continue
    const match = pattern.exec(suffix)
    if (!match) continue
    return {
      operation,
      functionName: safeDecode(encodedName),
      aliasName: match[1] === undefined ? undefined : safeDecode(match[1])
    }
  }
  return undefined
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return text
  }
}
