import type { ImageFileKind } from '../domain/image-files.js'

/**
 * Reads the first real entry of the tar stream `docker cp CONTAINER:PATH -` writes for one path.
 * Only the POSIX header fields the checks need (ustar: name 0-99, mode 100-107, uid 108-115, size
 * 124-135, type 156, link name 157-256; numbers in octal), skipping PAX extension headers.
 */
const BLOCK = 512

export function parseSingleEntryTar(
  tar: Buffer,
  headBytes: number
): { kind: ImageFileKind; mode: number; uid: number; linkTarget?: string; head: Uint8Array } {
  let offset = 0
  let paxLinkTarget: string | undefined
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK)
    const size = octal(header, 124, 12)
    const type = String.fromCharCode(header[156] ?? 0)
    const dataStart = offset + BLOCK
    if (type === 'x' || type === 'g') {
      paxLinkTarget =
        paxRecord(tar.subarray(dataStart, dataStart + size), 'linkpath') ?? paxLinkTarget
      offset = dataStart + Math.ceil(size / BLOCK) * BLOCK
      continue
    }
    const kind = kindOf(type)
    return {
      kind,
      mode: octal(header, 100, 8) & 0o7777,
      uid: octal(header, 108, 8),
      linkTarget: kind === 'symlink' ? (paxLinkTarget ?? text(header, 157, 100)) : undefined,
      head: new Uint8Array(tar.subarray(dataStart, dataStart + Math.min(size, headBytes)))
    }
  }
  return { kind: 'missing', mode: 0, uid: 0, head: new Uint8Array() }
}

/** The ustar type flag: 0 (or NUL) regular file, 2 symbolic link, 5 directory. */
function kindOf(type: string): ImageFileKind {
  if (type === '0' || type === '\0') return 'file'
  if (type === '2') return 'symlink'
  if (type === '5') return 'directory'
  return 'other'
}

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length)
  const end = field.indexOf(0)
  return field.subarray(0, end < 0 ? length : end).toString('utf8')
}

function octal(block: Buffer, start: number, length: number): number {
  const value = text(block, start, length).trim()
  return value === '' ? 0 : parseInt(value, 8)
}

/** PAX records are "LENGTH KEY=VALUE\n". */
function paxRecord(data: Buffer, key: string): string | undefined {
  for (const line of data.toString('utf8').split('\n')) {
    const match = /^\d+ ([^=]+)=(.*)$/.exec(line)
    if (match?.[1] === key) return match[2]
  }
  return undefined
}

/** One entry of a directory tree, as its tar header tells it (no file contents). */
export interface TarListing {
  readonly path: string
  readonly kind: ImageFileKind
  readonly mode: number
  readonly uid: number
  readonly gid: number
}

/**
 * Lists a tar stream's entries as it arrives, keeping only headers: a task root with hundreds of
 * megabytes of dependencies is read without holding its contents. PAX `path` records (long
 * names) are honoured; entries after `limit` are not kept.
 */
export class TarLister {
  readonly entries: TarListing[] = []
  private pending: Buffer = Buffer.alloc(0)
  /** File data still to drop. */
  private skip = 0
  /** A PAX header's record still to read: its size and padded length. */
  private pax: { size: number; padded: number } | undefined
  private paxPath: string | undefined

  constructor(private readonly limit = 100_000) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    for (;;) {
      if (this.skip > 0) {
        const dropped = Math.min(this.skip, this.pending.length)
        this.pending = this.pending.subarray(dropped)
        this.skip -= dropped
        if (this.skip > 0) return
      }
      if (this.pax) {
        if (this.pending.length < this.pax.padded) return
        this.paxPath = paxRecord(this.pending.subarray(0, this.pax.size), 'path') ?? this.paxPath
        this.pending = this.pending.subarray(this.pax.padded)
        this.pax = undefined
      }
      if (this.pending.length < BLOCK) return
      const header = this.pending.subarray(0, BLOCK)
      this.pending = this.pending.subarray(BLOCK)
      if (header.every(byte => byte === 0)) continue
      const size = octal(header, 124, 12)
      const padded = Math.ceil(size / BLOCK) * BLOCK
      const type = String.fromCharCode(header[156] ?? 0)
      if (type === 'x' || type === 'g') {
        this.pax = { size, padded }
        continue
      }
      const prefix = text(header, 345, 155)
      const name = text(header, 0, 100)
      const path = this.paxPath ?? (prefix ? `${prefix}/${name}` : name)
      this.paxPath = undefined
      if (this.entries.length < this.limit) {
        this.entries.push({
          path,
          kind: kindOf(type),
          mode: octal(header, 100, 8) & 0o7777,
          uid: octal(header, 108, 8),
          gid: octal(header, 116, 8)
        })
      }
      this.skip = padded
    }
  }
}
