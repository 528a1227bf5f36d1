import { describe, expect, it } from '@jest/globals'
import {
  checkEntrypointFile,
  elfArchitecture,
  resolveLink,
  type ImageFile
} from '../../src/domain/image-files.js'

function elf(machine: number): Uint8Array {
  const head = new Uint8Array(64)
  head.set([0x7f, 0x45, 0x4c, 0x46, 2, 1], 0)
  head[18] = machine & 0xff
  head[19] = machine >> 8
  return head
}

const AMD64 = elf(0x3e)
const ARM64 = elf(0xb7)
const script = (text: string) => new TextEncoder().encode(text)

/** A reader over an in-memory image file system. */
function imageWith(files: Record<string, Partial<ImageFile>>) {
  return (path: string): Promise<ImageFile> =>
    Promise.resolve({
      path,
      kind: 'missing',
      mode: 0,
      uid: 0,
      head: new Uint8Array(),
      ...files[path]
    })
}

const busyboxImage = {
  '/lambda-entrypoint.sh': {
    kind: 'file' as const,
    mode: 0o755,
    head: script('#!/bin/sh\nexec x')
  },
  '/bin/sh': { kind: 'symlink' as const, mode: 0o777, linkTarget: 'busybox' },
  '/bin/busybox': { kind: 'file' as const, mode: 0o755, head: AMD64 }
}

async function ids(
  entrypoint: string[],
  files: Record<string, Partial<ImageFile>>,
  architecture: 'x86_64' | 'arm64' = 'x86_64'
): Promise<string[]> {
  return (await checkEntrypointFile(entrypoint, architecture, imageWith(files))).map(f => f.id)
}

describe('checkEntrypointFile', () => {
  it('accepts a readable, executable script whose interpreter matches the architecture', async () => {
    expect(await ids(['/lambda-entrypoint.sh'], busyboxImage)).toEqual([])
  })

  it('follows the interpreter through symbolic links to find its architecture', async () => {
    expect(await ids(['/lambda-entrypoint.sh'], busyboxImage, 'arm64')).toEqual([
      'entrypoint-wrong-architecture'
    ])
  })

  it.each<[string, Record<string, Partial<ImageFile>>, string]>([
    ['a missing file', {}, 'entrypoint-missing'],
    [
      'a symbolic link',
      { '/entry': { kind: 'symlink', linkTarget: '/bin/busybox' } },
      'entrypoint-symlink'
    ],
    ['a directory', { '/entry': { kind: 'directory', mode: 0o755 } }, 'entrypoint-not-a-file'],
    [
      'a binary only its owner may run',
      { '/entry': { kind: 'file', mode: 0o700, head: AMD64 } },
      'entrypoint-not-executable'
    ],
    [
      'a script others may run but not read',
      {
        '/entry': { kind: 'file', mode: 0o711, head: script('#!/bin/busybox sh\n') },
        '/bin/busybox': busyboxImage['/bin/busybox']
      },
      'entrypoint-not-executable'
    ],
    [
      'an arm64 binary',
      { '/entry': { kind: 'file', mode: 0o755, head: ARM64 } },
      'entrypoint-wrong-architecture'
    ]
  ])('flags %s', async (_name, files, id) => {
    expect(await ids(['/entry'], files)).toEqual([id])
  })

  it('leaves relative and absent entrypoints to the config checks', async () => {
    expect(await ids(['bootstrap'], {})).toEqual([])
    expect(await ids([], {})).toEqual([])
  })

  it('accepts a binary others may execute but not read', async () => {
    expect(await ids(['/entry'], { '/entry': { kind: 'file', mode: 0o711, head: AMD64 } })).toEqual(
      []
    )
  })
})

describe('elfArchitecture', () => {
  it('reads x86-64 and AArch64 and ignores non-ELF files', () => {
    expect(elfArchitecture(AMD64)).toBe('amd64')
    expect(elfArchitecture(ARM64)).toBe('arm64')
    expect(elfArchitecture(script('#!/bin/sh'))).toBeUndefined()
  })
})

describe('resolveLink', () => {
  it.each([
    ['/bin/sh', 'busybox', '/bin/busybox'],
    ['/usr/bin/sh', '../../bin/dash', '/bin/dash'],
    ['/bin/sh', '/usr/bin/bash', '/usr/bin/bash']
  ])('resolves %s -> %s to %s', (link, target, resolved) => {
    expect(resolveLink(link, target)).toBe(resolved)
  })
})
