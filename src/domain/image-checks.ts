import {
  DOCKER_UNCOMPRESSED_LAYER,
  IMAGE_ARCHITECTURE,
  MAX_UNCOMPRESSED_IMAGE_BYTES,
  type LambdaArchitecture
} from './lambda-limits.js'

/** What the action knows about a built image, from its config and layer history. */
export interface ImageFacts {
  readonly os: string
  /** The image config's architecture (Go naming: amd64, arm64, ...). */
  readonly architecture: string
  readonly variant?: string
  /** Uncompressed size of all layers, in bytes. */
  readonly sizeBytes: number
  /** Layers with their uncompressed size and the instruction that made them, newest first. */
  readonly layers: readonly ImageLayer[]
  readonly entrypoint: readonly string[]
  readonly cmd: readonly string[]
  readonly workingDir: string
  readonly env: readonly string[]
  readonly user: string
}

export interface ImageLayer {
  readonly sizeBytes: number
  readonly createdBy: string
}

export interface ImageExpectations {
  readonly architecture: LambdaArchitecture
  readonly maxImageBytes: number
}

export type FindingSeverity = 'error' | 'warning'

export interface Finding {
  /** Stable id, documented in the README; a later setting can waive a finding by it. */
  readonly id: string
  readonly severity: FindingSeverity
  readonly message: string
  readonly fix: string
}

/** Checks an image against what Lambda demands (LAMBDA-IMAGE-FACTS.md); facts in, findings out. */
export function checkImage(facts: ImageFacts, expected: ImageExpectations): Finding[] {
  return [
    checkOperatingSystem(facts),
    checkArchitecture(facts, expected.architecture),
    checkSize(facts, expected.maxImageBytes),
    checkEntrypoint(facts)
  ].filter((finding): finding is Finding => finding !== undefined)
}

function checkOperatingSystem(facts: ImageFacts): Finding | undefined {
  if (facts.os === 'linux') return undefined
  return {
    id: 'image-not-linux',
    severity: 'error',
    message: `The image's operating system is "${facts.os}"; Lambda runs only Linux images.`,
    fix: 'Build from a Linux base image (for example public.ecr.aws/lambda/provided:al2023).'
  }
}

function checkArchitecture(facts: ImageFacts, wanted: LambdaArchitecture): Finding | undefined {
  const platform = IMAGE_ARCHITECTURE[wanted]
  if (facts.architecture === platform) return undefined
  return {
    id: 'image-architecture-mismatch',
    severity: 'error',
    message: `The image is built for ${facts.architecture}, but the function runs on ${wanted} (linux/${platform}).`,
    fix: `Make the build produce linux/${platform} (a FROM --platform=... in the Dockerfile can force another one), or set the architecture input to change the function's architecture.`
  }
}

function checkSize(facts: ImageFacts, maxBytes: number): Finding | undefined {
  if (facts.sizeBytes <= maxBytes) return undefined
  const largest = largestLayers(facts.layers, 3)
    .map(layer => `${formatBytes(layer.sizeBytes)} ${summarizeInstruction(layer.createdBy)}`)
    .join('; ')
  const limit =
    maxBytes === MAX_UNCOMPRESSED_IMAGE_BYTES
      ? `Lambda's limit of ${formatBytes(maxBytes)}`
      : `the max-image-size of ${formatBytes(maxBytes)}`
  return {
    id: 'image-too-large',
    severity: 'error',
    message: `The image is ${formatBytes(facts.sizeBytes)} uncompressed, over ${limit}. Largest layers: ${largest}.`,
    fix: 'Use a multi-stage build that copies only what the function needs into the final stage, and remove caches in the same RUN step that creates them.'
  }
}

function checkEntrypoint(facts: ImageFacts): Finding | undefined {
  const program = facts.entrypoint[0]
  if (program === undefined || program.startsWith('/')) return undefined
  return {
    id: 'entrypoint-not-absolute',
    severity: 'error',
    message: `ENTRYPOINT starts with "${program}", which is not an absolute path; Lambda fails such an image at start-up with Runtime.InvalidEntrypoint.`,
    fix: `Write the full path in the Dockerfile, e.g. ENTRYPOINT ["/usr/local/bin/${program.split('/').pop() ?? program}"].`
  }
}

export function largestLayers(layers: readonly ImageLayer[], count: number): ImageLayer[] {
  return [...layers].sort((a, b) => b.sizeBytes - a.sizeBytes).slice(0, count)
}

/** A layer's Dockerfile instruction in one short line, without BuildKit's comment noise. */
export function summarizeInstruction(createdBy: string): string {
  const text = createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/\s*# buildkit$/, '')
    .replace(/\s+/g, ' ')
    .trim()
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

/** Decimal units, to match Lambda's documented "10 GB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`
}

/**
 * Applies the user's finding policy: ids in `ignore` are waived (reported, never failing), and
 * with `warningsAsErrors` every other warning fails the step like an error.
 */
export function applyFindingPolicy(
  findings: readonly Finding[],
  ignore: readonly string[],
  warningsAsErrors: boolean
): { readonly findings: Finding[]; readonly waived: Finding[] } {
  const waived = findings.filter(finding => ignore.includes(finding.id))
  const kept = findings
    .filter(finding => !ignore.includes(finding.id))
    .map(finding =>
      warningsAsErrors && finding.severity === 'warning'
        ? { ...finding, severity: 'error' as const }
        : finding
    )
  return { findings: kept, waived }
}

/** A layer as a manifest lists it. */
export interface ManifestLayer {
  readonly mediaType?: string
  readonly digest?: string
}

/**
 * Lambda accepts gzip layers (Docker's or OCI's type) and OCI's uncompressed type, but fails an
 * update whose image has an uncompressed layer typed as Docker's
 * (`application/vnd.docker.image.rootfs.diff.tar`): the update is accepted, then ends Failed with
 * InvalidImage "ImageLayerFailure: UnsupportedImageLayerDetected" (LAMBDA-IMAGE-FACTS.md, "Found
 * since"). Checked on the manifest, before Lambda is asked.
 */
export function checkLayerMediaTypes(layers: readonly ManifestLayer[]): Finding | undefined {
  const unsupported = layers.filter(layer => layer.mediaType === DOCKER_UNCOMPRESSED_LAYER)
  if (unsupported.length === 0) return undefined
  return {
    id: 'image-layer-uncompressed-docker',
    severity: 'error',
    message: `${unsupported.length} of the image's ${layers.length} layers are uncompressed with the Docker media type ${DOCKER_UNCOMPRESSED_LAYER} (first: ${unsupported[0]!.digest ?? 'no digest'}); Lambda fails the update of such an image (InvalidImage: UnsupportedImageLayerDetected).`,
    fix: 'Push the image with compressed layers: `docker push` compresses them, and tools that write manifests themselves (crane, oras, rules_oci, Jib, ko) can gzip the layers or use the OCI type application/vnd.oci.image.layer.v1.tar(+gzip). Then deploy the new digest.'
  }
}
