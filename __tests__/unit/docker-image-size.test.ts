import { describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import * as zlib from 'node:zlib'
import { gzipSync } from 'node:zlib'
import type { DockerExit, SpawnDocker } from '../../src/adapters/docker-byte-stream.js'
import { ImageSaveError, measureSavedImage } from '../../src/adapters/docker-image-size.js'
import { TAR_END, tarFile, tarHeader } from './tar-fixture.js'

/** `docker image save` as a fake: the stream it prints, in chunks, and how it exits. */
function fakeSave(
  stream: Buffer,
  options: { chunk?: number; exitCode?: number; stderr?: string } = {}
) {
  const calls: string[][] = []
  const spawn: SpawnDocker = args => {
    calls.push([...args])
    const size = options.chunk ?? 65_536
    const chunks = function* () {
      for (let at = 0; at < stream.length; at += size) yield stream.subarray(at, at + size)
    }
    const stdout = Readable.from(chunks())
    const exited = new Promise<DockerExit>(resolve =>
      stdout.on('close', () =>
        resolve({ exitCode: options.exitCode ?? 0, stderr: options.stderr ?? '' })
      )
    )
    return { stdout, exited, stop: () => stdout.destroy() }
  }
  return { spawn, calls }
}

const digestOf = (data: Buffer) => createHash('sha256').update(data).digest('hex')

/** A layer: a real tar (one file of `bytes` bytes) as docker would save it. */
function layerTar(name: string, data: Buffer): Buffer {
  return Buffer.concat([
    tarHeader({ name: 'opt/', type: '5', mode: 0o755 }),
    tarFile(name, data),
    TAR_END
  ])
}

interface SavedImage {
  readonly layers: readonly Buffer[]
  /** How each layer is stored in the save: as it is (classic store) or gzip (containerd). */
  readonly gzip?: boolean
  readonly history?: readonly { created_by: string; empty_layer?: boolean }[]
  /** The manifest lists these layer indexes (default: each once, in order). */
  readonly listed?: readonly number[]
}

/** The OCI-layout save of Docker 25 and later: blobs, then index.json and manifest.json. */
function saveStream(image: SavedImage): Buffer {
  const blobs = image.layers.map(layer => (image.gzip ? gzipSync(layer) : layer))
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', history: image.history ?? [] })
  )
  const paths = blobs.map(blob => `blobs/sha256/${digestOf(blob)}`)
  const manifest = [
    {
      Config: `blobs/sha256/${digestOf(config)}`,
      Layers: (image.listed ?? image.layers.map((_, index) => index)).map(index => paths[index]!)
    }
  ]
  return Buffer.concat([
    tarHeader({ name: 'blobs/', type: '5', mode: 0o755 }),
    tarHeader({ name: 'blobs/sha256/', type: '5', mode: 0o755 }),
    ...blobs.map((blob, index) => tarFile(paths[index]!, blob)),
    tarFile(`blobs/sha256/${digestOf(config)}`, config),
    tarFile('index.json', '{"schemaVersion":2,"manifests":[]}'),
    tarFile('manifest.json', JSON.stringify(manifest)),
    tarFile('oci-layout', '{"imageLayoutVersion":"1.0.0"}'),
    TAR_END
  ])
}

const base = layerTar('opt/base.bin', randomBytes(10_000))
const payload = layerTar('opt/payload.bin', Buffer.alloc(3_000_000))
const history = [
  { created_by: 'COPY rootfs/ / # buildkit' },
  { created_by: 'ENV A=b', empty_layer: true },
  { created_by: 'RUN /bin/sh -c head -c 3000000 /dev/zero > /opt/payload.bin # buildkit' }
]

describe('measureSavedImage', () => {
  it.each([
    ['uncompressed layers (classic store)', false],
    ['gzip layers, decompressed and counted (containerd store)', true]
  ])('measures each layer as its uncompressed tar: %s', async (_name, gzip) => {
    const docker = fakeSave(saveStream({ layers: [base, payload], gzip, history }))
    const saved = await measureSavedImage('sha256:abc', [], docker.spawn)
    expect(docker.calls).toEqual([['image', 'save', 'sha256:abc']])
    expect(saved.layers).toEqual([
      { uncompressedBytes: base.length, createdBy: 'COPY rootfs/ / # buildkit' },
      {
        uncompressedBytes: payload.length,
        createdBy: 'RUN /bin/sh -c head -c 3000000 /dev/zero > /opt/payload.bin # buildkit'
      }
    ])
    // The tar of a 3,000,000-byte file: two 512-byte headers, the data padded to 512, the end.
    expect(payload.length).toBe(512 + 512 + 3_000_320 + 1024)
  })

  it('counts a layer the manifest lists twice twice', async () => {
    const docker = fakeSave(saveStream({ layers: [base, payload], listed: [0, 1, 1] }))
    const saved = await measureSavedImage('i', [], docker.spawn)
    expect(saved.layers.map(layer => layer.uncompressedBytes)).toEqual([
      base.length,
      payload.length,
      payload.length
    ])
  })

  it('measures the platform inspected when the save holds several, by its diff IDs', async () => {
    const config = (layers: Buffer[]) =>
      Buffer.from(
        JSON.stringify({ rootfs: { diff_ids: layers.map(l => `sha256:${digestOf(l)}`) } })
      )
    const amd64 = config([base, payload])
    const arm64 = config([base])
    const entry = (c: Buffer, layers: Buffer[]) => ({
      Config: `blobs/sha256/${digestOf(c)}`,
      Layers: layers.map(layer => `blobs/sha256/${digestOf(layer)}`)
    })
    const stream = Buffer.concat([
      ...[base, payload, amd64, arm64].map(blob => tarFile(`blobs/sha256/${digestOf(blob)}`, blob)),
      tarFile(
        'manifest.json',
        JSON.stringify([entry(arm64, [base]), entry(amd64, [base, payload])])
      ),
      TAR_END
    ])
    const saved = await measureSavedImage(
      'i',
      [`sha256:${digestOf(base)}`, `sha256:${digestOf(payload)}`],
      fakeSave(stream).spawn
    )
    expect(saved.layers.map(layer => layer.uncompressedBytes)).toEqual([
      base.length,
      payload.length
    ])
  })

  it('measures a zstd layer where Node has zstd (22.15+), and says why not where it has none', async () => {
    const compress = (zlib as { zstdCompressSync?: (data: Buffer) => Buffer }).zstdCompressSync
    const blob = compress
      ? compress(payload)
      : Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100)])
    const stream = Buffer.concat([
      tarFile(`blobs/sha256/${digestOf(blob)}`, blob),
      tarFile('manifest.json', JSON.stringify([{ Layers: [`blobs/sha256/${digestOf(blob)}`] }])),
      TAR_END
    ])
    const measuring = measureSavedImage('i', [], fakeSave(stream).spawn)
    if (compress) {
      expect((await measuring).layers.map(layer => layer.uncompressedBytes)).toEqual([
        payload.length
      ])
    } else {
      await expect(measuring).rejects.toThrow('is zstd-compressed, and this Node has no zstd')
    }
  })

  it('reads a large gzip layer arriving in small pieces to its end', async () => {
    const big = layerTar('opt/zeros.bin', Buffer.alloc(64_000_000))
    const docker = fakeSave(saveStream({ layers: [big], gzip: true }), { chunk: 1000 })
    const saved = await measureSavedImage('i', [], docker.spawn)
    expect(saved.layers).toEqual([{ uncompressedBytes: big.length, createdBy: '' }])
  })

  it('follows the legacy format, whose repeated layer is a link to its first copy', async () => {
    const stream = Buffer.concat([
      tarFile('aaa/layer.tar', base),
      tarHeader({ name: 'bbb/layer.tar', type: '2', link: '../aaa/layer.tar' }),
      tarFile('ccc.json', JSON.stringify({ history: [] })),
      tarFile(
        'manifest.json',
        JSON.stringify([{ Config: 'ccc.json', Layers: ['aaa/layer.tar', 'bbb/layer.tar'] }])
      ),
      TAR_END
    ])
    const saved = await measureSavedImage('i', [], fakeSave(stream).spawn)
    expect(saved.layers.map(layer => layer.uncompressedBytes)).toEqual([base.length, base.length])
  })

  it.each<[string, Buffer, object, RegExp]>([
    [
      'docker image save fails',
      Buffer.alloc(0),
      { exitCode: 1, stderr: 'Error response from daemon: no space left on device' },
      /exited with code 1: Error response from daemon: no space left on device/
    ],
    [
      'the stream is cut off',
      saveStream({ layers: [base] }).subarray(0, 5000),
      {},
      /ended in the middle of an entry/
    ],
    [
      'a gzip layer is damaged',
      (() => {
        const stream = saveStream({ layers: [payload], gzip: true })
        stream.fill(0x55, 2000, 3000)
        return stream
      })(),
      {},
      /could not be decompressed|damaged header/
    ],
    [
      'a listed layer is not in the stream',
      Buffer.concat([
        tarFile('manifest.json', JSON.stringify([{ Layers: ['blobs/sha256/missing'] }])),
        TAR_END
      ]),
      {},
      /did not write the layer blobs\/sha256\/missing/
    ]
  ])('fails, saying why, when %s', async (_name, stream, options, reason) => {
    const measuring = measureSavedImage('i', [], fakeSave(stream, options).spawn)
    await expect(measuring).rejects.toThrow(ImageSaveError)
    await expect(measuring).rejects.toThrow(reason)
  })
})
