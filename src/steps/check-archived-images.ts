import * as core from '@actions/core'
import type { AwsServices } from '../adapters/aws-clients.js'
import type { ImageRetention } from '../adapters/ecr-retention.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import { ActionError, isActionError } from '../domain/errors.js'
import { restoreFix, type StoredImage } from '../domain/image-retention.js'
import type { PushedImage } from './push-image.js'
import type { DeployTarget } from './resolve-target.js'

/** The reads the check makes: the alias, the function's versions, the repository's images. */
export type ArchivedImageReaders = Pick<AwsServices, 'releases' | 'versions' | 'retention'>

/**
 * Before the code update of a rollout: the image being rolled out, and the image of every version
 * the alias serves now (where a rollback goes back to), must not be archived. An archived image
 * cannot be pulled, by Lambda neither, until it is restored ("Archiving an image", ECR user
 * guide): the new version would not load, and a rollback would route traffic to a version that
 * fails at its next cold start. Refused before any change, naming the image and its restore.
 * A refused read (e.g. no ecr:DescribeImages) is a notice: this check cannot speak then.
 */
export async function checkRolloutImagesActive(
  target: DeployTarget,
  image: PushedImage,
  aliasName: string,
  readers: ArchivedImageReaders
): Promise<void> {
  const fn = target.function
  try {
    const current = await readers.releases(target.region, target.roleArn).alias(fn.arn, aliasName)
    const served = current
      ? [current.functionVersion, ...Object.keys(current.weights)].filter(v => v !== '$LATEST')
      : []
    const versions =
      served.length > 0
        ? await readers.versions(target.region, target.roleArn).publishedVersions(fn.arn)
        : []
    const images = new Map(
      // Lambda reads images only from ECR in its own region.
      (await readers.retention(target.region).images(target.repository)).map(stored => [
        stored.digest,
        stored
      ])
    )
    const archived: { digest: string; what: string; stored: StoredImage }[] = []
    const rolledOut = images.get(image.digest)
    if (rolledOut && rolledOut.status !== 'ACTIVE') {
      archived.push({
        digest: image.digest,
        what: 'the image this rollout deploys',
        stored: rolledOut
      })
    }
    for (const version of versions) {
      if (!served.includes(version.version)) continue
      const digest = `sha256:${version.codeSha256}`
      const stored = images.get(digest)
      if (stored && stored.status !== 'ACTIVE') {
        archived.push({
          digest,
          what: `version ${version.version}, which alias ${aliasName} serves now and a rollback goes back to,`,
          stored
        })
      }
    }
    const [first] = archived
    if (!first) return
    const described = archived
      .map(
        entry =>
          `${entry.what} runs ${target.repository.uri}@${entry.digest}, which is ${entry.stored.status === 'ACTIVATING' ? 'still being restored' : 'archived'}`
      )
      .join('; ')
    throw new ActionError(
      'image-archived',
      `The rollout of ${fn.name} (alias ${aliasName}) cannot start: ${described}. Lambda cannot pull an archived image until it is restored, so ${archived.some(entry => entry.digest !== image.digest) ? 'a rollback would send traffic to a version that cannot load' : 'the new version would not load'}. ${fn.name} was not changed.`,
      archived.map(entry => restoreFix(target.repository, entry.digest)).join(' ')
    )
  } catch (error) {
    if (!isActionError(error) || error.id === 'image-archived') throw error
    core.notice(
      `Whether the images of the rollout of ${fn.name} are archived was not checked: ${error.reason} ${error.fix}`
    )
  }
}

/**
 * A deploy-only `image` that ECR did not return (BatchGetImage fails an image it cannot serve):
 * when the image is archived, or still being restored, the error says so and how to restore it;
 * any other error, or a failed look-up, is given back as it was. For the caller's catch of the
 * image read (src/main.ts), so the deploy still fails before any change.
 */
export async function explainArchivedImage(
  error: unknown,
  reference: {
    readonly repository: RepositoryLocation
    readonly digest?: string
    readonly tag?: string
  },
  retention: Pick<ImageRetention, 'images'>
): Promise<unknown> {
  if (!isActionError(error) || error.id !== 'pushed-image-missing') return error
  let images: StoredImage[]
  try {
    images = await retention.images(reference.repository)
  } catch {
    return error
  }
  const image = images.find(stored =>
    reference.digest
      ? stored.digest === reference.digest
      : stored.tags.includes(reference.tag ?? '')
  )
  if (!image || image.status === 'ACTIVE') return error
  return new ActionError(
    'image-archived',
    `${reference.repository.uri}@${image.digest}${reference.tag ? ` (${reference.tag})` : ''} is ${image.status === 'ACTIVATING' ? 'still being restored from' : 'in'} ECR's archive storage class: it cannot be pulled, by Lambda neither, until it is restored. Nothing was changed.`,
    restoreFix(reference.repository, image.digest)
  )
}
