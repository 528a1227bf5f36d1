import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import { describeFailure, isActionError } from '../domain/errors.js'
import type { FunctionResult } from './deploy-functions.js'
import type { PushedImage } from './push-image.js'
import type { DeployPlan } from './resolve-target.js'

/** Where deployed-tag points now, per repository. */
export interface DeployedTagMove {
  readonly repository: string
  readonly tag: string
  readonly digest: string
  /** The digest the tag named before, when it named another one. */
  readonly previous?: string
  /** Why the tag was not moved (it then still names `previous`). */
  readonly skipped?: string
}

/**
 * Moves deployed-tag to the image the functions now run (PutImage with the stored manifest: no
 * layer moves). Only in a repository whose functions all run the image now: while one of them
 * failed and still runs the old image, the tag stays on the old image. It runs after the deploy,
 * so a failure to move it is a warning, not a failed step.
 */
export async function moveDeployedTag(
  tag: string,
  plan: DeployPlan,
  imageFor: (repositoryUri: string) => PushedImage,
  results: readonly FunctionResult[],
  aws: AwsServices
): Promise<DeployedTagMove[]> {
  const moves: DeployedTagMove[] = []
  for (const repository of plan.repositories) {
    const image = imageFor(repository.uri)
    const failed = results.some(
      result => result.target.repository === repository && result.status === 'failed'
    )
    const registry = aws.registry(repository.region)
    if (failed) {
      moves.push({
        repository: repository.uri,
        tag,
        digest: image.digest,
        skipped: 'a function of this repository failed to deploy and still runs its old image'
      })
      core.warning(
        `${repository.uri}:${tag} was not moved to ${image.digest}: a function of this repository failed to deploy, so the tag stays on the image it still runs.`
      )
      continue
    }
    try {
      const previous = await registry.findTagged(repository, tag)
      if (previous?.digest !== image.digest) {
        const manifest = await registry.manifest(repository, image.digest)
        await registry.tagImage(repository, manifest, tag)
      }
      const moved = previous && previous.digest !== image.digest ? previous.digest : undefined
      core.info(
        `Tagged ${repository.uri}:${tag} (${image.digest})${moved ? `, moved from ${moved}` : ''}.`
      )
      moves.push({ repository: repository.uri, tag, digest: image.digest, previous: moved })
    } catch (error) {
      if (!isActionError(error)) throw error
      moves.push({
        repository: repository.uri,
        tag,
        digest: image.digest,
        skipped: describeFailure(error)
      })
      core.warning(
        `deployed-tag: ${repository.uri}:${tag} could not be moved to ${image.digest}; the deploy itself succeeded. ${describeFailure(error)}`
      )
    }
  }
  return moves
}
