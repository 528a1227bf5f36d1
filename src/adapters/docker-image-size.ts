import * as zlib from 'node:zlib'
import type { Writable } from 'node:stream'
import { spawnDocker, type SpawnDocker } from './docker-byte-stream.js'
import { TarStream, type TarEntry } from './tar-entry.js'

/**
 * The uncompressed size of each layer of a local image, as Lambda's limit counts it: the length
 * of the layer's uncompressed tar stream. Neither image store's metadata gives it (measured with
 * Docker 28.5, see README "Image size"): the classic store's sizes count file contents without
 * tar headers, the containerd store's `docker history` counts disk blocks and its
 * `docker image inspect` `.Size` is the compressed content.
 *
 * `docker image save` writes each layer as a blob: the classic store an uncompressed tar (whose
 * length the outer tar's header gives), the containerd store the blob it keeps, usually gzip,
 * which is decompressed here and counted, never kept. Memory stays bounded: only the manifest
 * and the config (small JSON) are read into memory.
 */
export interface SavedImageLayers {
  /** Base first, as the manifest lists them (a layer listed twice counts twice). */
  readonly layers: readonly { readonly uncompressedBytes: number; readonly createdBy: string }[]
}

export class ImageSaveError extends Error {
  override name = 'ImageSaveError'
}

/** Larger than any manifest or config; a JSON blob over this is not read. */
const MAX_JSON_BYTES = 8 << 20
/**
 * Output pieces of the decompressors: zlib's default of 16 KiB makes a callback per 16 KiB, and
 * decompressed 1 GB of zeros in 1.5 s here, 1 MiB pieces in 0.5 s.
 */
const INFLATE_CHUNK_BYTES = 1 << 20
const GZIP_MAGIC = [0x1f, 0x8b]
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd]

export async function measureSavedImage(
  image: string,
  /** The image's diff IDs (RootFS.Layers): pick its manifest when a save holds several. */
  diffIds: readonly string[],
  spawnIt: SpawnDocker = spawnDocker
): Promise<SavedImageLayers> {
  const sizes = new Map<string, Promise<number>>()
  const links = new Map<string, string>()
  const texts = new Map<string, string>()
  let sink: EntrySink | undefined
  let congested: Writable | undefined

  const docker = spawnIt(['image', 'save', image])
  const tar = new TarStream(
    entry => {
      sink?.end()
      sink = undefined
      if (entry.kind === 'symlink' && entry.linkTarget) links.set(entry.path, entry.linkTarget)
      if (entry.kind !== 'file') return
      sink = sinkFor(entry)
      sizes.set(entry.path, sink.size)
    },
    ZSTD_MAGIC.length,
    piece => {
      const waiting = sink?.write(piece)
      if (waiting) congested = waiting
    }
  )
  const sinkFor = (entry: TarEntry): EntrySink => {
    if (startsWith(entry.head, GZIP_MAGIC))
      return decompressing(entry, zlib.createGunzip({ chunkSize: INFLATE_CHUNK_BYTES }))
    if (startsWith(entry.head, ZSTD_MAGIC)) {
      const zstd = (zlib as { createZstdDecompress?: (options: zlib.ZlibOptions) => zlib.Gunzip })
        .createZstdDecompress
      if (!zstd) return failing(`${entry.path} is zstd-compressed, and this Node has no zstd`)
      return decompressing(entry, zstd({ chunkSize: INFLATE_CHUNK_BYTES }))
    }
    // JSON: an object (a config, index.json) or an array (manifest.json).
    if ((entry.head[0] === 0x7b || entry.head[0] === 0x5b) && entry.size <= MAX_JSON_BYTES) {
      return collecting(entry, text => texts.set(entry.path, text))
    }
    return counted(entry.size)
  }

  docker.stdout.on('data', (chunk: Buffer) => {
    if (!tar.push(chunk)) return
    // A decompressor behind on its input holds docker back until it has caught up.
    if (congested) {
      const waitFor = congested
      congested = undefined
      docker.stdout.pause()
      // A stream ended while full emits no 'drain', only 'finish' once it has caught up.
      const resume = () => {
        for (const event of ['drain', 'finish', 'close']) waitFor.off(event, resume)
        docker.stdout.resume()
      }
      for (const event of ['drain', 'finish', 'close']) waitFor.once(event, resume)
    }
  })
  const exit = await docker.exited
  sink?.end()
  if (exit.exitCode !== 0) {
    throw new ImageSaveError(
      `docker image save exited with code ${exit.exitCode}: ${exit.stderr || 'no error output'}`
    )
  }
  const problem = tar.problem ?? (tar.ended ? undefined : tar.finish())
  if (problem !== undefined) throw new ImageSaveError(`docker image save: ${problem}`)

  const configOf = (entry: SavedManifest): SavedConfig =>
    entry.Config
      ? parseJson<SavedConfig>(texts.get(resolveLink(entry.Config, links)), 'the image config')
      : {}
  const entries = parseJson<SavedManifest[]>(texts.get('manifest.json'), 'manifest.json')
  if (!Array.isArray(entries)) throw new ImageSaveError('docker image save wrote no image list')
  // A multi-platform image saves one entry per platform; its diff IDs name the one inspected.
  const manifest =
    entries.length === 1
      ? entries[0]
      : entries.find(
          entry => JSON.stringify(configOf(entry).rootfs?.diff_ids) === JSON.stringify(diffIds)
        )
  if (!manifest?.Layers) throw new ImageSaveError('docker image save wrote no layer list')
  const layerSizes = await Promise.all(
    manifest.Layers.map(async layer => {
      const size = sizes.get(resolveLink(layer, links))
      if (!size) throw new ImageSaveError(`docker image save did not write the layer ${layer}`)
      return size
    })
  )
  const history = (configOf(manifest).history ?? []).filter(step => !step.empty_layer)
  return {
    layers: layerSizes.map((uncompressedBytes, index) => ({
      uncompressedBytes,
      // Images without history (some tools write none) name no instruction.
      createdBy: history.length === layerSizes.length ? (history[index]?.created_by ?? '') : ''
    }))
  }
}

interface SavedManifest {
  readonly Config?: string
  readonly Layers?: string[]
}

interface SavedConfig {
  readonly rootfs?: { readonly diff_ids?: string[] }
  readonly history?: { readonly created_by?: string; readonly empty_layer?: boolean }[]
}

/** Where one entry's data goes; `size` settles with its uncompressed length. */
interface EntrySink {
  readonly size: Promise<number>
  /** The stream to wait for when it wants no more input for now. */
  write(piece: Buffer): Writable | undefined
  end(): void
}

function counted(bytes: number): EntrySink {
  return { size: Promise.resolve(bytes), write: () => undefined, end: () => undefined }
}

function failing(reason: string): EntrySink {
  const size = Promise.reject(new ImageSaveError(reason))
  // Rejected only when a layer needs it; a blob that is not a layer is never awaited.
  size.catch(() => undefined)
  return { size, write: () => undefined, end: () => undefined }
}

function decompressing(entry: TarEntry, stream: zlib.Gunzip): EntrySink {
  let bytes = 0
  const size = new Promise<number>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => (bytes += chunk.length))
    stream.on('end', () => resolve(bytes))
    stream.on('error', error =>
      reject(new ImageSaveError(`${entry.path} could not be decompressed: ${error.message}`))
    )
  })
  size.catch(() => undefined)
  stream.write(Buffer.from(entry.head))
  return {
    size,
    // The piece is the stream's own memory: the decompressor gets a copy it may keep.
    write: piece => (stream.write(Buffer.from(piece)) ? undefined : stream),
    end: () => stream.end()
  }
}

function collecting(entry: TarEntry, done: (text: string) => void): EntrySink {
  const pieces: Buffer[] = [Buffer.from(entry.head)]
  return {
    size: Promise.resolve(entry.size),
    write: piece => {
      pieces.push(Buffer.from(piece))
      return undefined
    },
    end: () => done(Buffer.concat(pieces).toString('utf8'))
  }
}

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, index) => head[index] === byte)
}

/** The legacy save format links a repeated layer to its first copy: ../ID/layer.tar. */
function resolveLink(entryPath: string, links: ReadonlyMap<string, string>): string {
  let current = entryPath
  for (let hops = 0; hops < 8; hops += 1) {
    const target = links.get(current)
    if (!target) return current
    const parts = current.split('/').slice(0, -1)
    for (const part of target.split('/')) {
      if (part === '..') parts.pop()
      else if (part !== '.' && part !== '') parts.push(part)
    }
    current = target.startsWith('/') ? target.slice(1) : parts.join('/')
  }
  return current
}

function parseJson<T>(text: string | undefined, what: string): T {
  if (text === undefined) throw new ImageSaveError(`docker image save wrote no ${what}`)
  try {
    return JSON.parse(text) as T
  } catch {
    throw new ImageSaveError(`docker image save wrote ${what} that is not JSON`)
  }
}
