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
  /**
   * The uncompressed size of all layers as Lambda's limit counts it (ImageSize), in bytes; only
   * a lower bound of it when `sizeNotMeasured` says so.
   */
  readonly sizeBytes: number
  readonly sizeNotMeasured?: SizeNotMeasured
  /** Layers with their size and the instruction that made them, newest first. */
  readonly layers: readonly ImageLayer[]
  readonly entrypoint: readonly string[]
  readonly cmd: readonly string[]
  readonly workingDir: string
  readonly env: readonly string[]
  readonly user: string
}

/**
 * An image's uncompressed size as Lambda's 10 GB limit counts it: the sum of its layers'
 * uncompressed tar streams, a layer listed twice counted twice ("maximum uncompressed image size,
 * including all layers"). Measured, or, with `sizeNotMeasured`, only a lower bound of it.
 */
export type ImageSize = Pick<ImageFacts, 'sizeBytes' | 'sizeNotMeasured'>

export interface SizeNotMeasured {
  /** What the lower bound is: "the registry's compressed sizes of its 3 layers". */
  readonly basis: string
  /** Why the uncompressed size was not measured. */
  readonly reason: string
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
  const bytes = facts.sizeBytes
  if (bytes <= maxBytes) return undefined
  const largest = largestLayers(facts.layers, 3)
    .map(layer => `${formatBytes(layer.sizeBytes)} ${summarizeInstruction(layer.createdBy)}`)
    .join('; ')
  const limit = `${maxBytes === MAX_UNCOMPRESSED_IMAGE_BYTES ? "Lambda's limit" : 'the max-image-size'} of ${formatBytes(maxBytes)} (${exactBytes(maxBytes)})`
  const measured = facts.sizeNotMeasured
    ? `at least ${formatBytes(bytes)} uncompressed (${exactBytes(bytes)}: ${facts.sizeNotMeasured.basis})`
    : `${formatBytes(bytes)} uncompressed (${exactBytes(bytes)}, the sum of its layers' uncompressed tar streams)`
  return {
    id: 'image-too-large',
    severity: 'error',
    message: `The image is ${measured}, over ${limit}.${largest ? ` Largest layers: ${largest}.` : ''}`,
    fix: 'Use a multi-stage build that copies only what the function needs into the final stage, and remove caches in the same RUN step that creates them.'
  }
}

/**
 * A built image is measured before it is pushed; when that failed (and no lower bound settles
 * it), the size check did not happen, which the step says rather than pass in silence. Images
 * deployed from the registry are not measured by design, and their log and summary say so.
 */
export function checkSizeMeasured(size: ImageSize, maxBytes: number): Finding | undefined {
  if (!size.sizeNotMeasured || size.sizeBytes > maxBytes) return undefined
  return {
    id: 'image-size-not-measured',
    severity: 'warning',
    message: `The image's uncompressed size could not be measured (${size.sizeNotMeasured.reason}), so it is not known to be within ${formatBytes(maxBytes)}; it is at least ${formatBytes(size.sizeBytes)} (${exactBytes(size.sizeBytes)}: ${size.sizeNotMeasured.basis}).`,
    fix: 'The size is measured with `docker image save`: check that the engine can save the image (disk space, all layers present); Lambda itself refuses an image over 10 GB when the function is updated.'
  }
}

/** 1234567 as "1,234,567 bytes": the figure to compare with `wc -c` or a layer's tar. */
export function exactBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`
}

/**
 * What the log and the summary say of an image's size: what was measured, and, when it was not,
 * what is known instead and why.
 */
export function describeImageSize(size: ImageSize, maxBytes: number): string {
  const unmeasured = size.sizeNotMeasured
  if (!unmeasured) {
    return `${formatBytes(size.sizeBytes)} uncompressed (${exactBytes(size.sizeBytes)}) of ${formatBytes(maxBytes)} allowed`
  }
  return `uncompressed size not measured (${unmeasured.reason}); at least ${formatBytes(size.sizeBytes)} (${exactBytes(size.sizeBytes)}: ${unmeasured.basis}), of ${formatBytes(maxBytes)} allowed`
}

/**
 * What the engine reports of a local image's size, without reading its layers. The classic
 * store's `docker image inspect` `.Size` sums the layers' file contents: a lower bound of the
 * uncompressed size (each file's tar header comes on top). The containerd store's is the
 * compressed content (measured with Docker 28.5: README "Image size").
 */
export interface EngineSizeReport {
  readonly classicStore: boolean
  readonly reportedBytes: number
}

const CLASSIC_BASIS = "the layers' file contents, as the classic image store counts them"

/**
 * The size, when measuring it exactly is needless: on the classic store, file contents alone
 * over Lambda's limit settle the check (and its `docker image save` would first copy the whole
 * image to the engine's disk). Undefined: measure it.
 */
export function sizeWithoutMeasuring(engine: EngineSizeReport): ImageSize | undefined {
  if (!engine.classicStore || engine.reportedBytes <= MAX_UNCOMPRESSED_IMAGE_BYTES) {
    return undefined
  }
  return {
    sizeBytes: engine.reportedBytes,
    sizeNotMeasured: {
      basis: CLASSIC_BASIS,
      reason: "its file contents alone are over Lambda's limit, so it was not saved to be measured"
    }
  }
}

/** What is known of the size when the measurement failed: the lower bound each store gives. */
export function sizeNotMeasured(engine: EngineSizeReport, reason: string): ImageSize {
  return engine.classicStore
    ? { sizeBytes: engine.reportedBytes, sizeNotMeasured: { basis: CLASSIC_BASIS, reason } }
    : {
        sizeBytes: compressedLowerBound(engine.reportedBytes),
        sizeNotMeasured: { basis: "from the engine's compressed layers", reason }
      }
}

/** Layer media types whose manifest size is the uncompressed tar's length. */
const UNCOMPRESSED_LAYER_TYPES: readonly string[] = [
  DOCKER_UNCOMPRESSED_LAYER,
  'application/vnd.oci.image.layer.v1.tar'
]

/**
 * The least uncompressed size a compressed blob of `bytes` can have. Compression can grow
 * incompressible data: deflate stores it in blocks of at most 65,535 bytes with 5 bytes of
 * header each, in a gzip member with 18 bytes of header and trailer; zstd's raw blocks
 * (3 bytes per 128 KiB, a frame of at most 22 bytes) grow it less. So a blob of C bytes holds at
 * least (C - 22) * 65535 / 65540 bytes; the compressed size itself would overstate it.
 */
export function compressedLowerBound(bytes: number): number {
  return Math.max(0, Math.floor(((bytes - 22) * 65_535) / 65_540))
}

/**
 * An image in a registry, known from its manifest only: exact when every layer is an
 * uncompressed tar (its manifest size is the tar's length), else a lower bound of it taken from
 * the compressed sizes; the uncompressed size of a compressed layer is only known by
 * downloading and decompressing it, which a deploy of an existing image does not do.
 */
export function registryImageSize(
  layers: readonly (ManifestLayer & { readonly size?: number })[]
): ImageSize {
  const compressed = layers.filter(
    layer => !UNCOMPRESSED_LAYER_TYPES.includes(layer.mediaType ?? '')
  )
  const exact = layers
    .filter(layer => !compressed.includes(layer))
    .reduce((sum, layer) => sum + (layer.size ?? 0), 0)
  if (compressed.length === 0) return { sizeBytes: exact }
  return {
    sizeBytes:
      exact + compressed.reduce((sum, layer) => sum + compressedLowerBound(layer.size ?? 0), 0),
    sizeNotMeasured: {
      basis: `from the registry's compressed size${compressed.length === 1 ? ' of its layer' : `s of its ${compressed.length} compressed layers`}`,
      reason: 'the image is deployed from the registry without downloading its layers'
    }
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
