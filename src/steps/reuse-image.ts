import * as core from '@actions/core'
import { readFileSync, statSync } from 'node:fs'
import type { AwsServices } from '../adapters/aws-clients.js'
import { readBuildContext } from '../adapters/build-context.js'
import type { StoredManifest } from '../adapters/ecr.js'
import type { RegistryHttp } from '../adapters/registry-http.js'
import { buildInputsDigest, inputsTag, INPUTS_DIGEST_LABEL } from '../domain/build-inputs.js'
import { isActionError } from '../domain/errors.js'
import type { Finding, ImageSize } from '../domain/image-checks.js'
import { platformFor, type LambdaArchitecture } from '../domain/lambda-limits.js'
import type { BuildSettings } from '../inputs.js'
import type { ResolvedBase } from './base-image.js'
import type { PushedImage } from './push-image.js'
import { resolveExistingImage } from './resolve-image.js'
import type { RefreshDecision } from '../domain/refresh-decision.js'
import type { DeployPlan, DeployTarget } from './resolve-target.js'

/** What names the build's inputs: their digest, the repository tag and the image label. */
export interface BuildFingerprint {
  readonly digest: string
  readonly tag: string
  /** `KEY=VALUE` for --label. */
  readonly label: string
}

/** An image the repositories already hold for these inputs, checked from the registry. */
export interface ReusableImage {
  readonly tag: string
  /** Per repository URI: the image, and its manifest (to add the run's tags to it). */
  readonly images: Map<string, { pushed: PushedImage; manifest: StoredManifest }>
  readonly findings: readonly Finding[]
  /** As the registry's manifest tells it (resolve-image.ts): measured only for uncompressed layers. */
  readonly size: ImageSize
}

/**
 * The digest of the build's inputs, or undefined when one of them cannot be pinned (a context
 * that is not a local directory, an external image whose digest cannot be read): then the run
 * builds, as it would without this check.
 */
export async function fingerprintBuild(
  build: BuildSettings,
  architecture: LambdaArchitecture,
  base: ResolvedBase,
  registry: RegistryHttp
): Promise<BuildFingerprint | undefined> {
  const platform = platformFor(architecture)
  if (!isDirectory(build.context)) {
    core.info(`The build context ${build.context} is not a local directory; building.`)
    return undefined
  }
  const images: { name: string; digest: string }[] = []
  const needed = [...base.base.stageImages, ...base.base.copiedFrom]
  for (const name of new Set(needed.map(image => image.reference.canonical))) {
    if (name === base.base.reference?.canonical && base.digest) {
      images.push({ name, digest: base.digest })
      continue
    }
    try {
      images.push({ name, digest: (await registry.resolvePlatformDigest(name, platform)).digest })
    } catch (error) {
      if (!isActionError(error)) throw error
      core.info(`${name} could not be resolved to a digest (${error.reason}); building.`)
      return undefined
    }
  }
  const context = await readBuildContext(build.context, build.file)
  const digest = buildInputsDigest({
    dockerfile: readFileSync(build.file, 'utf8'),
    context: context.entries,
    target: build.target,
    buildArgs: build.buildArgs,
    labels: build.labels,
    platform,
    images
  })
  core.info(
    `Build inputs: ${context.entries.length} context entries${context.ignoreFile ? ` (after ${context.ignoreFile})` : ''}, ${images.length} external image(s), platform ${platform}: ${digest}`
  )
  return { digest, tag: inputsTag(digest), label: `${INPUTS_DIGEST_LABEL}=${digest}` }
}

/**
 * The image built from these inputs, when every repository of the plan holds it under the
 * inputs tag; it is checked from the registry as a deploy-only image is. Undefined otherwise.
 */
export async function findReusableImage(
  fingerprint: BuildFingerprint,
  plan: DeployPlan,
  aws: AwsServices,
  http: RegistryHttp,
  maxImageBytes: number
): Promise<ReusableImage | undefined> {
  const images = new Map<string, { pushed: PushedImage; manifest: StoredManifest }>()
  const findings: Finding[] = []
  let size: ImageSize | undefined
  for (const repository of plan.repositories) {
    const registry = aws.registry(repository.region)
    let manifest: StoredManifest | undefined
    try {
      manifest = await registry.findTagged(repository, fingerprint.tag)
    } catch (error) {
      // A principal that may not read images (a dry-run's minimal policy) still gets its build.
      if (!isActionError(error) || error.id !== 'access-denied') throw error
      core.notice(
        `Cannot look in ${repository.uri} for an image built from these inputs (${error.reason}); building. Allow ecr:BatchGetImage to let unchanged inputs skip the build.`
      )
      return undefined
    }
    if (!manifest) {
      core.info(`${repository.uri} holds no image built from these inputs; building.`)
      return undefined
    }
    const existing = await resolveExistingImage(
      { repository, digest: manifest.digest },
      { ...plan, targets: plan.targets.filter(target => target.repository === repository) },
      registry,
      http,
      maxImageBytes,
      manifest
    )
    images.set(repository.uri, { pushed: existing.pushed, manifest })
    findings.push(...existing.findings)
    size ??= existing.size
  }
  if (!size) return undefined
  return { tag: fingerprint.tag, images, findings, size }
}

function isDirectory(candidate: string): boolean {
  try {
    return statSync(candidate).isDirectory()
  } catch {
    return false
  }
}

/**
 * The cheap answer to a scheduled refresh: the function already runs the image that its
 * repository's inputs tag names for today's sources and today's base digest. The inputs digest
 * covers the base digest, so the base cannot have moved since that image was built. One
 * BatchGetImage, where reading the deployed image's labels costs a registry login and two
 * registry requests. Undefined when this is not shown (no such tag, another digest, no read
 * access): then the refresh reads the labels as before.
 */
export async function refreshFromInputs(
  fingerprint: BuildFingerprint,
  target: DeployTarget,
  base: ResolvedBase,
  aws: AwsServices
): Promise<RefreshDecision | undefined> {
  const deployed = /@(sha256:[a-f0-9]{64})$/.exec(target.function.imageUri)?.[1]
  if (!deployed || !target.function.imageUri.startsWith(`${target.repository.uri}@`)) {
    return undefined
  }
  let tagged: StoredManifest | undefined
  try {
    tagged = await aws
      .registry(target.repository.region)
      .findTagged(target.repository, fingerprint.tag)
  } catch (error) {
    if (!isActionError(error)) throw error
    return undefined
  }
  if (tagged?.digest !== deployed) return undefined
  const baseImage = base.base.reference?.canonical
  const reason = `${target.function.name} runs ${deployed}, the image ${target.repository.uri}:${fingerprint.tag} names: it was built from these sources${baseImage ? ` and ${baseImage} at ${base.digest}` : ''}, so the base image has not been updated since; nothing to rebuild.`
  core.info(reason)
  return {
    rebuild: false,
    reason,
    baseImage,
    currentDigest: base.digest,
    deployedDigest: base.digest,
    baseImageUpdated: false,
    deployedRevision: undefined,
    notices: []
  }
}
