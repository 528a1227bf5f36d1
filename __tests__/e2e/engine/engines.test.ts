import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ActionRun, RunOptions } from '../../../stack/run-action.js'
import { fixturesDir, useSandbox, useWorkDir } from '../harness.js'
import {
  MANIFEST_TYPES,
  expectNoCredentialLeft,
  servedManifest,
  startEngineProxy,
  type EngineProxy,
  type ServedManifest
} from '../support.js'

/**
 * What differs between the engines and image stores users run (docs/ENGINES.md):
 * npm test runs this file once per image store of the same engine, so each test here holds on
 * the classic store (GitHub's ubuntu-24.04 runners) and on the containerd store (Docker 29,
 * Docker Desktop, ubuntu-26.04).
 */

const STORE = process.env.LAMBDA_STACK_IMAGE_STORE ?? 'classic'
const fixture = path.join(fixturesDir, 'provided-multistage')

const sandbox = useSandbox()
const work = useWorkDir('engines-e2e-')

function seed(label: string): Promise<{ name: string; repository: string }> {
  return sandbox.seed({ label: `engines-${label}` })
}

function deploy(
  fn: { name: string; repository: string },
  inputs: Record<string, string> = {},
  options: Pick<Partial<RunOptions>, 'env' | 'launcher'> = {}
): Promise<ActionRun> {
  return sandbox.run(
    {
      'function-name': fn.name,
      repository: fn.repository,
      context: fixture,
      target: 'runtime',
      tags: 'v1',
      ...inputs
    },
    options
  )
}

/** A manifest the registry must hold, as it serves it under the ECR name, accepting every type. */
async function registryManifest(repository: string, reference: string): Promise<ServedManifest> {
  const served = await servedManifest(repository, reference)
  if (!served) throw new Error(`The registry has no manifest ${repository}:${reference}`)
  return served
}

describe(`the ${STORE} image store`, () => {
  it('deploys a single-platform manifest, read back from the registry, built on the store the run names', async () => {
    const fn = await seed('manifest')
    const run = await deploy(fn)
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toMatch(
      new RegExp(
        `Docker engine \\S+ \\(${STORE} image store\\), buildx \\S+, builder \\S+ \\(docker driver\\)`
      )
    )
    expect(run.summary).toContain(`${STORE} image store`)
    const digest = run.outputs['image-digest']!
    const byDigest = await registryManifest(fn.repository, digest)
    expect(MANIFEST_TYPES).toContain(byDigest.mediaType)
    expect(byDigest.manifest.manifests).toBeUndefined()
    // The tag names the same manifest, not an index around it.
    const byTag = await registryManifest(fn.repository, 'v1')
    expect(byTag.mediaType).toBe(byDigest.mediaType)
    expect(byTag.manifest.config?.digest).toBe(byDigest.manifest.config?.digest)
    // The engine knows the image by the tag it was given; its config is what was pushed.
    const configId = execFileSync(
      'docker',
      ['image', 'inspect', '--format', '{{.Id}}', `${fn.repository}:v1`],
      { encoding: 'utf8' }
    ).trim()
    if (STORE === 'classic') expect(configId).toBe(byDigest.manifest.config?.digest)
    else expect(configId).toBe(digest)
    expectNoCredentialLeft(run)
  })
})

describe('docker contexts', () => {
  let proxy: EngineProxy | undefined
  let dockerConfig: string

  beforeAll(async () => {
    // An engine reachable only through a socket that a context names: the proxy forwards it to
    // the real engine, and the action runs where /var/run/docker.sock leads nowhere.
    const socket = path.join(work.dir, 'context-engine.sock')
    proxy = await startEngineProxy({ path: socket })
    chmodSync(socket, 0o600)
    dockerConfig = path.join(work.dir, 'docker-config')
    execFileSync(
      'docker',
      [
        '--config',
        dockerConfig,
        'context',
        'create',
        'elsewhere',
        '--docker',
        `host=unix://${socket}`
      ],
      { stdio: 'ignore' }
    )
    execFileSync('docker', ['--config', dockerConfig, 'context', 'use', 'elsewhere'], {
      stdio: 'ignore'
    })
  })

  afterAll(async () => {
    await proxy?.close()
  })

  it('builds and pushes through the current context when the default socket does not answer', async () => {
    const fn = await seed('context')
    // A mount namespace of the action's own, where the default socket is /dev/null. The launcher
    // is node, not sh: dash drops variables such as INPUT_FUNCTION-NAME from the environment.
    const hideDefaultSocket = [
      'unshare',
      '--mount',
      '--',
      process.execPath,
      '-e',
      `const { execFileSync, spawnSync } = require('node:child_process')
       execFileSync('mount', ['--bind', '/dev/null', '/var/run/docker.sock'])
       const action = spawnSync(process.argv[1], process.argv.slice(2), { stdio: 'inherit' })
       process.exit(action.status ?? 1)`
    ]
    const run = await deploy(
      fn,
      {},
      { env: { DOCKER_CONFIG: dockerConfig }, launcher: hideDefaultSocket }
    )
    if (run.exitCode !== 0) throw new Error(`The run failed:\n${run.stdout}\n${run.stderr}`)
    expect(run.outputs.deployed).toBe('true')
    expect(run.stdout).toContain(`context elsewhere (unix://${work.dir}`)
    expect(run.stdout).toContain('builder elsewhere (docker driver)')
    expect(proxy!.connections).toBeGreaterThan(0)
    const pushed = await registryManifest(fn.repository, run.outputs['image-digest']!)
    expect(MANIFEST_TYPES).toContain(pushed.mediaType)
    expectNoCredentialLeft(run)
  })
})

describe('refused before anything is built', () => {
  it('refuses a type=gha cache that this engine or environment cannot use', async () => {
    const fn = await seed('gha')
    await sandbox.control.clearCalls()
    const run = await deploy(fn, { 'cache-to': 'type=gha,mode=max', 'cache-from': 'type=gha' })
    expect(run.exitCode).toBe(1)
    // The classic store cannot export caches with the engine's own builder; the containerd
    // store can, but outside a GitHub job there is no cache service, and buildx would skip it.
    const id = STORE === 'classic' ? 'cache-unsupported-by-builder' : 'gha-cache-unavailable'
    expect(run.stdout).toContain(`::error::[${id}]`)
    expect(run.stdout).not.toContain('::group::Build')
    expect(run.stdout).not.toContain('::group::Push')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
  })

  it('refuses a builder that does not exist, naming it', async () => {
    const fn = await seed('builder')
    const run = await deploy(fn, { builder: 'no-such-builder' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain(
      '::error::[builder-not-found] docker buildx has no builder named no-such-builder'
    )
    expect(run.stdout).not.toContain('::group::Build')
  })

  it('refuses an engine older than 23.0, naming the version found and the one needed', async () => {
    const fn = await seed('old-engine')
    // A docker in front of the real one that reports an old server version and passes
    // everything else through.
    const bin = path.join(work.dir, 'old-engine-bin')
    mkdirSync(bin, { recursive: true })
    const realDocker = execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()
    writeFileSync(
      path.join(bin, 'docker'),
      `#!/bin/sh\nif [ "$1" = version ]; then echo '{"Server":{"Version":"20.10.24","ApiVersion":"1.41"}}'; exit 0; fi\nexec ${realDocker} "$@"\n`,
      { mode: 0o755 }
    )
    const run = await deploy(fn, {}, { env: { PATH: `${bin}:${process.env.PATH ?? ''}` } })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain(
      '::error::[docker-engine-too-old] The Docker engine is version 20.10.24; this action needs 23.0.0 or later.'
    )
    expect(run.stdout).not.toContain('::group::Build')
  })
})
