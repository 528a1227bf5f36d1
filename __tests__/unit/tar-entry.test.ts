import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { TarStream, type TarEntry } from '../../src/adapters/tar-entry.js'
import { pad, paxHeader, TAR_END, tarFile, tarHeader } from './tar-fixture.js'

function read(
  stream: Buffer,
  chunkSize: number,
  headBytes = 0
): { entries: TarEntry[]; tar: TarStream } {
  const entries: TarEntry[] = []
  const tar = new TarStream(entry => {
    entries.push(entry)
  }, headBytes)
  for (let offset = 0; offset < stream.length; offset += chunkSize) {
    if (!tar.push(stream.subarray(offset, offset + chunkSize))) break
  }
  return { entries, tar }
}

const summary = (entries: TarEntry[]) =>
  entries.map(entry => [entry.path, entry.kind, entry.mode.toString(8), entry.linkTarget])

describe('TarStream on what GNU tar writes', () => {
  let dir: string
  const longDirectory = 'd'.repeat(150)
  const longTarget = `/opt/${'t'.repeat(120)}/bin/node`

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tar-entry-'))
    const task = path.join(dir, 'task')
    mkdirSync(path.join(task, longDirectory), { recursive: true })
    writeFileSync(path.join(task, 'index.mjs'), '#!/usr/bin/env node\nexport const handler = 1\n')
    writeFileSync(path.join(task, 'secret.json'), '{}')
    chmodSync(path.join(task, 'secret.json'), 0o600)
    writeFileSync(path.join(task, longDirectory, 'file.js'), 'x'.repeat(1300))
    symlinkSync(longTarget, path.join(task, 'node'))
    chmodSync(task, 0o755)
    chmodSync(path.join(task, longDirectory), 0o750)
  })

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  const expected = () => [
    ['task/', 'directory', '755', undefined],
    [`task/${longDirectory}/`, 'directory', '750', undefined],
    [`task/${longDirectory}/file.js`, 'file', '644', undefined],
    ['task/index.mjs', 'file', '644', undefined],
    ['task/node', 'symlink', '777', longTarget],
    ['task/secret.json', 'file', '600', undefined]
  ]

  it.each(['pax', 'gnu'])(
    'lists every entry of the %s format, long names and link targets too, however the stream is cut',
    format => {
      const stream = execFileSync(
        'tar',
        ['-C', dir, '--sort=name', `--format=${format}`, '-cf', '-', 'task'],
        {
          maxBuffer: 1 << 24
        }
      )
      for (const size of [1, 7, 511, 512, 513, 4096, 65536]) {
        const { entries, tar } = read(stream, size)
        expect(summary(entries)).toEqual(expected())
        expect(tar.finish()).toBeUndefined()
      }
    }
  )

  it('keeps the first bytes of each file when asked', () => {
    const stream = execFileSync('tar', [
      '-C',
      dir,
      '--sort=name',
      '--format=pax',
      '-cf',
      '-',
      'task'
    ])
    const { entries } = read(stream, 100, 11)
    const index = entries.find(entry => entry.path === 'task/index.mjs')
    expect(Buffer.from(index!.head).toString()).toBe('#!/usr/bin/')
    expect(entries.find(entry => entry.path === 'task/')?.head).toHaveLength(0)
  })
})

describe('TarStream', () => {
  it('takes the size of a file of 8 GiB or more from its PAX record, and base-256 too', () => {
    const size = 9 * 2 ** 30
    const base256 = tarHeader({ name: 'task/big-2.bin', size: 0 })
    // GNU base-256: high bit of the first byte set, the value big-endian in the rest.
    base256.fill(0, 124, 136)
    base256[124] = 0x80
    base256.writeUIntBE(size, 136 - 6, 6)
    let sum = 0
    base256.fill(0x20, 148, 156)
    for (const byte of base256) sum += byte
    base256.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148)

    const entries: TarEntry[] = []
    const tar = new TarStream(entry => {
      entries.push(entry)
    })
    const zeros = Buffer.alloc(1 << 20)
    const feedData = () => {
      for (let left = size; left > 0; left -= zeros.length) tar.push(zeros)
    }
    tar.push(paxHeader({ size: String(size) }))
    tar.push(tarHeader({ name: 'task/big-1.bin', size: 0 }))
    feedData()
    tar.push(base256)
    feedData()
    tar.push(Buffer.concat([tarFile('task/after.js', 'x'), TAR_END]))
    expect(entries.map(entry => [entry.path, entry.size])).toEqual([
      ['task/big-1.bin', size],
      ['task/big-2.bin', size],
      ['task/after.js', 1]
    ])
    expect(tar.finish()).toBeUndefined()
  })

  it('stops at the end-of-archive marker and wants nothing after it', () => {
    const tar = new TarStream(() => undefined)
    expect(tar.push(tarFile('a', 'x'))).toBe(true)
    expect(tar.push(Buffer.concat([TAR_END, Buffer.alloc(512, 7)]))).toBe(false)
    expect(tar.entries).toBe(1)
    expect(tar.finish()).toBeUndefined()
  })

  it('stops when the visitor has what it needs', () => {
    const tar = new TarStream(() => 'stop', 4)
    expect(tar.push(Buffer.concat([tarFile('a', '#!/bin/sh'), tarFile('b', 'y')]))).toBe(false)
    expect(tar.entries).toBe(1)
    expect(tar.finish()).toBeUndefined()
  })

  it('says so when a header is damaged, instead of reading on', () => {
    const damaged = tarHeader({ name: 'task/b.js', size: 3 })
    damaged[0] = 0x58
    const { entries, tar } = read(
      Buffer.concat([tarFile('task/a.js', 'x'), damaged, pad(Buffer.from('abc')), TAR_END]),
      512
    )
    expect(entries.map(entry => entry.path)).toEqual(['task/a.js'])
    expect(tar.done).toBe(true)
    expect(tar.finish()).toBe(
      'the tar stream has a damaged header after 1 entry (checksum mismatch)'
    )
  })

  it.each([
    ['in the middle of an entry', 700],
    ['without its end-of-archive marker', 1536]
  ])('says so when the stream ends %s', (how, cut) => {
    const { tar } = read(tarFile('task/a.js', 'x'.repeat(600)).subarray(0, cut), 512)
    expect(tar.finish()).toBe(`the tar stream ended ${how} after 1 entry`)
  })
})
