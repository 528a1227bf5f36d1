import { ActionError } from './errors.js'

/** What the build needs to know, already validated (see inputs.ts). */
export interface BuildRequest {
  readonly context: string
  readonly file: string
  readonly target?: string
  readonly platform: string
  readonly buildArgs: readonly string[]
  /** Labels as KEY=VALUE, ours first so that the user's own win (docker keeps the last one). */
  readonly labels: readonly string[]
  /** Full image references to tag the result with, e.g. REGISTRY/NAME:TAG. */
  readonly imageRefs: readonly string[]
  /** Secret ids and the temporary files holding their values. */
  readonly secretFiles: readonly { readonly id: string; readonly path: string }[]
  readonly cacheFrom: readonly string[]
  readonly cacheTo: readonly string[]
  /** The buildx builder to run on (see chooseBuilder in docker-setup.ts). */
  readonly builder: string
  /** Where buildx writes what it built (containerimage.digest, containerimage.config.digest). */
  readonly metadataFile: string
  /** Resolve FROM images from their registries even when a local copy exists. */
  readonly pull?: boolean
  /**
   * cache-only: build again only to export the cache (every step is in the builder's local
   * cache by then); nothing is loaded or tagged.
   */
  readonly cacheOnly?: boolean
}

/**
 * The exact docker argument list for a build: a pure function of the request, so it can be
 * checked table-driven without running docker. Values are separate arguments, never a shell line.
 * buildx 0.10+ is assumed (checkDockerVersions refuses older ones).
 */
export function buildArguments(request: BuildRequest): string[] {
  const args = ['buildx', 'build', '--builder', request.builder]
  args.push('--platform', request.platform)
  // Lambda refuses image indexes; attestations would turn the single manifest into one.
  args.push('--provenance=false', '--sbom=false')
  // Into the engine the push reads from, whatever the builder's driver.
  args.push(request.cacheOnly ? '--output=type=cacheonly' : '--load')
  // The iidfile names the config digest, which the containerd image store does not know the
  // image by; the metadata file names both the config and the manifest digest.
  args.push('--file', request.file, '--metadata-file', request.metadataFile)
  if (request.pull) args.push('--pull')
  if (request.target !== undefined) args.push('--target', request.target)
  for (const arg of request.buildArgs) args.push('--build-arg', arg)
  for (const label of request.labels) args.push('--label', label)
  if (!request.cacheOnly) for (const ref of request.imageRefs) args.push('--tag', ref)
  for (const secret of request.secretFiles)
    args.push('--secret', `id=${secret.id},src=${secret.path}`)
  for (const source of request.cacheFrom) args.push('--cache-from', source)
  for (const destination of request.cacheTo) args.push('--cache-to', destination)
  args.push(request.context)
  return args
}

/** What `--metadata-file` holds for a single-platform image build (the keys buildx writes). */
export interface BuildMetadata {
  /** The image's config digest (what the classic image store names the image by). */
  readonly configDigest: string
  /** The manifest digest (what the containerd image store names the image by), when reported. */
  readonly manifestDigest?: string
}

export function parseBuildMetadata(text: string): BuildMetadata {
  let parsed: Record<string, unknown>
  try {
    parsed = JSON.parse(text) as Record<string, unknown>
  } catch {
    parsed = {}
  }
  const configDigest = parsed['containerimage.config.digest']
  const manifestDigest = parsed['containerimage.digest']
  if (typeof configDigest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(configDigest)) {
    throw new ActionError(
      'build-metadata-missing',
      'docker buildx finished without reporting the built image (containerimage.config.digest in its --metadata-file), so the image to check and push is unknown.',
      'Use docker buildx 0.10 or later with a builder that loads the image into the engine (the docker driver, or --load with docker-container).'
    )
  }
  return {
    configDigest,
    manifestDigest:
      typeof manifestDigest === 'string' && /^sha256:[a-f0-9]{64}$/.test(manifestDigest)
        ? manifestDigest
        : undefined
  }
}
