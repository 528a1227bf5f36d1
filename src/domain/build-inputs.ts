import { createHash } from 'node:crypto'

/**
 * The digest of everything a build's result depends on, so that a run whose inputs an image in
 * the repository was already built from deploys that image instead of building it again. Like
 * Docker's layer cache (and CDK's asset hash), it assumes a RUN step gives the same result when
 * its inputs are the same; unlike CDK's hash, it holds the resolved digest of every external
 * image the build starts from or copies from, so a base image that moved is never skipped.
 */

/** Raised when the build's recipe (flags, labels the action adds) changes what the same inputs give. */
export const BUILD_RECIPE_VERSION = 1

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
  /** Every external image the build needs, as written, with the digest resolved for the platform. */
  readonly images: readonly { readonly name: string; readonly digest: string }[]
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
  const images = [...inputs.images].sort((a, b) => compare(a.name, b.name))
  for (const image of images) line('image', image.name, image.digest)
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
