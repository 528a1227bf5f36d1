import * as core from '@actions/core'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { DockerEngine, InspectedImage } from '../adapters/docker.js'
import { makeSecretDirectory, removeSecretDirectory } from '../adapters/temporary-files.js'
import { buildArguments } from '../domain/build-command.js'
import { platformFor } from '../domain/lambda-limits.js'
import { CREATED_LABEL, REVISION_LABEL, SOURCE_LABEL } from '../domain/oci-labels.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import type { LambdaArchitecture } from '../domain/lambda-limits.js'
import type { BuildSettings, Environment } from '../inputs.js'

export interface BuiltImage {
  /** The local image, as docker knows it. */
  readonly image: InspectedImage
  /** REGISTRY/NAME:TAG for every tag, in the order given. */
  readonly references: readonly string[]
  readonly platform: string
}

/** Builds once for every repository: the image is tagged REPOSITORY:TAG for each of them. */
export async function buildImage(
  build: BuildSettings,
  destination: {
    readonly architecture: LambdaArchitecture
    readonly repositories: readonly RepositoryLocation[]
    readonly tags: readonly string[]
    /** Labels that record the base image (name and the digest resolved for this build). */
    readonly baseLabels?: readonly string[]
    /** Fetch FROM images from their registries, so the base is the one just resolved. */
    readonly pull?: boolean
  },
  docker: DockerEngine,
  env: Environment
): Promise<BuiltImage> {
  const platform = platformFor(destination.architecture)
  const references = destination.repositories.flatMap(repository =>
    destination.tags.map(tag => `${repository.uri}:${tag}`)
  )
  const workDir = makeSecretDirectory('build')
  try {
    const secretFiles = build.secrets.map((secret, index) => {
      core.setSecret(secret.value)
      const file = path.join(workDir, `secret-${index}`)
      writeFileSync(file, secret.value, { mode: 0o600 })
      return { id: secret.id, path: file }
    })
    const iidFile = path.join(workDir, 'image-id')
    const args = buildArguments(
      {
        ...build,
        platform,
        labels: [...provenanceLabels(env), ...(destination.baseLabels ?? []), ...build.labels],
        imageRefs: references,
        pull: destination.pull,
        secretFiles,
        iidFile
      },
      await docker.capabilities()
    )
    await core.group(`Build ${platform} image`, () =>
      docker.run(args, { DOCKER_BUILDKIT: '1', BUILDX_NO_DEFAULT_ATTESTATIONS: '1' })
    )
    const imageId = readFileSync(iidFile, 'utf8').trim()
    return { image: await docker.inspectImage(imageId), references, platform }
  } finally {
    removeSecretDirectory(workDir)
  }
}

/**
 * OCI annotations that tell where an image came from. `created` is the commit time rather than
 * the build time, so that rebuilding unchanged source gives the same image digest and the deploy
 * can be skipped.
 */
export function provenanceLabels(env: Environment): string[] {
  const labels: string[] = []
  if (env.GITHUB_REPOSITORY) {
    const server = env.GITHUB_SERVER_URL || 'https://github.com'
    labels.push(`${SOURCE_LABEL}=${server}/${env.GITHUB_REPOSITORY}`)
  }
  if (env.GITHUB_SHA) labels.push(`${REVISION_LABEL}=${env.GITHUB_SHA}`)
  const epoch = Number(env.SOURCE_DATE_EPOCH)
  if (env.SOURCE_DATE_EPOCH && Number.isFinite(epoch)) {
    labels.push(`${CREATED_LABEL}=${new Date(epoch * 1000).toISOString()}`)
  }
  return labels
}
