import type { ImageFileKind } from '../domain/image-files.js'

/**
 * Reads the tar stream `docker cp CONTAINER:PATH -` writes, as it arrives, keeping only headers
 * (and, if asked, the first bytes of each file): a task root of a million files or of a few
 * files of gigabytes passes through in bounded memory, whatever its size.
 *
 * docker writes it with Go's archive/tar, which picks ustar when a header fits and PAX otherwise
 * (long names, sizes from 8 GiB, large ids); GNU long names and base-256 numbers are read too.
 * Header layout (POSIX.1-2001 "pax" / ustar): name 0-99, mode 100-107, uid 108-115,
 * gid 116-123, size 124-135, checksum 148-155, type 156, link name 157-256, magic 257-262,
 * prefix 345-499; numbers are octal text.
 */

const BLOCK = 512
/** A PAX or GNU long-name record larger than this is not what docker writes: not understood. */
const MAX_RECORD_BYTES = 1 << 20
const EMPTY = Buffer.alloc(0)

/** One entry of the stream, as its headers tell it. */
export interface TarEntry {
  readonly path: string
  readonly kind: ImageFileKind
  readonly mode: number
  readonly uid: number
  readonly gid: number
  readonly size: number
  readonly linkTarget?: string
  /** The first bytes of a regular file's data, up to the reader's `headBytes`. */
  readonly head: Uint8Array
}

/** Called for every entry in stream order; 'stop' when no more of the stream is needed. */
export type TarVisitor = (entry: TarEntry) => void | 'stop'

/**
 * Given the data of the entry last visited, after its head, in pieces as they arrive (padding
 * left out). The piece is a view of the stream's bytes: read or copy it, never change it.
 */
export type TarDataSink = (piece: Buffer) => void

/** Header fields a PAX (`x`) or GNU long-name (`L`, `K`) record sets for the next entry. */
interface Overrides {
  path?: string
  linkTarget?: string
  size?: number
  uid?: number
  gid?: number
}

type Phase =
  | { readonly name: 'header' }
  | {
      readonly name: 'record'
      readonly type: string
      readonly size: number
      readonly padded: number
    }
  | {
      readonly name: 'head'
      readonly entry: TarEntry
      readonly head: Buffer
      got: number
      readonly rest: number
    }
  | { readonly name: 'skip'; remaining: number; data: number }

const READING_HEADER: Phase = { name: 'header' }
/** Shared by every entry without PAX or GNU records before it; never written to. */
const NO_OVERRIDES: Overrides = Object.freeze({})

export class TarStream {
  /** Entries handed to the visitor so far. */
  entries = 0
  /** Why the stream could not be read further; undefined while it is understood. */
  problem: string | undefined
  private sawEnd = false
  private stopped = false
  /** Bytes received and not yet consumed: `pending` from offset `at` on. */
  private pending: Buffer = EMPTY
  private at = 0
  private phase: Phase = READING_HEADER
  private overrides: Overrides = NO_OVERRIDES

  constructor(
    private readonly visit: TarVisitor,
    private readonly headBytes = 0,
    private readonly data?: TarDataSink
  ) {}

  /** The end-of-archive marker was read: the archive is whole. */
  get ended(): boolean {
    return this.sawEnd
  }

  /** No more bytes are wanted: end of archive, the visitor stopped, or a problem. */
  get done(): boolean {
    return this.sawEnd || this.stopped || this.problem !== undefined
  }

  /** Feeds the next bytes of the stream; returns false once no more are wanted. */
  push(chunk: Buffer): boolean {
    if (this.done) return false
    // Only a partial header or record is carried over from one chunk to the next.
    this.pending =
      this.at < this.pending.length ? Buffer.concat([this.pending.subarray(this.at), chunk]) : chunk
    this.at = 0
    while (!this.done && this.step()) {
      // each step consumes bytes or changes phase; it returns false when it needs more bytes
    }
    if (this.done) this.pending = EMPTY
    return !this.done
  }

  /**
   * Call at the end of the stream: undefined when the archive was read to its end-of-archive
   * marker (or the visitor stopped), else what went wrong.
   */
  finish(): string | undefined {
    if (this.problem !== undefined || this.sawEnd || this.stopped) return this.problem
    return this.phase.name === 'header' && this.at >= this.pending.length
      ? `the tar stream ended without its end-of-archive marker after ${entryCount(this.entries)}`
      : `the tar stream ended in the middle of an entry after ${entryCount(this.entries)}`
  }

  private get available(): number {
    return this.pending.length - this.at
  }

  private step(): boolean {
    const phase = this.phase
    switch (phase.name) {
      case 'header':
        return this.header()
      case 'record': {
        if (this.available < phase.padded) return false
        this.record(phase.type, this.pending.subarray(this.at, this.at + phase.size))
        this.at += phase.padded
        this.phase = READING_HEADER
        return true
      }
      case 'head': {
        const taken = Math.min(phase.head.length - phase.got, this.available)
        this.pending.copy(phase.head, phase.got, this.at, this.at + taken)
        phase.got += taken
        this.at += taken
        if (phase.got < phase.head.length) return false
        this.emit(
          { ...phase.entry, head: new Uint8Array(phase.head) },
          phase.rest,
          phase.entry.size - phase.head.length
        )
        return true
      }
      case 'skip': {
        const dropped = Math.min(phase.remaining, this.available)
        const data = Math.min(phase.data, dropped)
        if (data > 0 && this.data) this.data(this.pending.subarray(this.at, this.at + data))
        phase.data -= data
        this.at += dropped
        phase.remaining -= dropped
        if (phase.remaining > 0) return false
        this.phase = READING_HEADER
        return true
      }
    }
  }

  private header(): boolean {
    if (this.available < BLOCK) return false
    const block = this.pending
    const base = this.at
    this.at += BLOCK
    if (isZeroBlock(block, base)) {
      this.sawEnd = true
      return false
    }
    if (!checksumMatches(block, base)) {
      this.problem = `the tar stream has a damaged header after ${entryCount(this.entries)} (checksum mismatch)`
      return false
    }
    const type = String.fromCharCode(block[base + 156]!)
    const extension = type === 'x' || type === 'g' || type === 'L' || type === 'K'
    const size = (extension ? undefined : this.overrides.size) ?? numeric(block, base + 124, 12)
    if (!Number.isSafeInteger(size) || size < 0) {
      this.problem = `the tar stream has an entry size that cannot be read after ${entryCount(this.entries)}`
      return false
    }
    const padded = Math.ceil(size / BLOCK) * BLOCK
    if (extension) {
      if (padded > MAX_RECORD_BYTES) {
        this.problem = `the tar stream has a ${size}-byte extended header after ${entryCount(this.entries)}, larger than any docker writes`
        return false
      }
      this.phase = { name: 'record', type, size, padded }
      return true
    }
    const kind = kindOf(type)
    const name = text(block, base, 100)
    const prefix = isUstar(block, base) ? text(block, base + 345, 155) : ''
    const entry: TarEntry = {
      path: this.overrides.path ?? (prefix ? `${prefix}/${name}` : name),
      kind,
      mode: numeric(block, base + 100, 8) & 0o7777,
      uid: this.overrides.uid ?? numeric(block, base + 108, 8),
      gid: this.overrides.gid ?? numeric(block, base + 116, 8),
      size,
      linkTarget:
        kind === 'symlink'
          ? (this.overrides.linkTarget ?? text(block, base + 157, 100))
          : undefined,
      head: EMPTY
    }
    if (this.overrides !== NO_OVERRIDES) this.overrides = NO_OVERRIDES
    const wanted = kind === 'file' ? Math.min(size, this.headBytes) : 0
    if (wanted > 0) {
      this.phase = {
        name: 'head',
        entry,
        head: Buffer.alloc(wanted),
        got: 0,
        rest: padded - wanted
      }
      return true
    }
    this.emit(entry, padded, size)
    return true
  }

  /** `skip` bytes follow the entry's header (or head), `data` of them its data. */
  private emit(entry: TarEntry, skip: number, data: number): void {
    this.entries += 1
    if (this.visit(entry) === 'stop') this.stopped = true
    this.phase = skip === 0 ? READING_HEADER : { name: 'skip', remaining: skip, data }
  }

  /** PAX records set the next entry's fields; GNU `L`/`K` entries carry a long name or link. */
  private record(type: string, data: Buffer): void {
    if (this.overrides === NO_OVERRIDES) this.overrides = {}
    if (type === 'L') this.overrides.path = text(data, 0, data.length)
    else if (type === 'K') this.overrides.linkTarget = text(data, 0, data.length)
    // A global PAX header (g) would apply to every later entry; Go's tar writer never emits one
    // for docker cp, and no field the checks use is meaningful for all entries at once.
    else if (type === 'x') {
      for (const [key, value] of paxRecords(data)) {
        if (key === 'path') this.overrides.path = value
        else if (key === 'linkpath') this.overrides.linkTarget = value
        else if (key === 'size' || key === 'uid' || key === 'gid') {
          const number = Number(value)
          if (/^\d+$/.test(value) && Number.isSafeInteger(number)) this.overrides[key] = number
        }
      }
    }
  }
}

/** The ustar type flag: 0, NUL or 7 a regular file, 2 a symbolic link, 5 a directory. */
function kindOf(type: string): ImageFileKind {
  if (type === '0' || type === '\0' || type === '7') return 'file'
  if (type === '2') return 'symlink'
  if (type === '5') return 'directory'
  return 'other'
}

function entryCount(entries: number): string {
  return `${entries} ${entries === 1 ? 'entry' : 'entries'}`
}

function isZeroBlock(block: Buffer, base: number): boolean {
  for (let i = base; i < base + BLOCK; i += 1) if (block[i] !== 0) return false
  return true
}

/** "ustar\0" at 257: POSIX ustar (and PAX); GNU tar's "ustar  " header has no prefix field. */
function isUstar(block: Buffer, base: number): boolean {
  const at = base + 257
  return (
    block[at] === 0x75 &&
    block[at + 1] === 0x73 &&
    block[at + 2] === 0x74 &&
    block[at + 3] === 0x61 &&
    block[at + 4] === 0x72 &&
    block[at + 5] === 0
  )
}

/** The checksum is the sum of the header's bytes with its own field read as spaces. */
function checksumMatches(block: Buffer, base: number): boolean {
  const stored = numeric(block, base + 148, 8)
  let sum = 8 * 0x20
  for (let i = base; i < base + 148; i += 1) sum += block[i]!
  for (let i = base + 156; i < base + BLOCK; i += 1) sum += block[i]!
  if (stored === sum) return true
  // Some old tars summed signed bytes.
  for (let i = base; i < base + BLOCK; i += 1) {
    if ((i < base + 148 || i >= base + 156) && block[i]! > 127) sum -= 256
  }
  return stored === sum
}

/** A NUL-terminated (or full-width) text field. */
function text(block: Buffer, start: number, length: number): string {
  let end = start
  const limit = Math.min(start + length, block.length)
  while (end < limit && block[end] !== 0) end += 1
  return end === start ? '' : block.toString('utf8', start, end)
}

/**
 * A number field: octal digits, perhaps led by spaces and ended by a space or NUL; or GNU
 * base-256 (high bit of the first byte set, then big-endian) for values octal cannot hold.
 * NaN when the field is neither.
 */
function numeric(block: Buffer, start: number, length: number): number {
  const first = block[start] ?? 0
  const end = start + length
  if (first & 0x80) {
    let value = first & 0x7f
    for (let i = start + 1; i < end; i += 1) value = value * 256 + block[i]!
    return value
  }
  let value = 0
  let i = start
  while (i < end && block[i] === 0x20) i += 1
  for (; i < end; i += 1) {
    const byte = block[i]!
    if (byte >= 0x30 && byte <= 0x37) value = value * 8 + (byte - 0x30)
    else if (byte === 0x20 || byte === 0) break
    else return NaN
  }
  return value
}

/** PAX records are "LENGTH KEY=VALUE\n", LENGTH counting the whole record. */
function paxRecords(data: Buffer): [string, string][] {
  const records: [string, string][] = []
  let offset = 0
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset)
    if (space < 0) break
    const length = Number(data.toString('latin1', offset, space))
    if (!Number.isSafeInteger(length) || length <= space - offset) break
    const record = data.toString('utf8', space + 1, offset + length - 1)
    const equals = record.indexOf('=')
    if (equals > 0) records.push([record.slice(0, equals), record.slice(equals + 1)])
    offset += length
  }
  return records
}
