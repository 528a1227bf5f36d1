import * as core from '@actions/core'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { DockerEngine, InspectedImage } from '../adapters/docker.js'
import { makeSecretDirectory, removeSecretDirectory } from '../adapters/temporary-files.js'
import { buildArguments, parseBuildMetadata } from '../domain/build-command.js'
import {
  checkCaches,
  checkDockerVersions,
  chooseBuilder,
  describeDockerSetup,
  type DockerFacts
} from '../domain/docker-setup.js'
import { ActionError } from '../domain/errors.js'
import { platformFor } from '../domain/lambda-limits.js'
import { CREATED_LABEL, REVISION_LABEL, SOURCE_LABEL } from '../domain/oci-labels.js'
import type { RepositoryLocation } from '../domain/aws-names.js'
import type { LambdaArchitecture } from '../domain/lambda-limits.js'
import type { BuildSettings, Environment } from '../inputs.js'

export interface BuiltImage {
  /** The local image, as docker knows it. */
  readonly image: InspectedImage
  /** The image's config digest, as the build reported it (on either image store). */
  readonly configDigest: string
  /** The engine and builder it was built on. */
  readonly docker: DockerFacts
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
  const facts = await docker.describe(build.builder)
  checkDockerVersions(facts)
  checkCaches({ from: build.cacheFrom, to: build.cacheTo }, facts, env)
  core.info(describeDockerSetup(facts))
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
    const metadataFile = path.join(workDir, 'build-metadata.json')
    const args = buildArguments({
      ...build,
      builder: chooseBuilder(build.builder, facts.context),
      platform,
      labels: [...provenanceLabels(env), ...(destination.baseLabels ?? []), ...build.labels],
      imageRefs: references,
      pull: destination.pull,
      secretFiles,
      metadataFile
    })
    // The job's environment goes to buildx whole: it reads the runner's cache service variables
    // (GHA_CACHE_VARIABLES) from there for type=gha caches.
    await core.group(`Build ${platform} image`, () =>
      docker.run(args, { BUILDX_NO_DEFAULT_ATTESTATIONS: '1' })
    )
    const built = parseBuildMetadata(readFileSync(metadataFile, 'utf8'))
    // By the tag just written: the classic store names the image by its config digest, the
    // containerd store by its manifest digest, and a tag works on both.
    const image = await docker.inspectImage(references[0]!)
    if (image.id !== built.configDigest && image.id !== built.manifestDigest) {
      throw new ActionError(
        'built-image-not-loaded',
        `The engine's ${references[0]} is ${image.id}, not the image just built (config ${built.configDigest}): the build did not load its result into this engine, or another build tagged the same name meanwhile.`,
        'Build on a builder that loads into the engine the step talks to (leave the builder input empty, or use a docker-container builder), and use a tag unique to the run (the default is the commit SHA).'
      )
    }
    return { image, configDigest: built.configDigest, docker: facts, references, platform }
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
