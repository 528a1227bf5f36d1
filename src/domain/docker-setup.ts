import { ActionError } from './errors.js'

/**
 * The Docker engine, image store and builder a build runs on, and the rules that follow from
 * them: which versions are accepted, which builder is used, which caches can work. Pure: the
 * docker adapter gathers the facts, this module decides.
 */

export type ImageStore = 'classic' | 'containerd'

/** What `docker version`, `docker info`, `docker buildx version|inspect` and `docker context` say. */
export interface DockerFacts {
  readonly engineVersion: string
  readonly apiVersion: string
  readonly imageStore: ImageStore
  readonly buildxVersion: string
  /** The engine's own platform (`docker version`: Server.Os/Server.Arch), e.g. linux/amd64. */
  readonly enginePlatform: string
  /** The release of the kernel the engine runs on (Server.KernelVersion). */
  readonly kernelVersion: string
  /** The docker context the CLI talks to ("default" when DOCKER_HOST or nothing is set). */
  readonly context: string
  /** Where that context's engine listens, e.g. unix:///var/run/docker.sock. */
  readonly endpoint: string
  readonly builder: BuilderFacts
}

export interface BuilderFacts {
  readonly name: string
  /** buildx's driver: docker (the engine's own BuildKit), docker-container, remote, kubernetes. */
  readonly driver: string
  /** The platforms its nodes report (`Platforms:` of `docker buildx inspect`), without `*`. */
  readonly platforms: readonly string[]
}

/**
 * The oldest engine and buildx the action accepts.
 * - Engine 23.0: BuildKit became the engine's default builder and the classic builder's
 *   behaviour stopped being what `docker build` does; older engines (20.10 reached end of life in
 *   2023) are not tested. The release notes: https://docs.docker.com/engine/release-notes/23.0/
 * - buildx 0.10: `--provenance` / `--sbom` exist (without them an attestation turns the image
 *   into an index, which Lambda refuses) and `--metadata-file` reports
 *   `containerimage.config.digest`, which identifies the image on either image store.
 */
export const MINIMUM_ENGINE = '23.0.0'
export const MINIMUM_BUILDX = '0.10.0'
/** buildx reads the runner's cache service variables (ACTIONS_CACHE_SERVICE_V2 and
 * ACTIONS_RESULTS_URL) from 0.21 on: https://github.com/docker/buildx/releases/tag/v0.21.0 */
export const MINIMUM_BUILDX_FOR_GHA_CACHE = '0.21.0'
/** `docker push --platform` needs API 1.46 (engine 27): https://docs.docker.com/reference/api/engine/version-history/ */
export const MINIMUM_API_FOR_PUSH_PLATFORM = '1.46'

/** The numeric part of a version as docker prints it: "28.5.2+dfsg4" → [28, 5, 2]. */
export function versionNumbers(version: string): number[] | undefined {
  const match = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(version)
  if (!match) return undefined
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)]
}

/** a >= b, comparing major, minor, patch; an unreadable version is never at least anything. */
export function versionAtLeast(a: string, b: string): boolean {
  const left = versionNumbers(a)
  const right = versionNumbers(b)
  if (!left || !right) return false
  for (let i = 0; i < 3; i += 1) {
    if (left[i]! !== right[i]!) return left[i]! > right[i]!
  }
  return true
}

/** Refuses an engine or buildx older than the action supports, naming what was found. */
export function checkDockerVersions(facts: DockerFacts): void {
  if (!versionAtLeast(facts.engineVersion, MINIMUM_ENGINE)) {
    throw new ActionError(
      'docker-engine-too-old',
      `The Docker engine is version ${facts.engineVersion}; this action needs ${MINIMUM_ENGINE} or later.`,
      "Use a current runner image (GitHub's ubuntu-24.04 has Docker 28), or upgrade the engine on a self-hosted runner."
    )
  }
  if (!versionAtLeast(facts.buildxVersion, MINIMUM_BUILDX)) {
    throw new ActionError(
      'buildx-too-old',
      `docker buildx is ${facts.buildxVersion || 'not installed'}; this action needs buildx ${MINIMUM_BUILDX} or later.`,
      'Add docker/setup-buildx-action before this step, or install a current docker-buildx plugin.'
    )
  }
}

/**
 * Which builder runs the build. The `builder` input wins; otherwise the engine's own builder
 * (buildx names it after the docker context), so the image lands in the engine that the push
 * then reads, even when docker/setup-buildx-action made a docker-container builder current.
 */
export function chooseBuilder(input: string | undefined, context: string): string {
  return input ?? context
}

/** One `--cache-from` / `--cache-to` value's type: `type=gha,scope=x` → gha; `user/app:cache` → registry. */
export function cacheType(option: string): string {
  const pair = option.split(',').find(part => part.trim().startsWith('type='))
  return pair ? pair.trim().slice('type='.length) : option.includes('=') ? 'local' : 'registry'
}

/** The variables a JavaScript action gets from the runner for the GitHub Actions cache. */
export const GHA_CACHE_VARIABLES = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_CACHE_URL',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_SERVICE_V2'
] as const

/**
 * Refuses caches this engine and builder cannot use, rather than let buildx drop them silently
 * (it skips a `type=gha` cache it cannot reach with a warning and builds without it).
 * - The docker driver exports and imports caches other than `inline` only on the containerd image
 *   store: https://docs.docker.com/build/cache/backends/
 * - `type=gha` needs buildx 0.21+ and the runner's cache token, which GitHub gives JavaScript
 *   actions (ACTIONS_RUNTIME_TOKEN, and ACTIONS_CACHE_URL or ACTIONS_RESULTS_URL).
 */
export function checkCaches(
  caches: { readonly from: readonly string[]; readonly to: readonly string[] },
  facts: DockerFacts,
  env: Readonly<Record<string, string | undefined>>
): void {
  const all = [
    ...caches.from.map(option => ({ input: 'cache-from', option })),
    ...caches.to.map(option => ({ input: 'cache-to', option }))
  ]
  for (const { input, option } of all) {
    const type = cacheType(option)
    if (type === 'inline') continue
    if (!canExportCaches(facts)) {
      throw new ActionError(
        'cache-unsupported-by-builder',
        `${input} "${option}" needs a builder that can export and import caches, but the build runs on the engine's own builder (docker driver) with the classic image store, which supports only type=inline.`,
        'Turn on the containerd image store ({"features":{"containerd-snapshotter":true}} in daemon.json; Docker 29 does by default), or create a docker-container builder with docker/setup-buildx-action and name it in the builder input.'
      )
    }
    if (type !== 'gha') continue
    if (!versionAtLeast(facts.buildxVersion, MINIMUM_BUILDX_FOR_GHA_CACHE)) {
      throw new ActionError(
        'gha-cache-needs-newer-buildx',
        `${input} "${option}" uses the GitHub Actions cache, which needs buildx ${MINIMUM_BUILDX_FOR_GHA_CACHE} or later for GitHub's current cache service; this buildx is ${facts.buildxVersion}.`,
        'Add docker/setup-buildx-action before this step to get a current buildx, or use a type=registry cache.'
      )
    }
    const hasToken = Boolean(env.ACTIONS_RUNTIME_TOKEN)
    const hasService = Boolean(env.ACTIONS_CACHE_URL || env.ACTIONS_RESULTS_URL)
    if (!hasToken || !hasService) {
      throw new ActionError(
        'gha-cache-unavailable',
        `${input} "${option}" uses the GitHub Actions cache, but ${hasToken ? 'neither ACTIONS_CACHE_URL nor ACTIONS_RESULTS_URL' : 'ACTIONS_RUNTIME_TOKEN'} is set: buildx would skip the cache without failing.`,
        'type=gha works only inside a GitHub Actions job, where the runner sets these for the action; elsewhere use a type=registry cache.'
      )
    }
  }
}

/** The repository tag of the default registry cache; one per architecture, never deployed. */
export const BUILD_CACHE_TAG_PREFIX = 'buildcache-'

export interface CacheChoice {
  readonly from: readonly string[]
  /** The user's cache-to as given, or the default registry cache, exported after the checks. */
  readonly to: readonly string[]
  /**
   * The build itself writes an inline cache (`--cache-to type=inline`): the cache metadata goes
   * into the image's own config and reaches ECR only with the image, when it is pushed.
   */
  readonly inline?: boolean
  /** What the log says about the choice; undefined when the user's own caches are used as given. */
  readonly note?: string
  /** Set for the default cache: the build must be logged in to this repository's registry. */
  readonly repository?: string
}

/**
 * What the default registry cache exports (`registry-cache`): `min`, only the cache of the
 * final image's own layers, which the image pushed to the same repository publishes anyway;
 * `max`, every stage's layers, builder stages included (a copied `.npmrc`, private sources,
 * tool chains), which then become readable by every principal that may pull from the repository;
 * `off`, no registry cache. https://docs.docker.com/build/cache/backends/#cache-mode
 */
export const REGISTRY_CACHE_MODES = ['min', 'max', 'off'] as const
export type RegistryCacheMode = (typeof REGISTRY_CACHE_MODES)[number]

/** What chooseCaches needs to know of a function the run deploys to (a DeployTarget). */
export interface CacheSourceTarget {
  readonly function: {
    readonly imageUri: string
    readonly codeSha256: string
    /** GetFunction's Code.ResolvedImageUri: the image by digest. */
    readonly resolvedImageUri?: string
  }
  /** The function runs another architecture now: its image's cache cannot match this build. */
  readonly changesArchitecture: boolean
  /** The function does not exist yet. */
  readonly creation?: unknown
}

/** At most this many images are read for their inline cache: each costs a manifest and a config. */
export const MAX_INLINE_CACHE_SOURCES = 3

/**
 * The images the functions run now that are in the cache repository, by digest (the image they
 * run, even if its tag has moved since): an earlier build of this repository's code, which carries
 * an inline cache when this action built it. Images elsewhere are left out: the cache is read
 * only from the function's own repository, the trust the registry cache has.
 */
export function inlineCacheSources(
  cacheRepository: string,
  targets: readonly CacheSourceTarget[]
): string[] {
  const sources = new Set<string>()
  for (const target of targets) {
    if (target.creation !== undefined || target.changesArchitecture) continue
    const { imageUri, codeSha256, resolvedImageUri } = target.function
    if (!imageUri.startsWith(`${cacheRepository}:`) && !imageUri.startsWith(`${cacheRepository}@`))
      continue
    // By digest only: a tag may have moved since the function got its image.
    const byDigest = /^[a-f0-9]{64}$/.test(codeSha256)
      ? `${cacheRepository}@sha256:${codeSha256}`
      : resolvedImageUri?.startsWith(`${cacheRepository}@sha256:`)
        ? resolvedImageUri
        : undefined
    if (byDigest) sources.add(byDigest)
  }
  return [...sources].slice(0, MAX_INLINE_CACHE_SOURCES)
}

/**
 * The caches a build uses: the user's, when cache-from or cache-to is set; else, with
 * registry-cache on and the engine's own builder on the classic image store (which exports no
 * cache but `inline`: https://docs.docker.com/build/cache/backends/inline/), an inline cache in
 * the image itself, read back from the images the functions run now (inlineCacheSources);
 * else, with a builder that can export caches, the function's own repository under
 * `buildcache-ARCH`, in the form ECR stores (an image manifest with OCI media types:
 * https://docs.docker.com/build/cache/backends/registry/, and the ECR note there), in the mode
 * registry-cache asks for. A failed export is only a warning: the cache must never be why a
 * deploy fails.
 */
export function chooseCaches(
  given: { readonly from: readonly string[]; readonly to: readonly string[] },
  registryCache: RegistryCacheMode,
  facts: DockerFacts,
  cacheRepository: string,
  architecture: string,
  /** The cache tag is immutable in the repository: ECR refuses to write it once it exists. */
  cacheTagImmutable = false,
  /** Images in cacheRepository with an earlier build's inline cache (inlineCacheSources). */
  inlineSources: readonly string[] = []
): CacheChoice {
  if (given.from.length > 0 || given.to.length > 0 || registryCache === 'off') return given
  if (!canExportCaches(facts)) {
    // Inline: no tag is written (immutable tags are no concern) and nothing reaches ECR but the
    // image itself, after its checks. Only the final image's layers, whatever the mode: the
    // cache of builder stages is in no image.
    const stages =
      registryCache === 'max'
        ? " Only the final image's layers are cached (registry-cache: max needs the containerd image store or a docker-container builder)."
        : ''
    const reads =
      inlineSources.length > 0
        ? `read from ${inlineSources.join(', ')}, the image${inlineSources.length > 1 ? 's' : ''} the function${inlineSources.length > 1 ? 's run' : ' runs'} now`
        : 'nothing to read yet (no function runs an image of this repository); the next build reads this one'
    return {
      from: inlineSources.map(ref => `type=registry,ref=${ref}`),
      to: [],
      inline: true,
      note: `Build cache: inline in the image (the engine's own builder on the classic image store exports no other kind), ${reads}.${stages}`,
      repository: inlineSources.length > 0 ? cacheRepository : undefined
    }
  }
  const ref = `${cacheRepository}:${BUILD_CACHE_TAG_PREFIX}${architecture}`
  if (cacheTagImmutable) {
    // Every export after the first would be refused; an earlier cache is still worth reading.
    return {
      from: [`type=registry,ref=${ref}`],
      to: [],
      note: `Build cache: ${ref} is read but not written, because the repository's tags are immutable and ECR refuses to overwrite it. Add an exclusion filter for ${BUILD_CACHE_TAG_PREFIX}* (IMMUTABLE_WITH_EXCLUSION) to let each build update it.`,
      repository: cacheRepository
    }
  }
  return {
    from: [`type=registry,ref=${ref}`],
    to: [
      `type=registry,ref=${ref},mode=${registryCache},image-manifest=true,oci-mediatypes=true,ignore-error=true`
    ],
    note:
      registryCache === 'max'
        ? `Build cache: ${ref}, mode=max (registry-cache: max): the layers of every build stage, builder stages included, are written to the repository, readable by every principal that may pull from it.`
        : `Build cache: ${ref}, mode=min: only the final image's layers (registry-cache: max also caches the build stages, false turns the cache off).`,
    repository: cacheRepository
  }
}

/** https://docs.docker.com/build/cache/backends/inline/ */
export const INLINE_CACHE = 'type=inline'

/** The caches of the build itself (its --cache-from and --cache-to), and the export after the checks. */
export interface BuildCaches {
  readonly from: readonly string[]
  readonly to: readonly string[]
  /** Written by a cache-only build once the image has passed its checks. */
  readonly afterChecks: readonly string[]
}

/**
 * Where each cache of a choice is written: the user's own cache-to by the build, as they asked;
 * an inline cache by the build too, since it travels in the image, which is pushed only once it
 * has passed its checks; the default registry cache after the checks, so that nothing of an
 * image that is not deployed reaches ECR.
 */
export function buildCaches(
  choice: CacheChoice,
  given: { readonly to: readonly string[] }
): BuildCaches {
  const inline = choice.inline ? [INLINE_CACHE] : []
  if (given.to.length > 0)
    return { from: choice.from, to: [...given.to, ...inline], afterChecks: [] }
  return { from: choice.from, to: inline, afterChecks: choice.to }
}

function canExportCaches(facts: DockerFacts): boolean {
  return !(facts.builder.driver === 'docker' && facts.imageStore === 'classic')
}

/** One line for the log and the summary. */
export function describeDockerSetup(facts: DockerFacts): string {
  const context =
    facts.context === 'default' ? '' : `, context ${facts.context} (${facts.endpoint})`
  return `Docker engine ${facts.engineVersion} (${facts.imageStore} image store), buildx ${facts.buildxVersion}, builder ${facts.builder.name} (${facts.builder.driver} driver)${context}`
}
