import * as core from '@actions/core'
import { readFileSync, statSync } from 'node:fs'
import type { AwsServices } from '../adapters/aws-clients.js'
import { readBuildContext } from '../adapters/build-context.js'
import type { ContainerRegistry, StoredManifest } from '../adapters/ecr.js'
import type { RegistryHttp } from '../adapters/registry-http.js'
import {
  buildInputsDigest,
  describeUnpinned,
  EVERY_PLATFORM,
  inputsTag,
  inputsToPin,
  INPUTS_DIGEST_LABEL,
  type PinnedImage
} from '../domain/build-inputs.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import { isActionError } from '../domain/errors.js'
import type { Finding, ImageSize } from '../domain/image-checks.js'
import { platformFor, type LambdaArchitecture } from '../domain/lambda-limits.js'
import type { BuildSettings } from '../inputs.js'
import type { ResolvedBase } from './base-image.js'
import type { PushedImage } from './push-image.js'
import { resolveExistingImage } from './resolve-image.js'
import type { RefreshDecision } from '../domain/refresh-decision.js'
import { inputsLabelMismatch } from '../domain/reuse-trust.js'
import { configDigestOf, isTagImmutable, type TagMutability } from '../domain/tag-mutability.js'
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
 * that is not a local directory, an external image whose digest cannot be read, a source the
 * build fetches unpinned, such as ADD <url>, which a notice names by file and line): then the run
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
  const needed = inputsToPin(base.base, platform)
  if (needed.unpinned.length > 0) {
    for (const source of needed.unpinned) {
      core.notice(describeUnpinned(source, build.file), {
        file: build.file,
        startLine: source.line
      })
    }
    return undefined
  }
  const images: PinnedImage[] = []
  for (const { name, platform: pinned, where } of needed.images) {
    if (name === base.base.reference?.canonical && pinned === platform && base.digest) {
      images.push({ name, platform: pinned, digest: base.digest })
      continue
    }
    try {
      // EVERY_PLATFORM: the index's digest, which covers the builder's own platform too.
      const resolved = await registry.resolvePlatformDigest(
        name,
        pinned === EVERY_PLATFORM ? platform : pinned
      )
      const digest =
        pinned === EVERY_PLATFORM ? (resolved.indexDigest ?? resolved.digest) : resolved.digest
      images.push({ name, platform: pinned, digest })
    } catch (error) {
      if (!isActionError(error)) throw error
      core.info(`${name} (${where}) could not be resolved to a digest (${error.reason}); building.`)
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
 * inputs tag, its inputs label names these inputs (reuse-trust.ts: the tag alone can be moved),
 * and it is checked from the registry as a deploy-only image is. Undefined otherwise, with a
 * notice when a tag names an image of other inputs.
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
    const checked = await checkInputsImage(
      fingerprint,
      repository,
      manifest,
      plan,
      registry,
      http,
      maxImageBytes
    )
    if ('untrusted' in checked) {
      core.notice(
        `${repository.uri}:${fingerprint.tag} names ${manifest.digest}, which was not built from these inputs (${checked.untrusted}): it is not reused; building. The tag was moved, or written by other means than this action.`
      )
      return undefined
    }
    images.set(repository.uri, { pushed: checked.pushed, manifest })
    findings.push(...checked.findings)
    size ??= checked.size
  }
  if (!size) return undefined
  return { tag: fingerprint.tag, images, findings, size }
}

/** An image a repository holds under the inputs tag, checked from the registry. */
export interface InputsImage {
  readonly pushed: PushedImage
  readonly manifest: StoredManifest
  readonly findings: readonly Finding[]
  readonly size: ImageSize
}

/**
 * The image `manifest` (what the inputs tag names in `repository`) checked as a deploy-only image
 * is, when its inputs label names these inputs; else why not.
 */
async function checkInputsImage(
  fingerprint: BuildFingerprint,
  repository: RepositoryLocation,
  manifest: StoredManifest,
  plan: DeployPlan,
  registry: ContainerRegistry,
  http: RegistryHttp,
  maxImageBytes: number
): Promise<InputsImage | { untrusted: string }> {
  const existing = await resolveExistingImage(
    { repository, digest: manifest.digest },
    { ...plan, targets: plan.targets.filter(target => target.repository === repository) },
    registry,
    http,
    maxImageBytes,
    manifest
  )
  const untrusted = inputsLabelMismatch(existing.labels, fingerprint.digest)
  if (untrusted !== undefined) return { untrusted }
  return { pushed: existing.pushed, manifest, findings: existing.findings, size: existing.size }
}

/**
 * The image to deploy from `repository` instead of this run's build: when the repository's
 * inputs tag is immutable and already names another image than the build (another job built the
 * same inputs and pushed first), ECR would refuse the tag, and that image, once its label names
 * these inputs and it passes the registry checks, is what this run would have deployed.
 * Undefined when the build is to be pushed as usual (the tag is mutable, absent, or names the
 * build itself), and also when the tag names an image of other inputs: the push then stops at the
 * tag, as for any immutable tag that names another image (tag-mutability.ts).
 */
export async function adoptImmutableInputsImage(
  fingerprint: BuildFingerprint,
  repository: RepositoryLocation,
  mutability: TagMutability,
  builtConfigDigest: string,
  plan: DeployPlan,
  aws: AwsServices,
  http: RegistryHttp,
  maxImageBytes: number
): Promise<InputsImage | undefined> {
  if (!isTagImmutable(mutability, fingerprint.tag)) return undefined
  const registry = aws.registry(repository.region)
  const manifest = await registry.findTagged(repository, fingerprint.tag)
  if (!manifest || configDigestOf(manifest.body) === builtConfigDigest) return undefined
  const checked = await checkInputsImage(
    fingerprint,
    repository,
    manifest,
    plan,
    registry,
    http,
    maxImageBytes
  )
  if ('untrusted' in checked) {
    core.warning(
      `${repository.uri}:${fingerprint.tag} is immutable and names ${manifest.digest}, which was not built from these inputs (${checked.untrusted}). Delete that tag (aws ecr batch-delete-image) so that the image of these inputs can be tagged.`
    )
    return undefined
  }
  core.notice(
    `${repository.uri}:${fingerprint.tag} is immutable and already names ${manifest.digest}, built from these same inputs by another run and checked from the registry: it is this run's image in ${repository.uri}, and the image this run built is not pushed there.`
  )
  return checked
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
 * repository's inputs tag names for today's sources and today's base digest, and that image's
 * inputs label names them too (the tag alone can be moved: reuse-trust.ts). The inputs digest
 * covers the base digest, so the base cannot have moved since that image was built. One
 * BatchGetImage and one config read, where reading the deployed image's labels costs the
 * manifest as well. Undefined when this is not shown (no such tag, another digest, another
 * label, no read access): then the refresh reads the labels as before.
 */
export async function refreshFromInputs(
  fingerprint: BuildFingerprint,
  target: DeployTarget,
  base: ResolvedBase,
  aws: AwsServices,
  http: RegistryHttp
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
  const configDigest = configDigestOf(tagged.body)
  if (configDigest === undefined) return undefined
  let labels: Readonly<Record<string, string>>
  try {
    labels = (await http.readImageConfigBlob(target.function.imageUri, configDigest)).labels
  } catch (error) {
    if (!isActionError(error)) throw error
    return undefined
  }
  const untrusted = inputsLabelMismatch(labels, fingerprint.digest)
  if (untrusted !== undefined) {
    core.notice(
      `${target.repository.uri}:${fingerprint.tag} names ${deployed}, the image ${target.function.name} runs, but that image was not built from these inputs (${untrusted}); reading its base image labels instead.`
    )
    return undefined
  }
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
