import { parse as parseYaml } from 'yaml'
import { ActionError } from './errors.js'

/**
 * Runtime settings one image can run with per function (the seed pattern: one image, several
 * functions, each with its own CMD). Each field left out keeps what the function has now.
 */
export interface FunctionOverrides {
  readonly entryPoint?: readonly string[]
  readonly command?: readonly string[]
  readonly workingDirectory?: string
  /** Merged into the function's variables: these are set, the others are kept. */
  readonly environment?: Readonly<Record<string, string>>
}

/** Which overrides apply to a function: its own entry, over the `*` entry. */
export type OverridesByFunction = ReadonlyMap<string, FunctionOverrides>

const FIELDS = ['entrypoint', 'command', 'working-directory', 'environment'] as const
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html: keys start with a letter.
const VARIABLE_NAME = /^[a-zA-Z][a-zA-Z0-9_]*$/
// Lambda sets these itself and refuses them in Environment.Variables.
const RESERVED_VARIABLES = new Set([
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR'
])

const EXAMPLE =
  'For example:\n  my-function:\n    command: ["app.handler"]\n    environment: { MODE: api }'

/** Parses the function-config input: a YAML mapping from function (or `*`) to its overrides. */
export function parseFunctionOverrides(text: string): OverridesByFunction {
  if (text.trim() === '') return new Map()
  let document: unknown
  try {
    document = parseYaml(text)
  } catch (error) {
    throw invalid(`it is not valid YAML (${firstLine(error)}).`)
  }
  if (!isMapping(document)) throw invalid('it is not a mapping from function name to settings.')
  const result = new Map<string, FunctionOverrides>()
  for (const [functionKey, settings] of Object.entries(document)) {
    if (!isMapping(settings)) throw invalid(`the entry "${functionKey}" is not a mapping.`)
    result.set(functionKey, parseOne(functionKey, settings))
  }
  return result
}

function parseOne(functionKey: string, settings: Record<string, unknown>): FunctionOverrides {
  for (const key of Object.keys(settings)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw invalid(
        `"${functionKey}" has the unknown setting "${key}" (known: ${FIELDS.join(', ')}).`
      )
    }
  }
  const overrides: {
    entryPoint?: string[]
    command?: string[]
    workingDirectory?: string
    environment?: Record<string, string>
  } = {}
  if (settings.entrypoint !== undefined) {
    overrides.entryPoint = stringList(settings.entrypoint, functionKey, 'entrypoint')
    const first = overrides.entryPoint[0]
    if (first !== undefined && !first.startsWith('/')) {
      throw invalid(
        `"${functionKey}" has entrypoint "${first}", which is not an absolute path; Lambda runs it without a shell or PATH lookup.`
      )
    }
  }
  if (settings.command !== undefined) {
    overrides.command = stringList(settings.command, functionKey, 'command')
  }
  if (settings['working-directory'] !== undefined) {
    const directory = settings['working-directory']
    if (typeof directory !== 'string' || !directory.startsWith('/')) {
      throw invalid(`"${functionKey}" has a working-directory that is not an absolute path.`)
    }
    overrides.workingDirectory = directory
  }
  if (settings.environment !== undefined) {
    overrides.environment = environment(settings.environment, functionKey)
  }
  return overrides
}

function stringList(value: unknown, functionKey: string, field: string): string[] {
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || !list.every(item => typeof item === 'string')) {
    throw invalid(`"${functionKey}" has a ${field} that is not a string or a list of strings.`)
  }
  if (list.length > 1500) throw invalid(`"${functionKey}" has more than 1500 ${field} items.`)
  return list
}

function environment(value: unknown, functionKey: string): Record<string, string> {
  if (!isMapping(value)) throw invalid(`"${functionKey}" has an environment that is not a mapping.`)
  const result: Record<string, string> = {}
  for (const [name, raw] of Object.entries(value)) {
    if (!VARIABLE_NAME.test(name)) {
      throw invalid(
        `"${functionKey}" sets the variable "${name}"; names start with a letter and hold letters, digits and _.`
      )
    }
    if (RESERVED_VARIABLES.has(name)) {
      throw invalid(`"${functionKey}" sets ${name}, which Lambda reserves and sets itself.`)
    }
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw invalid(`"${functionKey}" sets ${name} to a list, mapping or null; values are strings.`)
    }
    result[name] = String(raw)
  }
  return result
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
}

function invalid(reason: string): ActionError {
  return new ActionError('invalid-function-config', `function-config: ${reason}`, EXAMPLE)
}

/** The overrides for one function: the `*` entry, then its own entry by any name it was given. */
export function overridesFor(
  byFunction: OverridesByFunction,
  names: readonly string[]
): FunctionOverrides {
  const own = names.map(name => byFunction.get(name)).find(entry => entry !== undefined)
  const all = byFunction.get('*')
  if (!own) return all ?? {}
  if (!all) return own
  return {
    ...all,
    ...own,
    environment:
      all.environment || own.environment ? { ...all.environment, ...own.environment } : undefined
  }
}
