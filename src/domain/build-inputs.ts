import { createHash } from 'node:crypto'
import type { DockerfileBase, UnpinnedSource } from './dockerfile-base.js'

/**
 * The digest of everything a build's result depends on, so that a run whose inputs an image in
 * the repository was already built from deploys that image instead of building it again. Like
 * Docker's layer cache (and CDK's asset hash), it assumes a RUN step gives the same result when
 * its inputs are the same; unlike CDK's hash, it holds the resolved digest of every external
 * image the build starts from, copies from, mounts, or reads the Dockerfile with (the `# syntax`
 * frontend), so an image that moved is never skipped. What the build fetches without a pin (ADD
 * of a URL without --checksum, ADD of a git repository) has no digest before it is fetched: such
 * a Dockerfile is not fingerprinted, and the run builds (inputsToPin says which instruction).
 */

/**
 * Raised when the build's recipe (flags, labels the action adds) changes what the same inputs
 * give, or when the digest covers more: 2 added the platform of each image, mounts and frontends.
 */
export const BUILD_RECIPE_VERSION = 2

/** The label on the image, and the tag in the repository, that record the inputs digest. */
export const INPUTS_DIGEST_LABEL = 'io.github.lambda-image-deploy.inputs-digest'
export const INPUTS_TAG_PREFIX = 'inputs-'

/** One entry of the build context as the engine receives it (after .dockerignore). */
export interface ContextEntry {
  /** Relative to the context, with `/` separators. */
  readonly path: string
  readonly type: 'file' | 'directory' | 'symlink'
  /** Permission bits (mode & 0o7777): COPY keeps them. */
  readonly mode: number
  /** sha256 of a file's bytes, or a symlink's target; empty for a directory. */
  readonly content: string
}

export interface BuildInputs {
  readonly dockerfile: string
  readonly context: readonly ContextEntry[]
  readonly target?: string
  readonly buildArgs: readonly string[]
  readonly labels: readonly string[]
  readonly platform: string
  /** Every external image the build needs, with the digest resolved for its platform. */
  readonly images: readonly PinnedImage[]
}

/**
 * The platform an image's digest is read for: the one built for, a FROM's literal --platform,
 * or EVERY_PLATFORM for what the builder pulls for its own platform (a
 * `FROM --platform=$BUILDPLATFORM` stage, the frontend). The builder's platform is the engine's,
 * unknown until the engine is asked, and a run that reuses an image never asks it; the digest of
 * the index the tag names changes whenever the image of any of its platforms does, the
 * builder's included.
 */
export const EVERY_PLATFORM = 'every'
export type PinPlatform = 'linux/amd64' | 'linux/arm64' | typeof EVERY_PLATFORM

export interface PinnedImage {
  /** Fully qualified, e.g. `docker.io/library/golang:1.23`. */
  readonly name: string
  readonly platform: PinPlatform
  /** The platform's manifest digest, or for EVERY_PLATFORM the digest the tag names (an index). */
  readonly digest: string
}

/** An external image whose digest the fingerprint needs, and the first instruction naming it. */
export interface ImageToPin {
  readonly name: string
  readonly platform: PinPlatform
  /** `FROM on line 3`, `RUN --mount on line 7`, `# syntax on line 1`. */
  readonly where: string
}

/** What must be resolved to fingerprint a build, or why it cannot be. */
export interface InputsToPin {
  readonly images: readonly ImageToPin[]
  /** Sources with no digest before they are fetched: when any, the build must run. */
  readonly unpinned: readonly UnpinnedSource[]
}

/**
 * The external inputs of the Dockerfile's build besides the context: the images to resolve, each
 * for the platform BuildKit pulls it for, and the sources that cannot be pinned.
 */
export function inputsToPin(
  base: DockerfileBase,
  platform: 'linux/amd64' | 'linux/arm64'
): InputsToPin {
  const images = new Map<string, ImageToPin>()
  const add = (name: string, pinPlatform: PinPlatform, where: string) => {
    const key = `${name} ${pinPlatform}`
    if (!images.has(key)) images.set(key, { name, platform: pinPlatform, where })
  }
  for (const frontend of base.frontends) {
    add(
      frontend.reference.canonical,
      EVERY_PLATFORM,
      frontend.line === null
        ? 'the BUILDKIT_SYNTAX build argument'
        : `# syntax on line ${frontend.line}`
    )
  }
  for (const image of [...base.stageImages, ...base.copiedFrom].sort((a, b) => a.line - b.line)) {
    const where = `${image.instruction === 'RUN' ? 'RUN --mount' : image.instruction === 'COPY' ? 'COPY --from' : 'FROM'} on line ${image.line}`
    add(
      image.reference.canonical,
      pinPlatformOf(image.platform, image.platformIsSymbolic, platform),
      where
    )
  }
  return { images: [...images.values()], unpinned: base.unpinnedSources }
}

function pinPlatformOf(
  written: string | null,
  symbolic: boolean,
  platform: 'linux/amd64' | 'linux/arm64'
): PinPlatform {
  if (written === null) return platform
  if (symbolic) return EVERY_PLATFORM
  const normalized = written.toLowerCase()
  if (normalized === 'linux/amd64' || normalized === 'linux/arm64') return normalized
  return EVERY_PLATFORM
}

/** Why a source makes the run build, naming the instruction by file and line. */
export function describeUnpinned(source: UnpinnedSource, file: string): string {
  const at = `${file}:${source.line}`
  switch (source.kind) {
    case 'url':
      return `${source.instruction} ${source.source} at ${at} fetches a file whose content is known only by fetching it, so the inputs digest cannot cover it; building. Add --checksum=sha256:HEX to that ADD to pin it (then unchanged inputs reuse the image).`
    case 'git':
      return `${source.instruction} ${source.source} at ${at} fetches a git repository whose content is known only by fetching it, so the inputs digest cannot cover it; building. Copy the sources into the build context instead to let unchanged inputs reuse the image.`
    default:
      return `${source.instruction} at ${at} names ${source.source}, a variable that may name a URL or an image, so the inputs digest cannot cover it; building.`
  }
}

/** `sha256:HEX` over a canonical form of the inputs: the same inputs give the same digest. */
export function buildInputsDigest(inputs: BuildInputs): string {
  const hash = createHash('sha256')
  const line = (...fields: (string | number)[]) => hash.update(`${JSON.stringify(fields)}\n`)
  line('recipe', BUILD_RECIPE_VERSION)
  line('dockerfile', inputs.dockerfile)
  line('target', inputs.target ?? '')
  line('platform', inputs.platform)
  // Later --build-arg / --label values of one name win in the build, so only they count.
  for (const [name, value] of lastValues(inputs.buildArgs)) line('build-arg', name, value)
  for (const [name, value] of lastValues(inputs.labels)) line('label', name, value)
  const images = [...inputs.images].sort(
    (a, b) => compare(a.name, b.name) || compare(a.platform, b.platform)
  )
  for (const image of images) line('image', image.name, image.platform, image.digest)
  const entries = [...inputs.context].sort((a, b) => compare(a.path, b.path))
  for (const entry of entries) line(entry.type, entry.mode, entry.path, entry.content)
  return `sha256:${hash.digest('hex')}`
}

/** The repository tag that names the image built from these inputs (ECR allows 300 characters). */
export function inputsTag(digest: string): string {
  return `${INPUTS_TAG_PREFIX}${digest.replace(/^sha256:/, '')}`
}

function lastValues(pairs: readonly string[]): [string, string][] {
  const values = new Map<string, string>()
  for (const pair of pairs) {
    const equals = pair.indexOf('=')
    const name = equals < 0 ? pair : pair.slice(0, equals)
    values.set(name, equals < 0 ? '' : pair.slice(equals + 1))
  }
  return [...values].sort((a, b) => compare(a[0], b[0]))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
