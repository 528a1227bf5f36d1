import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { builderPlatforms } from '../../src/adapters/docker.js'
import { readKernelEmulators } from '../../src/adapters/kernel-emulators.js'

const REGISTRATION = [
  'enabled',
  'interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P',
  'flags: PF',
  'offset 0',
  'magic 7f454c460201010000000000000000000200b700',
  'mask ffffffffffffff00fffffffffffffffffeffffff'
].join('\n')

function binfmtDir(status: string, entries: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'binfmt-'))
  writeFileSync(path.join(dir, 'status'), `${status}\n`)
  writeFileSync(path.join(dir, 'register'), '')
  for (const [name, text] of Object.entries(entries)) writeFileSync(path.join(dir, name), text)
  return dir
}

const local = { endpoint: 'unix:///var/run/docker.sock', kernelVersion: os.release() }

describe('readKernelEmulators', () => {
  it('reads the registrations of a local engine’s kernel', () => {
    const dir = binfmtDir('enabled', { 'qemu-aarch64': REGISTRATION })
    try {
      const kernel = readKernelEmulators(local, dir)
      expect(kernel?.enabled).toBe(true)
      expect(kernel?.entries.map(entry => entry.name)).toEqual(['qemu-aarch64'])
    } finally {
      rmSync(dir, { recursive: true })
    }
  })

  it('reports binfmt_misc disabled as a whole', () => {
    const dir = binfmtDir('disabled', { 'qemu-aarch64': REGISTRATION })
    try {
      expect(readKernelEmulators(local, dir)?.enabled).toBe(false)
    } finally {
      rmSync(dir, { recursive: true })
    }
  })

  it('says nothing for an engine reached over tcp, whose kernel is elsewhere', () => {
    const dir = binfmtDir('enabled', {})
    try {
      expect(
        readKernelEmulators({ ...local, endpoint: 'tcp://10.0.0.5:2376' }, dir)
      ).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true })
    }
  })

  it('says nothing for a local socket whose engine runs another kernel (Docker Desktop’s VM)', () => {
    const dir = binfmtDir('enabled', {})
    try {
      expect(
        readKernelEmulators({ ...local, kernelVersion: '6.10.14-linuxkit' }, dir)
      ).toBeUndefined()
    } finally {
      rmSync(dir, { recursive: true })
    }
  })

  it('says nothing where binfmt_misc is not mounted', () => {
    expect(readKernelEmulators(local, path.join(os.tmpdir(), 'no-such-binfmt-dir'))).toBeUndefined()
  })
})

describe('builderPlatforms', () => {
  it('merges the Platforms lines of every node and drops the * of platforms set by hand', () => {
    const inspect = [
      'Name:          multi',
      'Driver:        docker-container',
      '',
      'Nodes:',
      'Name:      multi0',
      'Platforms: linux/amd64*, linux/amd64/v2, linux/386',
      'Name:      multi1',
      'Platforms: linux/arm64*, linux/arm/v7'
    ].join('\n')
    expect(builderPlatforms(inspect)).toEqual([
      'linux/amd64',
      'linux/amd64/v2',
      'linux/386',
      'linux/arm64',
      'linux/arm/v7'
    ])
  })

  it('is empty for a builder that lists no platforms', () => {
    expect(builderPlatforms('Name: x\nDriver: remote\n')).toEqual([])
  })
})
