import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun, RunOptions } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION,
  TOOLING_ACCOUNT,
  fixturesDir,
  registryImageArchitecture,
  useSandbox
} from '../harness.js'
import { expectNoCredentialLeft, startEngineProxy, type EngineProxy } from '../support.js'

/**
 * Cross-architecture builds (issue 16 item 2) on this x86_64 machine, whose kernel runs arm64
 * programs through Debian's qemu-user-static registration. "No emulator" is that registration
 * turned off (`echo 0`) for the length of one action run, and always turned back on: the
 * machine is shared, so the window is one run, and afterAll restores it once more. The engine's
 * BuildKit keeps listing linux/arm64 meanwhile (it detects emulators when the engine starts),
 * which is why the action reads the kernel's registrations, and why a build that gets past the
 * check still needs its exec format error recognised.
 */

const ACCOUNT = TOOLING_ACCOUNT
const REGION = DEFAULT_REGION
const fixtures = fixturesDir
const ARM64_REGISTRATION = '/proc/sys/fs/binfmt_misc/qemu-aarch64'

const sandbox = useSandbox()

beforeAll(() => {
  // What every case below stands on; a machine without it fails here instead of passing blindly.
  expect(os.arch()).toBe('x64')
  expect(existsSync(ARM64_REGISTRATION)).toBe(true)
  expect(registrationState()).toBe('enabled')
})

afterAll(() => {
  setRegistration('1')
})

function registrationState(): string {
  return readFileSync(ARM64_REGISTRATION, 'utf8').split('\n')[0]!.trim()
}

function setRegistration(value: '0' | '1'): void {
  if (existsSync(ARM64_REGISTRATION)) writeFileSync(ARM64_REGISTRATION, value)
}

/** Runs `work` with the kernel's arm64 emulator turned off, and turns it on again however it ends. */
async function withoutArm64Emulator<T>(work: () => Promise<T>): Promise<T> {
  setRegistration('0')
  try {
    expect(registrationState()).toBe('disabled')
    return await work()
  } finally {
    setRegistration('1')
  }
}

/** A fresh repository and arm64 Image function. */
function seed(label: string) {
  return sandbox.seed({ label, architecture: 'arm64' })
}

function deploy(
  fn: { name: string; repository: string },
  inputs: Record<string, string>,
  options: Partial<RunOptions> = {}
): Promise<ActionRun> {
  return sandbox.run(
    {
      'function-name': fn.name,
      repository: fn.repository,
      'build-args': `VERSION=${fn.name}`,
      ...inputs
    },
    options
  )
}

/** The step failed with the clear error, naming both fixes, and nothing reached AWS. */
async function expectRefused(run: ActionRun, fn: { name: string }): Promise<void> {
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain('::error::[platform-emulation-missing]')
  expect(run.stdout).toContain('docker/setup-qemu-action (with platforms: arm64)')
  expect(run.stdout).toContain('an arm64 runner such as ubuntu-24.04-arm')
  expect(run.stdout).not.toContain('[docker-build-failed]')
  expect(run.stdout).not.toContain('::group::Push')
  expect(run.outputs.deployed).toBe('false')
  expect(await sandbox.control.registryTags(ACCOUNT, REGION, fn.name)).toEqual([])
  expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
  expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
  expectNoCredentialLeft(run)
}

async function expectDeployedArm64(run: ActionRun, fn: { name: string }): Promise<void> {
  if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
  expect(run.outputs.deployed).toBe('true')
  expect(run.outputs.architecture).toBe('arm64')
  expect(await registryImageArchitecture(sandbox, fn.name, run.outputs['image-digest']!)).toBe(
    'arm64'
  )
  const live = await sandbox
    .clients()
    .lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))
  expect(live.Configuration?.CodeSha256).toBe(run.outputs['code-sha256'])
  expectNoCredentialLeft(run)
}

describe('an arm64 build on an x86_64 engine without an arm64 emulator', () => {
  it('fails before building when a RUN step would run for arm64, naming the fixes, and changes nothing in AWS', async () => {
    const fn = await seed('no-qemu-run')
    const before = await sandbox.control.state()
    await sandbox.control.clearCalls()
    const run = await withoutArm64Emulator(() =>
      deploy(fn, { context: path.join(fixtures, 'provided-multistage'), target: 'runtime' })
    )
    await expectRefused(run, fn)
    // Before the build: the RUN step is named by its line, and BuildKit never ran.
    expect(run.stdout).toContain('the RUN step on line 5 of')
    expect(run.stdout).toContain('no enabled binfmt_misc registration')
    expect(run.stdout).not.toContain('::group::Build')
    expect(run.stdout).not.toContain('exec /bin/sh')
    expect(await sandbox.control.state()).toEqual(before)
  })

  it('builds and deploys a Dockerfile whose arm64 stage has no RUN step (the RUN runs FROM --platform=$BUILDPLATFORM)', async () => {
    const fn = await seed('no-qemu-copy')
    const run = await withoutArm64Emulator(() =>
      deploy(fn, { context: path.join(fixtures, 'cross-arch-native-build') })
    )
    await expectDeployedArm64(run, fn)
    expect(run.stdout).toContain('::group::Build linux/arm64 image')
    expect(run.stdout).not.toContain('platform-emulation-missing')
  })

  describe('on an engine reached over TCP, whose kernel the action cannot see', () => {
    let proxy: EngineProxy | undefined
    let port = 0

    beforeAll(async () => {
      // A loopback TCP endpoint in front of the engine's socket: to the action this is a remote
      // engine, so only the builder's list of platforms speaks for it, and that list still
      // names linux/arm64 (BuildKit made it when the engine started, with the emulator on).
      proxy = await startEngineProxy({ host: '127.0.0.1', port: 0 })
      port = proxy.port
    })

    afterAll(async () => {
      await proxy?.close()
    })

    it('recognises the exec format error of the RUN step and gives the same clear error instead of docker-build-failed', async () => {
      const fn = await seed('no-qemu-remote')
      await sandbox.control.clearCalls()
      const run = await withoutArm64Emulator(() =>
        deploy(
          fn,
          { context: path.join(fixtures, 'provided-multistage'), target: 'runtime' },
          { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } }
        )
      )
      await expectRefused(run, fn)
      // After the fact: the build ran, on the remote engine, and stopped in the RUN step.
      expect(run.stdout).toContain(
        'for linux/arm64 under emulation: builder default lists that platform'
      )
      expect(run.stdout).toContain('::group::Build linux/arm64 image')
      expect(run.stdout).toMatch(/a RUN step stopped with "[^"]*exec \/bin\/sh: exec format error"/)
    })
  })
})

describe('an arm64 build on an x86_64 engine with the emulator registered', () => {
  it('runs the RUN steps under the registered emulator, as before, and says so', async () => {
    expect(registrationState()).toBe('enabled')
    const fn = await seed('qemu-run')
    const run = await deploy(fn, {
      context: path.join(fixtures, 'provided-multistage'),
      target: 'runtime'
    })
    await expectDeployedArm64(run, fn)
    expect(run.stdout).toContain(
      'runs for linux/arm64 under the emulator the kernel has registered as qemu-aarch64'
    )
  })
})
