import { describe, expect, it } from '@jest/globals'
import {
  checkImage,
  checkLayerMediaTypes,
  formatBytes,
  type ImageFacts
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
