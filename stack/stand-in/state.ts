import { randomUUID } from 'node:crypto'
import type { TagMutability } from './tag-mutability.js'

/**
 * Everything the stand-in remembers, in memory, per process: ECR repositories (the images
 * themselves live in the real registry), Lambda functions with their versions and aliases, and
 * the settings the control API changes. Plain data, so it serialises to canonical JSON as is.
 */

export type PackageType = 'Image' | 'Zip'
export type UpdateStatus = 'Successful' | 'InProgress' | 'Failed'
/** FunctionConfiguration.State (Lambda API reference; "Lambda function states"). The last four
 * exist for Lambda Managed Instances (API reference, FunctionConfiguration State valid values). */
export type FunctionStateName =
  | 'Pending'
  | 'Active'
  | 'Inactive'
  | 'Failed'
  | 'ActiveNonInvocable'
  | 'Deactivating'
  | 'Deactivated'
  | 'Deleting'

export interface RepositoryRecord {
  readonly account: string
  readonly region: string
  readonly name: string
  /** Epoch seconds, as ECR's JSON timestamps are. */
  readonly createdAt: number
  /** Stored exactly as given; undefined when the repository has no policy. */
  policyText?: string
  /** Undefined for a repository seeded without one: MUTABLE, ECR's default. */
  tagMutability?: TagMutability
  /** CreateRepository's imageScanningConfiguration.scanOnPush; undefined: false, ECR's default. */
  scanOnPush?: boolean
  /** The lifecycle policy text, as given (ecr-lifecycle.ts); undefined when there is none. */
  lifecyclePolicyText?: string
  /** The last lifecycle policy preview started. */
  lifecyclePreview?: LifecyclePreviewRecord
  /** Digest → push time (epoch ms) as far as the stand-in knows it (ecr-lifecycle.ts). */
  imagePushedAt?: Record<string, number>
  /** Digest → archive record, for images in the archive storage class (ecr-archive.ts). */
  archivedImages?: Record<string, { readonly archivedAt: number; readonly activatesAt?: number }>
  /** Digest → last recorded pull (epoch ms), as seeded (lifecycle sinceImagePulled). */
  imagePulledAt?: Record<string, number>
}

export interface LifecyclePreviewRecord {
  readonly policyText: string
  /** Epoch ms; IN_PROGRESS before, COMPLETE from then on. */
  readonly completesAt: number
  readonly results: readonly {
    readonly imageDigest: string
    readonly imageTags: readonly string[]
    readonly imagePushedAt: number
    readonly action: { readonly type: string; readonly targetStorageClass?: string }
    readonly appliedRulePriority: number
    readonly storageClass?: string
  }[]
}

export interface FunctionCode {
  readonly imageUri?: string
  readonly resolvedImageUri?: string
  /** For an image: the manifest digest's hex. */
  readonly codeSha256: string
  readonly codeSize: number
  /** The image config's architecture (amd64/arm64), when read; Lambda runs it or fails later. */
  readonly imageArchitecture?: string
  /** The digest of the first layer whose media type Lambda cannot use, when there is one. */
  readonly unsupportedLayer?: string
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

/** The function's State, with the reason Lambda gives for it. */
export interface FunctionState {
  readonly name: FunctionStateName
  readonly reason?: string
  readonly reasonCode?: string
  /** While Pending: when (epoch ms) it ends, and the state it ends in. */
  readonly endsAt?: number
  readonly next?: FunctionState
}

export interface FunctionVersionRecord {
  readonly version: string
  readonly code: FunctionCode
  readonly settings: FunctionSettings
  readonly lastModified: string
  readonly revisionId: string
  readonly description: string
  /** A version's own State (Lambda Managed Instances: publishing provisions it, lambda-kinds.ts);
   * undefined: Active, as every other published version is. */
  state?: FunctionState
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
  state: FunctionState
  versions: FunctionVersionRecord[]
  aliases: Record<string, AliasRecord>
  /** Lambda Managed Instances: the capacity provider and how publishing goes (lambda-kinds.ts). */
  managedInstances?: ManagedInstancesRecord
  /** Lambda Managed Instances: the $LATEST.PUBLISHED version, once published. */
  latestPublished?: FunctionVersionRecord
  /** Durable functions: DurableConfig as given (lambda-kinds.ts). */
  durableConfig?: DurableConfigRecord
}

export interface ManagedInstancesRecord {
  readonly capacityProviderArn: string
  /** How long publishing provisions a version (epoch ms to add); undefined: updateDelayMs. */
  readonly provisioningMs?: number
  /** When set, every version published ends in this state instead of Active. */
  readonly provisioningFailure?: {
    readonly state: FunctionStateName
    readonly reasonCode: string
    readonly reason: string
  }
}

export interface DurableConfigRecord {
  readonly ExecutionTimeout?: number
  readonly RetentionPeriodInDays?: number
  readonly AllowInvokeLatest?: boolean
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

/** Ends every update and every Pending state whose time has come. Called before anything reads
 * the state, so that the state seen is always the state "now" without timers keeping the process
 * alive. */
export function settleUpdates(state: StandInState, now: number = Date.now()): void {
  for (const fn of state.functions.values()) {
    const update = fn.lastUpdate
    if (update.status === 'InProgress' && (update.completesAt ?? 0) <= now) {
      const outcome = update.outcome ?? { status: 'Successful' }
      fn.lastUpdate = {
        status: outcome.status,
        reason: outcome.reason,
        reasonCode: outcome.reasonCode
      }
      // RevisionId changes when an update starts and again when it completes (AWS-validated
      // LocalStack snapshot test_lambda_api TestLambdaImages::test_lambda_image_crud: the
      // UpdateFunctionCode answer's RevisionId differs from GetFunction's once it is Successful).
      fn.revisionId = randomUUID()
      // A function brought back from Inactive or Failed by this update is Active once it worked;
      // a failed update leaves it as it was before.
      if (fn.state.name === 'Pending' && fn.state.endsAt === undefined) {
        fn.state =
          outcome.status === 'Successful'
            ? { name: 'Active' }
            : (fn.state.next ?? { name: 'Active' })
      }
    }
    // Published versions being provisioned (Lambda Managed Instances, lambda-kinds.ts).
    for (const version of [...fn.versions, ...(fn.latestPublished ? [fn.latestPublished] : [])]) {
      const provisioning = version.state
      if (provisioning?.name === 'Pending' && (provisioning.endsAt ?? 0) <= now) {
        version.state = provisioning.next ?? { name: 'Active' }
      }
    }
    const pending = fn.state
    if (pending.name === 'Pending' && pending.endsAt !== undefined && pending.endsAt <= now) {
      fn.state = pending.next ?? { name: 'Active' }
      // Creation ends with a new RevisionId too (same snapshot: create answers uuid:1, the
      // Active function's GetFunction uuid:2).
      fn.revisionId = randomUUID()
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
