import { beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ActionRun } from '../../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, registryHost, useSandbox } from '../harness.js'
import { PUBLIC_REGISTRY, publicManifest, registryAuth } from '../support.js'

/**
 * The scheduled refresh (issue 5) end to end: a base image with an amd64 and an arm64 manifest
 * lives in the local registry that plays public.ecr.aws; the action decides from the deployed
 * image's labels and the base's current digest whether to rebuild.
 */

const ACCOUNT = TOOLING_ACCOUNT
const REGION = DEFAULT_REGION
const PUBLIC = PUBLIC_REGISTRY
const base = `lambda/refresh-${process.pid}`

const sandbox = useSandbox()
let context: string

beforeAll(() => {
  context = mkdtempSync(path.join(os.tmpdir(), 'refresh-context-'))
  writeFileSync(
    path.join(context, 'Dockerfile'),
    `FROM ${PUBLIC}/${base}:base\nCOPY handler.sh /var/task/handler.sh\nCMD ["handler.sh"]\n`
  )
  writeFileSync(path.join(context, 'handler.sh'), 'echo hello\n')
})

/** Builds a one-label variant of the stand-in provided:al2023 image and pushes it by tag. */
function pushBaseVariant(arch: 'amd64' | 'arm64', generation: number): void {
  const tag = `${PUBLIC}/${base}:gen${generation}-${arch}`
  // No attestations: on the containerd store they would make each variant an index of its own.
  const build = ['buildx', 'build', '--load', '--provenance=false', '--sbom=false']
  execFileSync('docker', [...build, '--platform', `linux/${arch}`, '-t', tag, '-'], {
    input: `FROM ${PUBLIC}/lambda/provided:al2023-linux-${arch}\nLABEL generation=${generation}\n`,
    stdio: ['pipe', 'ignore', 'inherit']
  })
  execFileSync('docker', ['push', tag], { stdio: 'ignore' })
}

/** Points `base` at an index of the given amd64 and arm64 generations, as a multi-arch push does. */
async function publishIndex(amd64: number, arm64: number): Promise<Record<string, string>> {
  const entries = []
  const digests: Record<string, string> = {}
  for (const [arch, generation] of [
    ['amd64', amd64],
    ['arm64', arm64]
  ] as const) {
    const manifest = await publicManifest(base, `gen${generation}-${arch}`)
    digests[arch] = manifest.digest
    entries.push({
      mediaType: manifest.mediaType,
      digest: manifest.digest,
      size: manifest.size,
      platform: { os: 'linux', architecture: arch, ...(arch === 'arm64' ? { variant: 'v8' } : {}) }
    })
  }
  const response = await fetch(`https://${PUBLIC}/v2/${base}/manifests/base`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.list.v2+json' },
    body: JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: entries
    })
  })
  if (!response.ok) throw new Error(`index PUT failed: ${response.status}`)
  return digests
}

function refresh(fn: string, repository: string, mode: string): Promise<ActionRun> {
  return sandbox.run({
    'function-name': fn,
    repository,
    context,
    rebuild: mode,
    tags: `r${Date.now()}`
  })
}

describe('rebuild: if-base-changed', () => {
  it('rebuilds only when the base changed for the function’s own platform', async () => {
    pushBaseVariant('amd64', 1)
    pushBaseVariant('arm64', 1)
    pushBaseVariant('arm64', 2)
    pushBaseVariant('amd64', 2)
    const first = await publishIndex(1, 1)
    const { name, repository } = await sandbox.seed({ label: 'refresh' })

    const initial = await refresh(name, repository, 'always')
    expect(initial.exitCode).toBe(0)
    expect(initial.outputs['base-image']).toBe(`${PUBLIC}/${base}:base`)
    expect(initial.outputs['base-image-digest']).toBe(first.amd64)
    const deployed = await sandbox.control.registryManifest(
      ACCOUNT,
      REGION,
      name,
      initial.outputs['image-digest']!
    )
    const labels = (deployed.config as { config?: { Labels?: Record<string, string> } }).config
      ?.Labels
    expect(labels?.['org.opencontainers.image.base.digest']).toBe(first.amd64)
    expect(labels?.['org.opencontainers.image.base.name']).toBe(`${PUBLIC}/${base}:base`)

    // Unchanged base: no build, no push, no update; a handful of requests.
    await sandbox.control.clearCalls()
    const unchanged = await refresh(name, repository, 'if-base-changed')
    expect(unchanged.exitCode).toBe(0)
    expect(unchanged.outputs['base-image-updated']).toBe('false')
    expect(unchanged.outputs.deployed).toBe('false')
    expect(unchanged.stdout).not.toContain('::group::Build')
    expect(unchanged.stdout).not.toContain('::group::Push')
    const calls = await sandbox.control.calls()
    expect(calls.map(call => call.operation)).not.toContain('UpdateFunctionCode')
    expect(calls.length).toBeLessThanOrEqual(3)
    const requests = /resolved in (\d+) registry requests/.exec(unchanged.stdout)
    expect(Number(requests?.[1])).toBeLessThanOrEqual(2)
    console.log(
      `refresh, unchanged base: ${calls.length} AWS calls (${calls.map(c => c.operation).join(', ')}), ${requests?.[1]} requests to the base image's registry`
    )

    // Only the other architecture changed: still nothing to do for an x86_64 function.
    await publishIndex(1, 2)
    const otherArch = await refresh(name, repository, 'if-base-changed')
    expect(otherArch.exitCode).toBe(0)
    expect(otherArch.outputs['base-image-updated']).toBe('false')
    expect(otherArch.stdout).not.toContain('::group::Build')

    // The function's platform changed: rebuild, redeploy, and record the new digest.
    const second = await publishIndex(2, 2)
    const changed = await refresh(name, repository, 'if-base-changed')
    expect(changed.exitCode).toBe(0)
    expect(changed.outputs['base-image-updated']).toBe('true')
    expect(changed.outputs['deployed-base-digest']).toBe(first.amd64)
    expect(changed.outputs['base-image-digest']).toBe(second.amd64)
    expect(changed.outputs.deployed).toBe('true')
    const redeployed = await sandbox.control.registryManifest(
      ACCOUNT,
      REGION,
      name,
      changed.outputs['image-digest']!
    )
    const newLabels = (redeployed.config as { config?: { Labels?: Record<string, string> } }).config
      ?.Labels
    expect(newLabels?.['org.opencontainers.image.base.digest']).toBe(second.amd64)

    // That rebuild tagged its inputs: the next unchanged refresh answers from the tag
    // (GetFunction, BatchGetImage) and the tagged image's config (its inputs label: a tag can be
    // moved), without reading the deployed image's manifest again.
    await sandbox.control.clearCalls()
    const byInputs = await refresh(name, repository, 'if-base-changed')
    expect(byInputs.exitCode).toBe(0)
    expect(byInputs.outputs['base-image-updated']).toBe('false')
    expect(byInputs.outputs['deployed-base-digest']).toBe(second.amd64)
    expect(byInputs.stdout).toContain('so the base image has not been updated since')
    expect(byInputs.stdout).toContain('it was built from these sources')
    expect(byInputs.stdout).not.toContain('::group::Build')
    const fastCalls = (await sandbox.control.calls()).map(call => call.operation)
    expect(fastCalls).toEqual(expect.arrayContaining(['GetFunction', 'BatchGetImage']))
    expect(fastCalls.length).toBeLessThanOrEqual(4)
  })

  it('rebuilds with a notice when the deployed image does not record its base', async () => {
    const name = sandbox.uniqueName('refresh-nolabel')
    await sandbox.control.createRepository({ account: ACCOUNT, region: REGION, name })
    const host = registryHost(ACCOUNT, REGION)
    // An image pushed by hand, without this action's labels.
    const config = mkdtempSync(path.join(os.tmpdir(), 'refresh-docker-config-'))
    writeFileSync(
      path.join(config, 'config.json'),
      JSON.stringify({ auths: { [host]: { auth: registryAuth } } })
    )
    const tag = `${host}/${name}:by-hand`
    // From the registry, not from whatever the engine's store happens to hold.
    execFileSync('docker', ['pull', '-q', `${PUBLIC}/lambda/provided:al2023-linux-amd64`])
    execFileSync('docker', ['tag', `${PUBLIC}/lambda/provided:al2023-linux-amd64`, tag])
    const pushed = execFileSync('docker', ['--config', config, 'push', tag], { encoding: 'utf8' })
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(pushed)![1]!
    await sandbox.control.createFunction({
      account: ACCOUNT,
      region: REGION,
      name,
      packageType: 'Image',
      imageUri: `${host}/${name}@${digest}`
    })
    const run = await refresh(name, `${host}/${name}`, 'if-base-changed')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('::notice::Cannot tell whether the base image changed')
    expect(run.stdout).toContain('::group::Build')
    expect(run.outputs.deployed).toBe('true')
  })
})
