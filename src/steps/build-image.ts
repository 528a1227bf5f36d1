import * as core from '@actions/core'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { DockerEngine, InspectedImage } from '../adapters/docker.js'
import type { RegistryCredentials } from '../adapters/ecr.js'
import { withRegistryLogins, type RegistryLogin } from '../adapters/registry-login.js'
import { makeSecretDirectory, removeSecretDirectory } from '../adapters/temporary-files.js'
import {
  buildArguments,
  parseBuildMetadata,
  type BuildMetadata,
  type BuildRequest
} from '../domain/build-command.js'
import {
  buildCaches,
  checkCaches,
  checkDockerVersions,
  chooseCaches,
  chooseBuilder,
  describeDockerSetup,
  inlineCacheSources,
  type CacheSourceTarget,
  type DockerFacts
} from '../domain/docker-setup.js'
import { findRunSteps } from '../domain/dockerfile-base.js'
import { checkEmulation, isKnownPlatform, recogniseMissingEmulation } from '../domain/emulation.js'
import { ActionError, describeFailure, isActionError } from '../domain/errors.js'
import { DockerCommandError } from '../adapters/docker-process.js'
import { readKernelEmulators } from '../adapters/kernel-emulators.js'
import { platformFor } from '../domain/lambda-limits.js'
import { CREATED_LABEL, REVISION_LABEL, SOURCE_LABEL } from '../domain/oci-labels.js'
import { parseEcrRegistryHost, type RepositoryLocation } from '../domain/aws-names.js'
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
  /**
   * Writes the default registry build cache, once the image has passed its checks: nothing
   * reaches ECR from an image that will not be deployed. Undefined when there is none to write.
   */
  readonly exportCache?: () => Promise<void>
}

/** Builds once for every repository: the image is tagged REPOSITORY:TAG for each of them. */
export async function buildImage(
  build: BuildSettings,
  destination: {
    readonly architecture: LambdaArchitecture
    readonly repositories: readonly RepositoryLocation[]
    readonly tags: readonly string[]
    /** The default cache's tag may not be overwritten in the first repository. */
    readonly cacheTagImmutable?: boolean
    /** The functions deployed to: the images they run now are where an inline cache is read. */
    readonly targets?: readonly CacheSourceTarget[]
    /** Labels that record the base image (name and the digest resolved for this build). */
    readonly baseLabels?: readonly string[]
    /** Fetch FROM images from their registries, so the base is the one just resolved. */
    readonly pull?: boolean
    /** ECR registries the build pulls external images from (private base images). */
    readonly imageRegistries?: readonly string[]
    /** Credentials for an ECR registry: those above, and the first repository's (the cache's). */
    readonly registryCredentials?: (registry: RepositoryLocation) => Promise<RegistryCredentials>
  },
  docker: DockerEngine,
  env: Environment
): Promise<BuiltImage> {
  const facts = await docker.describe(build.builder)
  checkDockerVersions(facts)
  checkCaches({ from: build.cacheFrom, to: build.cacheTo }, facts, env)
  core.info(describeDockerSetup(facts))
  const platform = platformFor(destination.architecture)
  checkCrossPlatformRuns(build, platform, facts)
  const caches = chooseCaches(
    { from: build.cacheFrom, to: build.cacheTo },
    build.registryCache,
    facts,
    destination.repositories[0]!.uri,
    destination.architecture,
    destination.cacheTagImmutable,
    inlineCacheSources(destination.repositories[0]!.uri, destination.targets ?? [])
  )
  if (caches.note) core.info(caches.note)
  const references = destination.repositories.flatMap(repository =>
    destination.tags.map(tag => `${repository.uri}:${tag}`)
  )
  // buildx pulls private ECR bases, and reads and writes the default cache, with ECR's tokens.
  const access = await buildLogins(destination, caches.repository)
  // An inline cache needs no login to be written; only reading one does.
  const cache = access.cacheAllowed ? caches : { from: [], to: [], inline: caches.inline }
  const caching = buildCaches(cache, { to: build.cacheTo })
  const request = {
    ...build,
    builder: chooseBuilder(build.builder, facts.context),
    platform,
    labels: [...provenanceLabels(env), ...(destination.baseLabels ?? []), ...build.labels],
    imageRefs: references,
    pull: destination.pull,
    cacheFrom: caching.from
  }
  const deferred = caching.afterChecks
  const login = access.logins.length > 0 ? access.logins : undefined
  const built = await core.group(`Build ${platform} image`, async () => {
    try {
      return await runBuild(build, { ...request, cacheTo: caching.to }, docker, login)
    } catch (error) {
      throw missingEmulation(error, platform, facts) ?? error
    }
  })
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
  const exportCache =
    deferred.length === 0
      ? undefined
      : () =>
          core.group('Export the build cache', async () => {
            try {
              await runBuild(
                build,
                { ...request, cacheTo: deferred, cacheOnly: true },
                docker,
                login
              )
            } catch (error) {
              core.warning(
                `The build cache was not written (${describeFailure(error)}); the deploy goes on, and the next build starts without it.`
              )
            }
          })
  return {
    image,
    configDigest: built.configDigest,
    docker: facts,
    references,
    platform,
    exportCache
  }
}

/**
 * Before anything is built: RUN steps that run for a platform the engine can neither run nor
 * emulate fail here, with the fix, instead of half-way through the build with "exec format
 * error". A build for a foreign platform without such steps goes ahead.
 */
function checkCrossPlatformRuns(build: BuildSettings, platform: string, facts: DockerFacts): void {
  const buildArgs = Object.fromEntries(
    build.buildArgs.map(arg => [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)])
  )
  // Without the engine's platform, $BUILDPLATFORM cannot be resolved; checkEmulation says so.
  const steps = isKnownPlatform(facts.enginePlatform)
    ? findRunSteps(readFileSync(build.file, 'utf8'), {
        target: build.target,
        buildArgs,
        platform,
        buildPlatform: facts.enginePlatform
      })
    : []
  const check = checkEmulation(
    steps,
    {
      enginePlatform: facts.enginePlatform,
      builder: facts.builder,
      kernel: readKernelEmulators(facts)
    },
    build.file
  )
  if (check.note) core.info(check.note)
}

/** After the fact: the build's own words for a missing emulator, as the same clear error. */
function missingEmulation(
  error: unknown,
  platform: string,
  facts: DockerFacts
): ActionError | undefined {
  if (!(error instanceof DockerCommandError) || error.id !== 'docker-build-failed') return undefined
  return recogniseMissingEmulation(error.dockerOutput, platform, facts.enginePlatform)
}

/**
 * The ECR logins a build needs: the registries of private base images (a token that cannot be
 * had fails the run, as the pull would), and the default cache's registry, which is only left
 * out, with a notice, when the principal may not get a token (a dry-run's minimal policy).
 */
async function buildLogins(
  destination: {
    readonly repositories: readonly RepositoryLocation[]
    readonly imageRegistries?: readonly string[]
    readonly registryCredentials?: (registry: RepositoryLocation) => Promise<RegistryCredentials>
  },
  cacheRepository: string | undefined
): Promise<{ logins: RegistryLogin[]; cacheAllowed: boolean }> {
  const credentialsFor = destination.registryCredentials
  if (!credentialsFor) return { logins: [], cacheAllowed: cacheRepository === undefined }
  const login = async (registry: string): Promise<RegistryLogin> => ({
    registry,
    credentials: await credentialsFor(parseEcrRegistryHost(registry)!)
  })
  const logins = await Promise.all([...new Set(destination.imageRegistries ?? [])].map(login))
  if (cacheRepository === undefined) return { logins, cacheAllowed: true }
  const cacheRegistry = destination.repositories[0]!.registry
  if (logins.some(entry => entry.registry === cacheRegistry)) return { logins, cacheAllowed: true }
  try {
    return { logins: [...logins, await login(cacheRegistry)], cacheAllowed: true }
  } catch (error) {
    if (!isActionError(error) || error.id !== 'access-denied') throw error
    core.notice(
      `No registry build cache: ${error.reason} The build goes on without it; allow ecr:GetAuthorizationToken (or set registry-cache: false) to stop this notice.`
    )
    return { logins, cacheAllowed: false }
  }
}

/** One `docker buildx build`, with the secrets in files that exist only while it runs. */
async function runBuild(
  build: BuildSettings,
  request: Omit<BuildRequest, 'secretFiles' | 'metadataFile'>,
  docker: DockerEngine,
  login?: readonly RegistryLogin[]
): Promise<BuildMetadata> {
  if (login) {
    return withRegistryLogins(
      login,
      configDir => runBuildWith(build, request, docker, { DOCKER_CONFIG: configDir }),
      { keepUserLogins: true }
    )
  }
  return runBuildWith(build, request, docker, {})
}

async function runBuildWith(
  build: BuildSettings,
  request: Omit<BuildRequest, 'secretFiles' | 'metadataFile'>,
  docker: DockerEngine,
  env: Record<string, string>
): Promise<BuildMetadata> {
  const workDir = makeSecretDirectory('build')
  try {
    const secretFiles = build.secrets.map((secret, index) => {
      core.setSecret(secret.value)
      const file = path.join(workDir, `secret-${index}`)
      writeFileSync(file, secret.value, { mode: 0o600 })
      return { id: secret.id, path: file }
    })
    const metadataFile = path.join(workDir, 'build-metadata.json')
    // The job's environment goes to buildx whole: it reads the runner's cache service variables
    // (GHA_CACHE_VARIABLES) from there for type=gha caches.
    await docker.run(buildArguments({ ...request, secretFiles, metadataFile }), {
      ...env,
      BUILDX_NO_DEFAULT_ATTESTATIONS: '1'
    })
    return request.cacheOnly
      ? { configDigest: '' }
      : parseBuildMetadata(readFileSync(metadataFile, 'utf8'))
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
