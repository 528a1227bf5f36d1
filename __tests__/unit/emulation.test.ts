import { describe, expect, it } from '@jest/globals'
import type { RunStep } from '../../src/domain/dockerfile-base.js'
import {
  checkEmulation,
  emulatorFor,
  parseBinfmtEntry,
  recogniseMissingEmulation,
  samePlatform,
  type EmulationFacts,
  type KernelEmulators
} from '../../src/domain/emulation.js'
import { ActionError } from '../../src/domain/errors.js'

/** Debian's qemu-user-static registration, as this project's test machine shows it. */
const DEBIAN_AARCH64 = [
  'enabled',
  'interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P',
  'flags: PF',
  'offset 0',
  'magic 7f454c460201010000000000000000000200b700',
  'mask ffffffffffffff00fffffffffffffffffeffffff',
  ''
].join('\n')
/** tonistiigi/binfmt's (docker/setup-qemu-action's) x86_64 registration on an arm64 runner. */
const BINFMT_X86_64 = [
  'enabled',
  'interpreter /usr/bin/qemu-x86_64',
  'flags: POCF',
  'offset 0',
  'magic 7f454c4602010100000000000000000002003e00',
  'mask fffffffffffefe00fffffffffffffffffeffffff',
  ''
].join('\n')

const aarch64 = parseBinfmtEntry('qemu-aarch64', DEBIAN_AARCH64)!
const kernelWith = (...entries: NonNullable<ReturnType<typeof parseBinfmtEntry>>[]) => ({
  enabled: true,
  entries
})
const step = (line: number, platform = 'linux/arm64'): RunStep => ({
  line,
  stage: { index: 0, name: null },
  platform
})
const localEngine = (kernel: KernelEmulators | undefined): EmulationFacts => ({
  enginePlatform: 'linux/amd64',
  builder: { name: 'default', driver: 'docker', platforms: ['linux/amd64', 'linux/arm64'] },
  kernel
})

function thrown(work: () => unknown): ActionError {
  try {
    work()
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected an ActionError')
}

describe('parseBinfmtEntry', () => {
  it('reads a magic registration', () => {
    expect(aarch64).toMatchObject({
      name: 'qemu-aarch64',
      enabled: true,
      interpreter: '/usr/libexec/qemu-binfmt/aarch64-binfmt-P',
      flags: 'PF',
      offset: 0
    })
    expect(aarch64.magic?.toString('hex')).toBe('7f454c460201010000000000000000000200b700')
  })

  it('reads a disabled registration as disabled', () => {
    expect(parseBinfmtEntry('x', DEBIAN_AARCH64.replace('enabled', 'disabled'))?.enabled).toBe(
      false
    )
  })

  it('reads an extension registration without a magic', () => {
    const entry = parseBinfmtEntry(
      'wine',
      'enabled\ninterpreter /usr/bin/wine\nflags: \nextension .exe\n'
    )
    expect(entry?.magic).toBeUndefined()
  })

  it('reads the status and register files as no registration', () => {
    expect(parseBinfmtEntry('status', 'enabled\n')).toBeUndefined()
    expect(parseBinfmtEntry('register', '')).toBeUndefined()
  })
})

describe('emulatorFor', () => {
  it('finds the aarch64 registration for arm64 programs', () => {
    expect(emulatorFor(kernelWith(aarch64), 'arm64')?.name).toBe('qemu-aarch64')
  })

  it('finds tonistiigi/binfmt’s x86_64 registration for amd64 programs', () => {
    const entry = parseBinfmtEntry('qemu-x86_64', BINFMT_X86_64)!
    expect(emulatorFor(kernelWith(entry), 'amd64')?.name).toBe('qemu-x86_64')
    expect(emulatorFor(kernelWith(entry), 'arm64')).toBeUndefined()
  })

  it('does not count a disabled registration', () => {
    const disabled = parseBinfmtEntry(
      'qemu-aarch64',
      DEBIAN_AARCH64.replace('enabled', 'disabled')
    )!
    expect(emulatorFor(kernelWith(disabled), 'arm64')).toBeUndefined()
  })

  it('does not count any registration while binfmt_misc is disabled as a whole', () => {
    expect(emulatorFor({ enabled: false, entries: [aarch64] }, 'arm64')).toBeUndefined()
  })

  it('does not count a registration without the F flag: containers cannot reach its interpreter', () => {
    const lazy = parseBinfmtEntry('qemu-aarch64', DEBIAN_AARCH64.replace('flags: PF', 'flags: P'))!
    expect(emulatorFor(kernelWith(lazy), 'arm64')).toBeUndefined()
  })

  it('does not count a registration for 32-bit arm', () => {
    const arm = parseBinfmtEntry(
      'qemu-arm',
      DEBIAN_AARCH64.replace(
        'magic 7f454c460201010000000000000000000200b700',
        'magic 7f454c4601010100000000000000000002002800'
      )
    )!
    expect(emulatorFor(kernelWith(arm), 'arm64')).toBeUndefined()
  })
})

describe('checkEmulation', () => {
  it('builds a native platform without looking for an emulator', () => {
    expect(
      checkEmulation([step(2, 'linux/amd64')], localEngine(kernelWith()), 'Dockerfile')
    ).toEqual({})
  })

  it('builds a foreign platform without RUN steps, with no emulator at all', () => {
    expect(checkEmulation([], localEngine(kernelWith()), 'Dockerfile')).toEqual({})
  })

  it('names the registered emulator when the kernel has one', () => {
    const check = checkEmulation([step(4)], localEngine(kernelWith(aarch64)), 'Dockerfile')
    expect(check.note).toContain('The RUN step on line 4 of Dockerfile runs for linux/arm64')
    expect(check.note).toContain('qemu-aarch64')
  })

  it('refuses RUN steps the local kernel cannot run, even when the builder still lists the platform', () => {
    const error = thrown(() =>
      checkEmulation([step(4), step(9)], localEngine(kernelWith()), 'app/Dockerfile')
    )
    expect(error.id).toBe('platform-emulation-missing')
    expect(error.reason).toContain('linux/arm64')
    expect(error.reason).toContain('lines 4, 9 of app/Dockerfile')
    expect(error.fix).toContain('docker/setup-qemu-action')
    expect(error.fix).toContain('ubuntu-24.04-arm')
  })

  it('trusts the builder’s list for an engine whose kernel this machine cannot see', () => {
    const remote = { ...localEngine(undefined) }
    expect(checkEmulation([step(4)], remote, 'Dockerfile').note).toContain(
      'builder default lists that platform'
    )
    const error = thrown(() =>
      checkEmulation(
        [step(4)],
        { ...remote, builder: { ...remote.builder, platforms: ['linux/amd64', 'linux/386'] } },
        'Dockerfile'
      )
    )
    expect(error.id).toBe('platform-emulation-missing')
    expect(error.reason).toContain('lists only linux/amd64, linux/386')
  })

  it('trusts a docker-container builder’s list: its BuildKit may bring its own emulators', () => {
    const facts = localEngine(kernelWith())
    const container = {
      ...facts,
      builder: { name: 'ci', driver: 'docker-container', platforms: ['linux/amd64', 'linux/arm64'] }
    }
    expect(checkEmulation([step(4)], container, 'Dockerfile').note).toContain('builder ci')
  })

  it('leaves the check to the build when the engine does not report its platform', () => {
    const facts = { ...localEngine(kernelWith()), enginePlatform: '/' }
    expect(checkEmulation([step(4)], facts, 'Dockerfile').note).toContain('not checked')
  })

  it('names an x86_64 runner for an amd64 build on an arm64 engine', () => {
    const facts = { ...localEngine(kernelWith(aarch64)), enginePlatform: 'linux/arm64/v8' }
    const error = thrown(() => checkEmulation([step(3, 'linux/amd64')], facts, 'Dockerfile'))
    expect(error.fix).toContain('platforms: amd64')
    expect(error.fix).toContain('ubuntu-24.04,')
  })
})

describe('recogniseMissingEmulation', () => {
  const output = [
    '#6 [build 2/3] RUN apk update',
    '#6 0.275 exec /bin/sh: exec format error',
    '#6 ERROR: process "/bin/sh -c apk update" did not complete successfully: exit code: 255'
  ].join('\n')

  it('turns an exec format error of a foreign build into the clear error', () => {
    const error = recogniseMissingEmulation(output, 'linux/arm64', 'linux/amd64')
    expect(error?.id).toBe('platform-emulation-missing')
    expect(error?.reason).toContain('exec /bin/sh: exec format error')
    expect(error?.fix).toContain('docker/setup-qemu-action')
  })

  it('leaves a native build’s exec format error alone: that is a program of the wrong architecture', () => {
    expect(recogniseMissingEmulation(output, 'linux/amd64', 'linux/amd64')).toBeUndefined()
  })

  it('leaves other failures alone', () => {
    expect(recogniseMissingEmulation('exit code: 1', 'linux/arm64', 'linux/amd64')).toBeUndefined()
  })
})

describe('samePlatform', () => {
  it.each([
    ['linux/arm64', 'linux/arm64/v8', true],
    ['linux/amd64/v2', 'linux/amd64', true],
    ['linux/arm64', 'linux/amd64', false]
  ])('%s and %s: %s', (a, b, expected) => {
    expect(samePlatform(a, b)).toBe(expected)
  })
})
