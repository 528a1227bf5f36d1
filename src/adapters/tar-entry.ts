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
    const kind: ImageFileKind =
      type === '0' || type === '\0'
        ? 'file'
        : type === '2'
          ? 'symlink'
          : type === '5'
            ? 'directory'
            : 'other'
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
