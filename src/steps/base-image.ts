import * as core from '@actions/core'
import { readFileSync } from 'node:fs'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { InspectedImage } from '../adapters/docker.js'
import { RegistryHttp } from '../adapters/registry-http.js'
import { parseEcrRegistryHost } from '../domain/aws-names.js'
import {
  baseImageLabels,
  findDockerfileBase,
  type DockerfileBase
} from '../domain/dockerfile-base.js'
import { baseImageSupport, type BaseImageSupport } from '../domain/base-image-support.js'
import { ActionError, isActionError } from '../domain/errors.js'
import {
  platformFor,
  type LambdaArchitecture,
  type LambdaPlatform
} from '../domain/lambda-limits.js'
import type { BuildSettings } from '../inputs.js'
import { decideRefresh, type RefreshDecision } from '../domain/refresh-decision.js'
import type { DeployTarget } from './resolve-target.js'

/** The final stage's external base image, and its digest for the function's platform now. */
export interface ResolvedBase {
  readonly base: DockerfileBase
  readonly digest?: string
  /** Requests sent to the base image's registry. */
  readonly requests: number
  /** For an AWS Lambda base image named by a runtime's tag: its support on the run's day. */
  readonly support?: BaseImageSupport
}

/**
 * A registry client that answers ECR's Basic challenge with the ECR token (private base images
 * and deployed images), and anonymous Bearer challenges by itself (public.ecr.aws, Docker Hub).
 */
export function registryClient(aws: AwsServices): RegistryHttp {
  return new RegistryHttp({
    credentials: async registry => {
      const location = parseEcrRegistryHost(registry)
      if (!location) return undefined
      const credentials = await aws.registry(location.region).authorization(location)
      core.setSecret(credentials.password)
      return credentials
    }
  })
}

/** Reads the Dockerfile's base image and resolves its current digest for the platform. */
export async function resolveBaseImage(
  build: BuildSettings,
  architecture: LambdaArchitecture,
  registry: RegistryHttp
): Promise<ResolvedBase> {
  const buildArgs = Object.fromEntries(
    build.buildArgs.map(line => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1)
    ])
  )
  const base = findDockerfileBase(readFileSync(build.file, 'utf8'), {
    target: build.target,
    buildArgs,
    platform: platformFor(architecture)
  })
  if (base.reference === null) return { base, requests: 0 }
  const support = reportSupport(baseImageSupport(base.reference, new Date()))
  if (base.platformIsSymbolic) {
    // FROM --platform=$BUILDPLATFORM: the base is pulled for the engine's platform, which is not
    // known before the engine is asked; a digest resolved for the function's platform would be
    // the wrong image's. The inputs digest pins the index instead (build-inputs.ts).
    core.info(
      `The base image ${base.reference.canonical} is pulled for the builder's platform (FROM --platform=${base.platform} on line ${base.line}); the image is labelled with its name only.`
    )
    return { base, requests: 0, ...support }
  }
  // A FROM's own literal --platform is the platform its image is pulled for.
  const platform = lambdaPlatformOf(base.platform) ?? platformFor(architecture)
  // A digest in the Dockerfile may name an index: resolve it to the platform's manifest too.
  try {
    const resolved = await registry.resolvePlatformDigest(base.reference.canonical, platform)
    core.info(
      `Base image ${base.reference.canonical} is ${resolved.digest} for ${resolved.platform}, resolved in ${resolved.requests} registry requests.`
    )
    return { base, digest: resolved.digest, requests: resolved.requests, ...support }
  } catch (error) {
    if (!isActionError(error)) throw error
    core.notice(
      `The base image ${base.reference.canonical} could not be resolved (${error.reason}); the image is labelled with its name only.`
    )
    return { base, requests: 0, ...support }
  }
}

/**
 * A base past its end of support is a warning naming its successor; one near it, or on an Amazon
 * Linux release past its end of life, a notice. Runs on every deploy and every scheduled refresh
 * (also when the refresh finds nothing to rebuild), so the schedule that keeps the base patched
 * also says when patches stop.
 */
function reportSupport(support: BaseImageSupport | undefined): { support?: BaseImageSupport } {
  if (!support) return {}
  if (support.status === 'ended')
    core.warning(support.message, { title: 'Base image past its end of support' })
  else if (support.status !== 'supported') core.notice(support.message)
  return { support }
}

function lambdaPlatformOf(platform: string | null): LambdaPlatform | undefined {
  const normalized = platform?.toLowerCase()
  return normalized === 'linux/amd64' || normalized === 'linux/arm64' ? normalized : undefined
}

/**
 * The ECR registries of the external images the build needs (private base images, in this
 * account or another, and ECR pull-through caches): the build logs in to them.
 */
export function ecrRegistriesOf(resolved: ResolvedBase): string[] {
  const images = [...resolved.base.stageImages, ...resolved.base.copiedFrom]
  return [
    ...new Set(
      images
        .map(image => image.reference.registry)
        .filter(registry => parseEcrRegistryHost(registry) !== undefined)
    )
  ]
}

/** The OCI labels that record the base, so a later refresh can compare. */
export function baseLabels(resolved: ResolvedBase): string[] {
  return Object.entries(baseImageLabels(resolved.base, resolved.digest ?? null)).map(
    ([key, value]) => `${key}=${value}`
  )
}

/**
 * rebuild: if-base-changed. Reads the labels of the image the (first) function runs from ECR and
 * compares its base digest with the base's current one. No docker command runs.
 */
export async function decideRebuild(
  target: DeployTarget,
  resolved: ResolvedBase,
  registry: RegistryHttp,
  revision: string | undefined
): Promise<RefreshDecision> {
  let labels: Record<string, string> | undefined
  if (/@sha256:[a-f0-9]{64}$/.test(target.function.imageUri)) {
    try {
      labels = { ...(await registry.readImageConfig(target.function.imageUri)).labels }
    } catch (error) {
      if (!isActionError(error)) throw error
      core.notice(`The deployed image's config could not be read: ${error.reason}`)
    }
  }
  const plan = decideRefresh({
    mode: 'if-base-changed',
    deployedLabels: labels,
    currentDigest: resolved.digest,
    ...(resolved.base.reference ? { dockerfileBase: resolved.base.reference.canonical } : {}),
    ...(revision ? { checkedOutRevision: revision } : {})
  })
  for (const notice of plan.notices) core.notice(notice)
  core.info(plan.reason)
  return plan
}

/**
 * Whether the build fetches FROM images from their registries (`--pull`) rather than using
 * local copies: whenever the base's digest was resolved, so that the build uses the very image
 * the label will name, private ECR bases included (the build logs in to their registries, see
 * ecrRegistriesOf): a local copy left from an earlier build, under a tag that has moved since,
 * is not used.
 */
export function builderCanPull(resolved: ResolvedBase): boolean {
  return resolved.digest !== undefined
}

/**
 * Proves the base label true: the built image's layers must begin with the layers of the base
 * image at the recorded digest. A local copy of another version of the tag (or a tag moved during
 * the build) would make the label lie, and the next refresh would decide on a false premise.
 */
export async function verifyBaseLayers(
  built: InspectedImage,
  resolved: ResolvedBase,
  registry: RegistryHttp
): Promise<'verified' | 'unavailable' | 'no-digest'> {
  const reference = resolved.base.reference
  if (!reference || !resolved.digest) return 'no-digest'
  let base
  try {
    base = await registry.readImageConfig(
      `${reference.registry}/${reference.repository}@${resolved.digest}`
    )
  } catch (error) {
    // The registry being down after a good build is no reason to fail the deploy; but an
    // unverified digest must not be recorded, or the next refresh would trust it.
    if (!isActionError(error) || !REGISTRY_UNAVAILABLE.has(error.id)) throw error
    core.warning(
      `The base image's registry could not be read to verify the image was built on ${reference.canonical} at ${resolved.digest} (${error.reason}); the image is labelled with the base's name only, so the next base refresh rebuilds rather than trusting an unverified digest.`
    )
    return 'unavailable'
  }
  const matches =
    base.diffIds.length > 0 && base.diffIds.every((id, index) => built.diffIds[index] === id)
  if (!matches) {
    throw new ActionError(
      'base-image-mismatch',
      `The image was not built on ${reference.canonical} at ${resolved.digest} (its first layers differ from that image's), so its base label would be wrong.`,
      'The tag moved during the build, or the builder used an older copy of the base than the registry has: run again (the build pulls the base afresh whenever its digest was resolved).'
    )
  }
  return 'verified'
}

/** Errors that say the registry could not answer now, not that the answer was wrong. */
const REGISTRY_UNAVAILABLE: ReadonlySet<string> = new Set([
  'registry-unavailable',
  'registry-unreachable'
])
