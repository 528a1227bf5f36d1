import type { FunctionKindSeed } from './lambda-kinds.js'
import type { ImageConfig, PackageType, UpdateStatus } from './state.js'

/**
 * What the control API (/_stand-in/...) takes and gives, shared by the server and the typed
 * client the tests use.
 */

export interface RepositorySeed {
  readonly account: string
  readonly region: string
  readonly name: string
  /** The repository policy text, stored exactly as given. */
  readonly policy?: string
  /** As CreateRepository takes it; default MUTABLE. */
  readonly imageTagMutability?: string
  readonly imageTagMutabilityExclusionFilters?: readonly {
    readonly filter: string
    readonly filterType: string
  }[]
}

/** managedInstances and durableConfig: lambda-kinds.ts. */
export interface FunctionSeed extends FunctionKindSeed {
  readonly account: string
  readonly region: string
  readonly name: string
  readonly packageType: PackageType
  /** Default ["x86_64"]. */
  readonly architectures?: readonly string[]
  /** The image the function runs now; a digest in it becomes CodeSha256. */
  readonly imageUri?: string
  readonly codeSha256?: string
  /** Default Successful; InProgress ends after the current updateDelayMs. */
  readonly lastUpdateStatus?: UpdateStatus
  readonly lastUpdateStatusReason?: string
  readonly lastUpdateStatusReasonCode?: string
  readonly role?: string
  readonly description?: string
  readonly timeout?: number
  readonly memorySize?: number
  readonly environment?: Record<string, string>
  readonly imageConfig?: ImageConfig
  readonly runtime?: string
  readonly handler?: string
}

export interface StandInSettings {
  readonly updateDelayMs: number
}

/** A manifest read from the real registry, with its image config when it has one. */
export interface RegistryImage {
  readonly digest: string
  readonly mediaType: string
  /** The manifest bytes exactly as stored. */
  readonly body: string
  /** The manifest, parsed. */
  readonly manifest: Record<string, unknown>
  /** The image config blob, parsed; empty for an index. */
  readonly config: {
    readonly architecture?: string
    readonly os?: string
    readonly variant?: string
    readonly config?: Record<string, unknown>
  }
}
