/**
 * Tar headers built by the book (POSIX ustar, with a correct checksum), for streams no real tar
 * on the test machine writes cheaply: files of 8 GiB and more, damaged or cut-off streams.
 * Streams a real tar can write are made with GNU tar in the tests themselves.
 */
export interface HeaderFields {
  readonly name: string
  readonly type?: string
  readonly mode?: number
  readonly size?: number
  readonly uid?: number
  readonly link?: string
}

export function tarHeader(fields: HeaderFields): Buffer {
  const block = Buffer.alloc(512)
  block.write(fields.name, 0, 100)
  block.write(octal(fields.mode ?? 0o644, 7), 100)
  block.write(octal(fields.uid ?? 0, 7), 108)
  block.write(octal(0, 7), 116)
  block.write(octal(fields.size ?? 0, 11), 124)
  block.write(octal(0, 11), 136)
  block.write(fields.type ?? '0', 156)
  block.write(fields.link ?? '', 157, 100)
  block.write('ustar\u000000', 257)
  block.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < block.length; i += 1) sum += block[i]!
  block.write(`${octal(sum, 6)}\u0000 `, 148)
  return block
}

/** A PAX extended header (type x) carrying `records`, padded to whole blocks. */
export function paxHeader(records: Record<string, string>): Buffer {
  const body = Object.entries(records)
    .map(([key, value]) => paxRecord(key, value))
    .join('')
  const data = Buffer.from(body)
  return Buffer.concat([tarHeader({ name: 'PaxHeader', type: 'x', size: data.length }), pad(data)])
}

/** A regular file's header and its data, padded to whole blocks. */
export function tarFile(name: string, data: string | Buffer, mode = 0o644): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data
  return Buffer.concat([tarHeader({ name, mode, size: bytes.length }), pad(bytes)])
}

/** Two zero blocks: the end-of-archive marker. */
export const TAR_END = Buffer.alloc(1024)

export function pad(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)])
}

function octal(value: number, digits: number): string {
  return value.toString(8).padStart(digits, '0')
}

/** "LENGTH KEY=VALUE\n", where LENGTH counts itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`
  let length = Buffer.byteLength(rest) + 1
  while (String(length).length + Buffer.byteLength(rest) !== length) length += 1
  return `${length}${rest}`
}
