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
  readonly builder?: string
  /** Where docker writes the built image's id. */
  readonly iidFile: string
  /** Resolve FROM images from their registries even when a local copy exists. */
  readonly pull?: boolean
}

/** What the local docker can do; detected once, so the command works on old and new engines. */
export interface BuilderCapabilities {
  readonly buildx: boolean
  /** buildx 0.10+ knows --provenance/--sbom; without them an attestation would make an index. */
  readonly attestationFlags: boolean
}

/**
 * The exact docker argument list for a build: a pure function of the request, so it can be
 * checked table-driven without running docker. Values are separate arguments, never a shell line.
 */
export function buildArguments(request: BuildRequest, can: BuilderCapabilities): string[] {
  if (!can.buildx) return legacyBuildArguments(request)
  const args = ['buildx', 'build']
  if (request.builder !== undefined) args.push('--builder', request.builder)
  args.push('--platform', request.platform)
  // Lambda refuses image indexes; attestations would turn the single manifest into one.
  if (can.attestationFlags) args.push('--provenance=false', '--sbom=false')
  args.push('--load')
  args.push(...commonArguments(request))
  for (const source of request.cacheFrom) args.push('--cache-from', source)
  for (const destination of request.cacheTo) args.push('--cache-to', destination)
  args.push(request.context)
  return args
}

function legacyBuildArguments(request: BuildRequest): string[] {
  const unsupported = [
    request.builder !== undefined ? 'builder' : '',
    request.cacheTo.length > 0 ? 'cache-to' : ''
  ].filter(name => name !== '')
  if (unsupported.length > 0) {
    throw new ActionError(
      'buildx-required',
      `${unsupported.join(' and ')} need docker buildx, which is not installed here.`,
      'Add docker/setup-buildx-action before this step, or remove those inputs.'
    )
  }
  const args = ['build', '--platform', request.platform, ...commonArguments(request)]
  for (const source of request.cacheFrom) args.push('--cache-from', source)
  args.push(request.context)
  return args
}

function commonArguments(request: BuildRequest): string[] {
  const args = ['--file', request.file, '--iidfile', request.iidFile]
  if (request.pull) args.push('--pull')
  if (request.target !== undefined) args.push('--target', request.target)
  for (const arg of request.buildArgs) args.push('--build-arg', arg)
  for (const label of request.labels) args.push('--label', label)
  for (const ref of request.imageRefs) args.push('--tag', ref)
  for (const secret of request.secretFiles)
    args.push('--secret', `id=${secret.id},src=${secret.path}`)
  return args
}
