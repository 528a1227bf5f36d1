import { parseImageReference, type RepositoryLocation } from './aws-names.js'
import { ActionError } from './errors.js'

/** What a function runs now, as far as choosing its repository goes. */
export interface RunningImage {
  readonly functionName: string
  /** GetFunction's Code.ImageUri; empty for a function that runs no image yet. */
  readonly imageUri: string
  /** The function does not exist yet; the deploy creates it (create-function-role). */
  readonly creating?: boolean
}

/** The repository a region's functions already run their images from, and who runs from it. */
export interface DerivedRepository {
  readonly location: RepositoryLocation
  readonly functions: readonly string[]
}

const FIX =
  "Set repository in the step's with: block (a URI, or a repository name in the workflow's account)."

/**
 * With `repository` left empty, the functions of one region name it themselves: the private ECR
 * repository they all run their image from. Anything less certain (no image yet, an image the
 * action cannot push to, functions that disagree) needs the input, so that a deploy never lands
 * in a repository the user did not mean.
 */
export function repositoryFromFunctions(
  region: string,
  functions: readonly RunningImage[]
): DerivedRepository {
  const existing = functions.filter(fn => !fn.creating)
  if (existing.length === 0) {
    throw new ActionError(
      'repository-not-derivable',
      `repository is empty and ${functions.map(fn => fn.functionName).join(', ')} ${functions.length === 1 ? 'does' : 'do'} not exist yet, so there is no image to take a repository from.`,
      `${FIX} With create-repository: true, a missing repository given by name is created too.`
    )
  }
  // A function still to be created goes where the region's existing functions already run from.
  const byUri = new Map<string, { location: RepositoryLocation; functions: string[] }>()
  for (const fn of existing) {
    if (fn.imageUri === '') {
      throw new ActionError(
        'repository-not-derivable',
        `repository is empty and the function ${fn.functionName} runs no image yet, so there is no repository to take from it.`,
        FIX
      )
    }
    let location: RepositoryLocation
    try {
      location = parseImageReference(fn.imageUri).repository
    } catch {
      throw new ActionError(
        'repository-not-derivable',
        `repository is empty and the function ${fn.functionName} runs ${fn.imageUri}, which is not an image in a private ECR repository.`,
        FIX
      )
    }
    if (location.region !== region) {
      throw new ActionError(
        'repository-not-derivable',
        `repository is empty and the function ${fn.functionName} (in ${region}) runs an image from ${location.uri}, in ${location.region}; Lambda only runs images from its own region.`,
        `${FIX} Use a repository in ${region}.`
      )
    }
    const entry = byUri.get(location.uri) ?? { location, functions: [] }
    entry.functions.push(fn.functionName)
    byUri.set(location.uri, entry)
  }
  const found = [...byUri.values()]
  if (found.length !== 1) {
    throw new ActionError(
      'repository-not-derivable',
      `repository is empty and the functions in ${region} run images from ${found.length} repositories (${found.map(f => `${f.location.uri}: ${f.functions.join(', ')}`).join('; ')}); one build is pushed to one repository per region.`,
      `${FIX} Or deploy the functions of each repository in a step of their own.`
    )
  }
  return found[0]!
}
