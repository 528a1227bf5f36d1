import type { LambdaPlatform, PlatformDigest } from '../adapters/registry-http.js'
import { isActionError } from '../domain/errors.js'
import {
  baseImageToResolve,
  decideRefresh,
  type RebuildMode,
  type RefreshDecision
} from '../domain/refresh-decision.js'

/** What the step needs from the registry adapter (RegistryHttp satisfies it). */
export interface BaseDigestResolver {
  resolvePlatformDigest(reference: string, platform: LambdaPlatform): Promise<PlatformDigest>
}

export interface RefreshRequest {
  readonly mode: RebuildMode
  /** The function's architecture after this run (Lambda names). */
  readonly architecture: 'x86_64' | 'arm64'
  /** Config labels of the image the function runs; undefined when it has none we can read. */
  readonly deployedLabels: Readonly<Record<string, string>> | undefined
  /** The final stage's FROM of the Dockerfile being built, when known. */
  readonly dockerfileBase?: string
  /** The commit checked out for the build (GITHUB_SHA). */
  readonly checkedOutRevision?: string
}

export interface RefreshPlan extends RefreshDecision {
  readonly platform: LambdaPlatform
  /** Registry and token-service requests spent on the base image's digest. */
  readonly registryRequests: number
  readonly tokenRequests: number
}

export function lambdaPlatform(architecture: 'x86_64' | 'arm64'): LambdaPlatform {
  return architecture === 'arm64' ? 'linux/arm64' : 'linux/amd64'
}

/**
 * Resolves the base image's current digest for the function's platform and decides whether to
 * rebuild. With `rebuild: always` a failure to resolve is only a notice (the build goes ahead and
 * will pull the base itself); with `if-base-changed` it stops the run, since nothing can be
 * decided without it.
 */
export async function decideRefreshStep(
  request: RefreshRequest,
  registry: BaseDigestResolver
): Promise<RefreshPlan> {
  const platform = lambdaPlatform(request.architecture)
  const baseImage = baseImageToResolve(request.deployedLabels, request.dockerfileBase)
  let resolved: PlatformDigest | undefined
  const notices: string[] = []
  if (baseImage !== undefined) {
    try {
      resolved = await registry.resolvePlatformDigest(baseImage, platform)
    } catch (error) {
      if (request.mode !== 'always' || !isActionError(error)) throw error
      notices.push(`The current digest of ${baseImage} is unknown: ${error.reason}`)
    }
  }
  const decision = decideRefresh({
    mode: request.mode,
    deployedLabels: request.deployedLabels,
    currentDigest: resolved?.digest,
    ...(request.dockerfileBase === undefined ? {} : { dockerfileBase: request.dockerfileBase }),
    ...(request.checkedOutRevision === undefined
      ? {}
      : { checkedOutRevision: request.checkedOutRevision })
  })
  return {
    ...decision,
    notices: [...notices, ...decision.notices],
    platform,
    registryRequests: resolved?.requests ?? 0,
    tokenRequests: resolved?.tokenRequests ?? 0
  }
}
