import * as core from '@actions/core'
import type { DockerEngine } from '../adapters/docker.js'
import { DockerCommandError } from '../adapters/docker-process.js'
import type { ContainerRegistry } from '../adapters/ecr.js'
import { withRegistryLogin } from '../adapters/registry-login.js'
import { checkLayerMediaTypes, type ManifestLayer } from '../domain/image-checks.js'
import { ActionError, isActionError } from '../domain/errors.js'
import { LAMBDA_MANIFEST_MEDIA_TYPES } from '../domain/lambda-limits.js'
import type { BuiltImage } from './build-image.js'
import type { DeployTarget } from './resolve-target.js'

export interface PushedImage {
  readonly digest: string
  /** REGISTRY/NAME@sha256:...: what Lambda is given, never a tag (a tag is resolved once). */
  readonly imageUri: string
  readonly mediaType: string
}

/** How a failed `docker push` is tried again. A push is idempotent: layers and manifests are
 * content-addressed, so a second push sends only what the registry does not have yet. */
export interface PushRetry {
  readonly attempts: number
  /** Pause before the second attempt, doubled before each further one. */
  readonly backoffMs: number
  /** One attempt's time-out: a stalled push is stopped and tried again (push-timeout). */
  readonly timeoutMs: number
}

export const PUSH_RETRY: Omit<PushRetry, 'timeoutMs'> = { attempts: 3, backoffMs: 2_000 }

/**
 * docker push failures that another attempt cannot fix (refused credentials or permission, a
 * repository that does not exist, an immutable tag, an image that is not there), as docker's own
 * error lines begin: the registry's error code (distribution spec, "Error codes": DENIED,
 * UNAUTHORIZED, NAME_UNKNOWN, TAG_INVALID, MANIFEST_INVALID, printed as "denied: ...") or the CLI's
 * own sentence. Only the start of a line counts: a repository or tag named "denied" appears in
 * the middle of lines. Everything else (a registry 5xx, a reset connection, a time-out) is tried
 * again.
 */
const PERMANENT_PUSH_FAILURE =
  /^(?:error response from daemon: )?(?:denied|unauthorized|name unknown|name invalid|tag invalid|manifest invalid|no basic auth credentials|an image does not exist locally|no such image)\b/im

/**
 * docker push's line when the registry refused to write a tag that exists and is immutable, as
 * ECR words it (`tag invalid: The image tag '...' already exists in the '...' repository and
 * cannot be overwritten because the tag is immutable.`).
 */
const IMMUTABLE_TAG_REFUSAL = /^(?:error response from daemon: )?tag invalid\b.*\bimmutable\b/im

/** True when a push failed because the registry refused to overwrite an immutable tag. */
export function isImmutableTagRefusal(error: unknown): boolean {
  return error instanceof DockerCommandError && IMMUTABLE_TAG_REFUSAL.test(error.dockerOutput)
}

/**
 * The references in push order, the inputs tag (when written) first: the first reference of a
 * push sends the manifest under its tag before any other tag, so when a job building the same
 * inputs wrote an immutable inputs tag first, the registry refuses this run before any of its
 * other tags name its image.
 */
export function inputsTagFirst(
  references: readonly string[],
  inputsReference: string | undefined
): string[] {
  if (inputsReference === undefined || !references.includes(inputsReference)) return [...references]
  return [inputsReference, ...references.filter(reference => reference !== inputsReference)]
}

/**
 * Puts the references of `built` (those of this repository that are to be written) into ECR: the
 * first with `docker push`, which sends the layers and the manifest; every other one with
 * PutImage of the manifest ECR now holds, so no layer is looked at twice and every tag names the
 * same digest. The other tags are written only once the image in ECR is verified to be the one
 * built. `kept` is the digest immutable tags of this image hold already (tag-mutability.ts): with
 * nothing left to write, nothing is pushed and that image is the one deployed.
 */
export async function pushImage(
  built: BuiltImage,
  target: DeployTarget,
  registry: ContainerRegistry,
  docker: DockerEngine,
  retry: PushRetry,
  kept?: string
): Promise<PushedImage> {
  const [first, ...others] = built.references
  const digest =
    first === undefined && kept !== undefined
      ? kept
      : await pushReference(first!, target, registry, docker, retry)
  const manifest = await registry.manifest(target.repository, digest)
  verifyManifest(manifest.mediaType, manifest.body, built.configDigest, digest)
  // One after another, in the order a push would write them: when a tag is refused (an
  // immutable tag another job wrote meanwhile), the tags after it are left as they are.
  for (const reference of others) {
    await registry.tagImage(target.repository, manifest, tagOf(reference, target.repository.uri))
    core.info(`Tagged ${reference} (${digest}): PutImage of the pushed manifest, no layer moves.`)
  }
  return { digest, imageUri: `${target.repository.uri}@${digest}`, mediaType: manifest.mediaType }
}

/** The tag of REPOSITORY_URI:TAG, for a reference into that repository. */
function tagOf(reference: string, repositoryUri: string): string {
  if (!reference.startsWith(`${repositoryUri}:`)) {
    throw new ActionError(
      'push-reference-elsewhere',
      `${reference} is not a tag in ${repositoryUri}, the repository this push writes to.`,
      'This is a bug in the action: please report it with the log.'
    )
  }
  return reference.slice(repositoryUri.length + 1)
}

/** The digest docker pushed. */
async function pushReference(
  reference: string,
  target: DeployTarget,
  registry: ContainerRegistry,
  docker: DockerEngine,
  retry: PushRetry
): Promise<string> {
  const credentials = await registry.authorization(target.repository)
  return core.group(`Push to ${target.repository.uri}`, () =>
    withRegistryLogin(target.repository.registry, credentials, configDir =>
      pushWithRetry(() => docker.push(reference, configDir, retry.timeoutMs), reference, retry)
    )
  )
}

async function pushWithRetry(
  push: () => Promise<string>,
  reference: string,
  retry: PushRetry
): Promise<string> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await push()
    } catch (error) {
      // Only a push that docker ran and that failed in a way worth repeating is tried again.
      const transient =
        (error instanceof DockerCommandError && !PERMANENT_PUSH_FAILURE.test(error.dockerOutput)) ||
        (isActionError(error) && error.id === 'docker-push-timeout')
      if (!transient) throw error
      const text = error.reason
      if (attempt >= retry.attempts) {
        throw new ActionError(
          'docker-push-failed',
          `docker push ${reference} failed ${attempt} times; the last failure: ${text}`,
          'The registry or the network to it failed repeatedly: run again, and check the ECR service health for the region if it persists.'
        )
      }
      const pause = retry.backoffMs * 2 ** (attempt - 1)
      core.warning(
        `docker push ${reference} failed (attempt ${attempt} of ${retry.attempts}); pushing again in ${pause / 1000} s: ${text}`
      )
      await new Promise(resolve => setTimeout(resolve, pause))
    }
  }
}

/**
 * Reads back what ECR holds, because that, not the local image, is what Lambda will pull:
 * it must be one single-platform manifest, and its config must be the image that was checked.
 */
export function verifyManifest(
  mediaType: string,
  body: string,
  builtConfigDigest: string,
  digest: string
): void {
  if (!LAMBDA_MANIFEST_MEDIA_TYPES.includes(mediaType)) {
    throw new ActionError(
      'pushed-image-is-index',
      `ECR holds the pushed image as ${mediaType || 'an unknown media type'}; Lambda accepts only a single-platform image manifest (${LAMBDA_MANIFEST_MEDIA_TYPES.join(' or ')}).`,
      'The builder added attestations or several platforms: use a builder that accepts --provenance=false --sbom=false (docker buildx 0.10 or later), and build one platform.'
    )
  }
  const parsed = JSON.parse(body) as { config?: { digest?: string }; layers?: ManifestLayer[] }
  // Lambda would accept the update and then fail it (image-checks.ts checkLayerMediaTypes).
  const layers = checkLayerMediaTypes(parsed.layers ?? [])
  if (layers) throw new ActionError(layers.id, layers.message, layers.fix)
  const configDigest = parsed.config?.digest
  // The config digest is the same on every image store and in every registry: it proves that
  // the checked image is the pushed one.
  if (builtConfigDigest !== configDigest) {
    throw new ActionError(
      'pushed-image-differs',
      `The image in ECR (${digest}, config ${configDigest ?? 'missing'}) is not the image that was built and checked (config ${builtConfigDigest}).`,
      'Another job may have pushed the same tag at the same time: use a unique tag (the default is the commit SHA) and run again.'
    )
  }
}
