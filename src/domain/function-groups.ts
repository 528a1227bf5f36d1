import { ActionError } from './errors.js'

/**
 * A fleet of functions grouped by the image they run, so that a scheduled refresh builds, checks
 * and deploys once per image instead of once per function. Pure: the facts come from GetFunction.
 */

/** What GetFunction says about one function, as far as grouping needs it. */
export interface FunctionImage {
  /** The function as the user wrote it; the group lists it this way, for function-name. */
  readonly given: string
  readonly arn: string
  readonly name: string
  readonly packageType: string
  /** Code.ImageUri: the image as it was given to Lambda (a tag or a digest). */
  readonly imageUri: string
  /** Code.ResolvedImageUri: `REPOSITORY@sha256:...`, what the function really runs. */
  readonly resolvedImageUri?: string
  /** For image functions the manifest digest, hex without `sha256:`. */
  readonly codeSha256: string
  readonly architecture: string
}

/** Functions that run one image: one build, one check and one deploy step serve them all. */
export interface FunctionGroup {
  /** `REPOSITORY@sha256:DIGEST`, the image every function of the group runs. */
  readonly image: string
  readonly architecture: string
  /** The functions as given, in the order given. */
  readonly functions: readonly string[]
}

/**
 * Splits a list of functions as the workflow and the action take it (one per line or
 * comma-separated), dropping blanks and exact repeats.
 */
export function splitFunctionList(value: string): string[] {
  const names = value
    .split(/[\n,]/)
    .map(name => name.trim())
    .filter(name => name !== '')
  if (names.length === 0) {
    throw new ActionError(
      'missing-function-names',
      'No function was given to group.',
      'List the functions, by name or ARN, one per line or comma-separated.'
    )
  }
  return [...new Set(names)]
}

/**
 * Groups by the image digest each function runs. Lambda resolves a tag when the code is updated
 * and ResolvedImageUri names that digest (REPOSITORY@sha256:<CodeSha256>, AWS-validated LocalStack
 * snapshots), so two functions deployed from the same tag at different times land in different
 * groups, as they should: their deployed images differ. The same function given twice (by name
 * and by ARN) is listed once, as first given. Groups keep the order of their first function.
 */
export function groupFunctionsByImage(functions: readonly FunctionImage[]): FunctionGroup[] {
  const groups = new Map<string, { image: string; architecture: string; functions: string[] }>()
  const seen = new Set<string>()
  for (const fn of functions) {
    if (seen.has(fn.arn)) continue
    seen.add(fn.arn)
    const image = runningImage(fn)
    // Same digest means same image config, so same architecture; keyed by both all the same,
    // because a group is deployed with one architecture.
    const key = `${image} ${fn.architecture}`
    const group = groups.get(key)
    if (group) group.functions.push(fn.given)
    else groups.set(key, { image, architecture: fn.architecture, functions: [fn.given] })
  }
  return [...groups.values()]
}

/** The image a function runs, by digest; an error for a function that runs none. */
export function runningImage(fn: FunctionImage): string {
  if (fn.packageType !== 'Image') {
    throw new ActionError(
      'function-not-image',
      `The function ${fn.name} has package type ${fn.packageType}; it runs no container image, so there is no image to refresh.`,
      'Remove it from function-names: only functions with package type Image can be refreshed (a package type cannot be changed; create a new Image function to switch).'
    )
  }
  if (fn.resolvedImageUri) return fn.resolvedImageUri
  // Older answers may lack ResolvedImageUri; it is the repository of ImageUri at CodeSha256.
  const repository = repositoryOf(fn.imageUri)
  if (repository !== '' && /^[0-9a-f]{64}$/.test(fn.codeSha256)) {
    return `${repository}@sha256:${fn.codeSha256}`
  }
  throw new ActionError(
    'function-runs-no-image',
    `Lambda names no image for the function ${fn.name} (ImageUri "${fn.imageUri}", CodeSha256 "${fn.codeSha256}"), so it cannot be grouped with the functions that run the same image.`,
    'Deploy an image to it once (e.g. with this action), then refresh it on a schedule.'
  )
}

/** `HOST/NAME` of `HOST/NAME:TAG` or `HOST/NAME@sha256:...`; empty for an empty URI. */
function repositoryOf(imageUri: string): string {
  const at = imageUri.indexOf('@')
  const withoutDigest = at < 0 ? imageUri : imageUri.slice(0, at)
  const lastSlash = withoutDigest.lastIndexOf('/')
  const colon = withoutDigest.lastIndexOf(':')
  return colon > lastSlash ? withoutDigest.slice(0, colon) : withoutDigest
}
