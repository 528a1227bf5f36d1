import type { FunctionOverrides } from './function-overrides.js'

/** The runtime settings of a function that an override can change, as Lambda reports them. */
export interface CurrentSettings {
  readonly entryPoint?: readonly string[]
  readonly command?: readonly string[]
  readonly workingDirectory?: string
  readonly environment: Readonly<Record<string, string>>
}

/** What UpdateFunctionConfiguration must send; undefined parts are left alone. */
export interface SettingsChange {
  readonly imageConfig?: {
    readonly entryPoint?: readonly string[]
    readonly command?: readonly string[]
    readonly workingDirectory?: string
  }
  /** The whole variable set (Lambda replaces it), with the function's other variables kept. */
  readonly environment?: Readonly<Record<string, string>>
  /** One line per difference, for the log and the plan; values of variables are not shown. */
  readonly changes: readonly string[]
}

/**
 * Compares the overrides with what the function has and returns only what differs, so an
 * unchanged function gets no UpdateFunctionConfiguration call (and no new revision).
 */
export function settingsChange(
  current: CurrentSettings,
  overrides: FunctionOverrides
): SettingsChange | undefined {
  const changes: string[] = []
  let imageConfigChanged = false
  const describe = (value: readonly string[] | string | undefined) =>
    value === undefined ? '(image default)' : JSON.stringify(value)
  if (overrides.entryPoint && !sameList(overrides.entryPoint, current.entryPoint)) {
    changes.push(`EntryPoint ${describe(current.entryPoint)} → ${describe(overrides.entryPoint)}`)
    imageConfigChanged = true
  }
  if (overrides.command && !sameList(overrides.command, current.command)) {
    changes.push(`Command ${describe(current.command)} → ${describe(overrides.command)}`)
    imageConfigChanged = true
  }
  if (
    overrides.workingDirectory !== undefined &&
    overrides.workingDirectory !== current.workingDirectory
  ) {
    changes.push(
      `WorkingDirectory ${describe(current.workingDirectory)} → ${describe(overrides.workingDirectory)}`
    )
    imageConfigChanged = true
  }
  const changedVariables = Object.entries(overrides.environment ?? {}).filter(
    ([name, value]) => current.environment[name] !== value
  )
  for (const [name] of changedVariables) {
    changes.push(`${name} ${name in current.environment ? 'changed' : 'added'}`)
  }
  if (changes.length === 0) return undefined
  return {
    // ImageConfig is replaced as a whole, so fields the user did not override are sent as they are.
    imageConfig: imageConfigChanged
      ? {
          entryPoint: overrides.entryPoint ?? current.entryPoint,
          command: overrides.command ?? current.command,
          workingDirectory: overrides.workingDirectory ?? current.workingDirectory
        }
      : undefined,
    environment:
      changedVariables.length > 0
        ? { ...current.environment, ...Object.fromEntries(changedVariables) }
        : undefined,
    changes
  }
}

function sameList(a: readonly string[], b: readonly string[] | undefined): boolean {
  return b !== undefined && a.length === b.length && a.every((item, index) => item === b[index])
}

export interface CurrentAlias {
  readonly functionVersion: string
  readonly weights: Readonly<Record<string, number>>
  readonly revisionId: string
}

export interface AliasChange {
  readonly action: 'create' | 'update' | 'none'
  readonly functionVersion: string
  readonly weights: Readonly<Record<string, number>>
  readonly description: string
}

/**
 * Where the alias goes. Without a weight it moves to the new version outright. With one, it
 * stays on the version it serves now and sends that share to the new version (a canary); a new
 * alias has nothing to stay on, so it points at the new version.
 */
export function aliasChange(
  current: CurrentAlias | undefined,
  newVersion: string,
  routingWeight: number | undefined
): AliasChange {
  if (!current) {
    return {
      action: 'create',
      functionVersion: newVersion,
      weights: {},
      description: `points at ${newVersion}`
    }
  }
  const canary = routingWeight !== undefined && current.functionVersion !== newVersion
  const functionVersion = canary ? current.functionVersion : newVersion
  const weights: Record<string, number> = canary ? { [newVersion]: routingWeight } : {}
  const unchanged =
    current.functionVersion === functionVersion &&
    JSON.stringify(current.weights) === JSON.stringify(weights)
  return {
    action: unchanged ? 'none' : 'update',
    functionVersion,
    weights,
    description: canary
      ? `stays on ${functionVersion}, sends ${Math.round(routingWeight * 1000) / 10}% to ${newVersion}`
      : `moves from ${current.functionVersion} to ${newVersion}`
  }
}
