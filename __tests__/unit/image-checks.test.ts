import { describe, expect, it } from '@jest/globals'
import {
  checkImage,
  checkLayerMediaTypes,
  checkSizeMeasured,
  compressedLowerBound,
  describeImageSize,
  formatBytes,
  registryImageSize,
  sizeNotMeasured,
  sizeWithoutMeasuring,
  type ImageFacts,
  type ImageSize
} from '../../src/domain/image-checks.js'
import { MAX_UNCOMPRESSED_IMAGE_BYTES } from '../../src/domain/lambda-limits.js'

const healthy: ImageFacts = {
  os: 'linux',
  architecture: 'amd64',
  sizeBytes: 50_000_000,
  layers: [
    { sizeBytes: 40_000_000, createdBy: 'COPY /out /var/task # buildkit' },
    { sizeBytes: 10_000_000, createdBy: '/bin/sh -c apt-get install -y curl' }
  ],
  entrypoint: ['/lambda-entrypoint.sh'],
  cmd: ['index.handler'],
  workingDir: '/var/task',
  env: [],
  user: ''
}

const expected = { architecture: 'x86_64' as const, maxImageBytes: MAX_UNCOMPRESSED_IMAGE_BYTES }

function ids(facts: Partial<ImageFacts>, overrides = {}): string[] {
  return checkImage({ ...healthy, ...facts }, { ...expected, ...overrides }).map(f => f.id)
}

describe('checkImage', () => {
  it('finds nothing wrong with a Linux image of the right architecture and size', () => {
    expect(ids({})).toEqual([])
  })

  it('accepts an image without ENTRYPOINT (the base image decides)', () => {
    expect(ids({ entrypoint: [] })).toEqual([])
  })

  it.each<[string, Partial<ImageFacts>, object, string]>([
    ['a Windows image', { os: 'windows' }, {}, 'image-not-linux'],
    [
      'an arm64 image for an x86_64 function',
      { architecture: 'arm64' },
      {},
      'image-architecture-mismatch'
    ],
    [
      'an amd64 image for an arm64 function',
      {},
      { architecture: 'arm64' },
      'image-architecture-mismatch'
    ],
    ['an image over a lowered limit', {}, { maxImageBytes: 49_999_999 }, 'image-too-large'],
    [
      "an image over Lambda's limit",
      { sizeBytes: MAX_UNCOMPRESSED_IMAGE_BYTES + 1 },
      {},
      'image-too-large'
    ],
    ['a relative entrypoint', { entrypoint: ['bootstrap'] }, {}, 'entrypoint-not-absolute']
  ])('flags %s', (_name, facts, overrides, id) => {
    expect(ids(facts, overrides)).toEqual([id])
  })

  it('names the largest layers when the image is too large', () => {
    const [finding] = checkImage(healthy, { ...expected, maxImageBytes: 1_000_000 })
    expect(finding?.message).toContain('40.0 MB COPY /out /var/task')
    expect(finding?.message).toContain('10.0 MB RUN apt-get install -y curl')
  })

  it('accepts an image exactly at the limit', () => {
    expect(ids({}, { maxImageBytes: healthy.sizeBytes })).toEqual([])
  })
})

describe('formatBytes', () => {
  it.each([
    [999, '999 B'],
    [1500, '1.5 kB'],
    [10_000_000_000, '10.0 GB'],
    [123_456_789, '123 MB']
  ])('formats %d as %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text)
  })
})

describe('checkLayerMediaTypes', () => {
  const layer = (mediaType: string, n: number) => ({
    mediaType,
    digest: `sha256:${String(n).repeat(64)}`
  })

  it.each([
    'application/vnd.docker.image.rootfs.diff.tar.gzip',
    'application/vnd.oci.image.layer.v1.tar+gzip',
    'application/vnd.oci.image.layer.v1.tar'
  ])('accepts %s layers', mediaType => {
    expect(checkLayerMediaTypes([layer(mediaType, 1), layer(mediaType, 2)])).toBeUndefined()
  })

  it('refuses an uncompressed Docker-typed layer, naming it and the fix', () => {
    const finding = checkLayerMediaTypes([
      layer('application/vnd.docker.image.rootfs.diff.tar.gzip', 1),
      layer('application/vnd.docker.image.rootfs.diff.tar', 2)
    ])
    expect(finding).toMatchObject({ id: 'image-layer-uncompressed-docker', severity: 'error' })
    expect(finding?.message).toContain('1 of the image')
    expect(finding?.message).toContain(`sha256:${'2'.repeat(64)}`)
    expect(finding?.fix).toContain('compressed layers')
  })
})

describe('the size check', () => {
  const sparse11GB = 11_002_140_928

  it.each<[string, ImageSize, number, string | undefined]>([
    [
      'a measured image over the limit, naming its size and the limit in bytes',
      { sizeBytes: sparse11GB },
      MAX_UNCOMPRESSED_IMAGE_BYTES,
      "The image is 11.0 GB uncompressed (11,002,140,928 bytes, the sum of its layers' uncompressed tar streams), over Lambda's limit of 10.0 GB (10,000,000,000 bytes)."
    ],
    [
      'a lower bound over the limit, saying it is one and what it is',
      {
        sizeBytes: 11_001_984_169,
        sizeNotMeasured: { basis: "the layers' file contents", reason: 'too large to save' }
      },
      MAX_UNCOMPRESSED_IMAGE_BYTES,
      "The image is at least 11.0 GB uncompressed (11,001,984,169 bytes: the layers' file contents), over Lambda's limit of 10.0 GB (10,000,000,000 bytes)."
    ],
    [
      'a lowered max-image-size',
      { sizeBytes: 12_141_504 },
      12_137_088,
      "The image is 12.1 MB uncompressed (12,141,504 bytes, the sum of its layers' uncompressed tar streams), over the max-image-size of 12.1 MB (12,137,088 bytes)."
    ],
    ['an image one byte under the limit', { sizeBytes: 12_137_087 }, 12_137_088, undefined],
    [
      'a lower bound under the limit (not known to be over)',
      { sizeBytes: 1_000, sizeNotMeasured: { basis: 'compressed', reason: 'registry' } },
      12_137_088,
      undefined
    ]
  ])('%s', (_name, size, maxImageBytes, message) => {
    const findings = checkImage({ ...healthy, ...size, layers: [] }, { ...expected, maxImageBytes })
    expect(findings.find(finding => finding.id === 'image-too-large')?.message).toBe(message)
  })
})

describe('checkSizeMeasured', () => {
  const notMeasured = {
    basis: "the engine's compressed layers",
    reason: 'docker image save failed'
  }

  it.each<[string, ImageSize, string | undefined]>([
    ['a measured size', { sizeBytes: 5_000 }, undefined],
    [
      'an unmeasured size under the limit',
      { sizeBytes: 5_000, sizeNotMeasured: notMeasured },
      'image-size-not-measured'
    ],
    // image-too-large says it already.
    [
      'an unmeasured size over the limit',
      { sizeBytes: 50_000, sizeNotMeasured: notMeasured },
      undefined
    ]
  ])('%s: %s', (_name, size, id) => {
    expect(checkSizeMeasured(size, 10_000)?.id).toBe(id)
  })

  it('is a warning that says why and what is known', () => {
    const finding = checkSizeMeasured({ sizeBytes: 5_000, sizeNotMeasured: notMeasured }, 10_000)
    expect(finding?.severity).toBe('warning')
    expect(finding?.message).toContain('docker image save failed')
    expect(finding?.message).toContain(
      "at least 5.0 kB (5,000 bytes: the engine's compressed layers)"
    )
  })
})

describe('registryImageSize', () => {
  const gzip = 'application/vnd.oci.image.layer.v1.tar+gzip'
  const dockerGzip = 'application/vnd.docker.image.rootfs.diff.tar.gzip'
  const ociTar = 'application/vnd.oci.image.layer.v1.tar'

  it.each<[string, { mediaType: string; size: number }[], ImageSize]>([
    [
      'uncompressed layers: their sizes are the measure',
      [
        { mediaType: ociTar, size: 2_137_088 },
        { mediaType: ociTar, size: 1_024 }
      ],
      { sizeBytes: 2_138_112 }
    ],
    [
      'gzip layers: a lower bound, not measured',
      [
        { mediaType: dockerGzip, size: 1_085_047 },
        { mediaType: gzip, size: 29 }
      ],
      {
        sizeBytes: compressedLowerBound(1_085_047) + compressedLowerBound(29),
        sizeNotMeasured: {
          basis: "from the registry's compressed sizes of its 2 compressed layers",
          reason: 'the image is deployed from the registry without downloading its layers'
        }
      }
    ],
    [
      'a mix: the uncompressed layers exactly, the compressed one bounded',
      [
        { mediaType: ociTar, size: 10_000 },
        { mediaType: gzip, size: 65_562 }
      ],
      {
        sizeBytes: 10_000 + 65_535,
        sizeNotMeasured: {
          basis: "from the registry's compressed size of its layer",
          reason: 'the image is deployed from the registry without downloading its layers'
        }
      }
    ]
  ])('%s', (_name, layers, size) => {
    expect(registryImageSize(layers)).toEqual(size)
  })
})

describe('compressedLowerBound', () => {
  it.each([
    // An empty gzip member is 20 bytes and holds nothing.
    [20, 0],
    [0, 0],
    // One stored deflate block of 65,535 bytes in a gzip member: 65,535 + 5 + 18 bytes.
    [65_558, 65_531],
    // Never more than the compressed size itself.
    [1_000_000, 999_901]
  ])('a compressed blob of %d bytes holds at least %d', (compressed, atLeast) => {
    expect(compressedLowerBound(compressed)).toBe(atLeast)
    expect(compressedLowerBound(compressed)).toBeLessThanOrEqual(compressed)
  })
})

describe('describeImageSize', () => {
  it.each<[ImageSize, string]>([
    [{ sizeBytes: 5_141_504 }, '5.1 MB uncompressed (5,141,504 bytes) of 10.0 GB allowed'],
    [
      {
        sizeBytes: 1_000,
        sizeNotMeasured: {
          basis: "from the registry's compressed size of its layer",
          reason: 'deployed from the registry'
        }
      },
      "uncompressed size not measured (deployed from the registry); at least 1.0 kB (1,000 bytes: from the registry's compressed size of its layer), of 10.0 GB allowed"
    ]
  ])('describes %j', (size, text) => {
    expect(describeImageSize(size, MAX_UNCOMPRESSED_IMAGE_BYTES)).toBe(text)
  })
})

describe('the size a local image has without measuring it', () => {
  // What `docker image inspect` said of the 11 GB sparse image (Docker 28.5.2).
  const classic = { classicStore: true, reportedBytes: 11_001_984_169 }
  const containerd = { classicStore: false, reportedBytes: 71_397_607 }

  it.each<[string, { classicStore: boolean; reportedBytes: number }, number | undefined]>([
    ['classic store, contents over the limit: refused on them', classic, 11_001_984_169],
    [
      'classic store, contents at the limit: measured',
      { ...classic, reportedBytes: 10_000_000_000 },
      undefined
    ],
    [
      'containerd store, whatever its figure: measured',
      { ...containerd, reportedBytes: 20_000_000_000 },
      undefined
    ]
  ])('%s', (_name, engine, atLeast) => {
    const size = sizeWithoutMeasuring(engine)
    expect(size?.sizeBytes).toBe(atLeast)
    if (size) expect(size.sizeNotMeasured?.basis).toContain('file contents')
  })

  it.each<[string, { classicStore: boolean; reportedBytes: number }, ImageSize]>([
    [
      'classic store: its file contents',
      { classicStore: true, reportedBytes: 1_984_169 },
      {
        sizeBytes: 1_984_169,
        sizeNotMeasured: {
          basis: "the layers' file contents, as the classic image store counts them",
          reason: 'no space left on device'
        }
      }
    ],
    [
      'containerd store: what its compressed content holds at least',
      containerd,
      {
        sizeBytes: compressedLowerBound(71_397_607),
        sizeNotMeasured: {
          basis: "from the engine's compressed layers",
          reason: 'no space left on device'
        }
      }
    ]
  ])('when the measurement failed, %s', (_name, engine, size) => {
    expect(sizeNotMeasured(engine, 'no space left on device')).toEqual(size)
  })
})
