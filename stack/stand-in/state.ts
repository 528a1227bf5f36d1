/**
 * Everything the stand-in remembers, in memory, per process: ECR repositories (the images
 * themselves live in the real registry), Lambda functions with their versions and aliases, and
 * the settings the control API changes. Plain data, so it serialises to canonical JSON as is.
 */

export type PackageType = 'Image' | 'Zip'
export type UpdateStatus = 'Successful' | 'InProgress' | 'Failed'

export interface RepositoryRecord {
  readonly account: string
  readonly region: string
  readonly name: string
  /** Epoch seconds, as ECR's JSON timestamps are. */
  readonly createdAt: number
  /** Stored exactly as given; undefined when the repository has no policy. */
  policyText?: string
}

export interface FunctionCode {
  readonly imageUri?: string
  readonly resolvedImageUri?: string
  /** For an image: the manifest digest's hex. */
  readonly codeSha256: string
  readonly codeSize: number
  /** The image config's architecture (amd64/arm64), when read; Lambda runs it or fails later. */
  readonly imageArchitecture?: string
}

export interface ImageConfig {
  readonly EntryPoint?: string[]
  readonly Command?: string[]
  readonly WorkingDirectory?: string
}

export interface FunctionSettings {
  readonly description: string
  readonly role: string
  readonly timeout: number
  readonly memorySize: number
  readonly architectures: readonly string[]
  readonly environment?: Record<string, string>
  readonly imageConfig?: ImageConfig
  readonly runtime?: string
  readonly handler?: string
}

/** The outcome an update in progress will have when it completes. */
export interface UpdateOutcome {
  readonly status: 'Successful' | 'Failed'
  readonly reason?: string
  readonly reasonCode?: string
}

export interface LastUpdate {
  readonly status: UpdateStatus
  readonly reason?: string
  readonly reasonCode?: string
  /** While InProgress: when (epoch ms) it ends, and how. */
  readonly completesAt?: number
  readonly outcome?: UpdateOutcome
}

export interface FunctionVersionRecord {
  readonly version: string
  readonly code: FunctionCode
  readonly settings: FunctionSettings
  readonly lastModified: string
  readonly revisionId: string
  readonly description: string
}

export interface AliasRecord {
  readonly name: string
  readonly functionVersion: string
  readonly description: string
  readonly additionalVersionWeights?: Record<string, number>
  readonly revisionId: string
}

export interface FunctionRecord {
  readonly account: string
  readonly region: string
  readonly name: string
  readonly packageType: PackageType
  code: FunctionCode
  settings: FunctionSettings
  lastModified: string
  revisionId: string
  lastUpdate: LastUpdate
  versions: FunctionVersionRecord[]
  aliases: Record<string, AliasRecord>
}

export interface Settings {
  updateDelayMs: number
}

export interface StandInState {
  readonly settings: Settings
  readonly repositories: Map<string, RepositoryRecord>
  readonly functions: Map<string, FunctionRecord>
}

export function createState(updateDelayMs = 0): StandInState {
  return { settings: { updateDelayMs }, repositories: new Map(), functions: new Map() }
}

export function resetState(state: StandInState, updateDelayMs: number): void {
  state.settings.updateDelayMs = updateDelayMs
  state.repositories.clear()
  state.functions.clear()
}

/** Repositories and functions are unique per account and region. */
export function recordKey(account: string, region: string, name: string): string {
  return `${account}/${region}/${name}`
}

/** Ends every update whose time has come. Called before anything reads the state, so that the
 * state seen is always the state "now" without timers keeping the process alive. */
export function settleUpdates(state: StandInState, now: number = Date.now()): void {
  for (const fn of state.functions.values()) {
    const update = fn.lastUpdate
    if (update.status !== 'InProgress' || (update.completesAt ?? 0) > now) continue
    const outcome = update.outcome ?? { status: 'Successful' }
    fn.lastUpdate = {
      status: outcome.status,
      reason: outcome.reason,
      reasonCode: outcome.reasonCode
    }
  }
}

/** The whole state as plain data in a stable order, for GET /_stand-in/state. */
export function stateSnapshot(state: StandInState): unknown {
  const byKey = <T>(map: Map<string, T>): T[] =>
    [...map.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, value]) => value)
  return {
    settings: state.settings,
    repositories: byKey(state.repositories),
    functions: byKey(state.functions)
  }
}

/** JSON with object keys sorted at every level, so equal states are equal byte for byte. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value))
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter(key => (value as Record<string, unknown>)[key] !== undefined)
        .map(key => [key, sortKeys((value as Record<string, unknown>)[key])])
    )
  }
  return value
}
