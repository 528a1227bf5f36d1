import { beforeEach, describe, expect, it } from '@jest/globals'
import { GetAliasCommand, UpdateAliasCommand } from '@aws-sdk/client-lambda'
import { createHash } from 'node:crypto'
import {
  DEFAULT_REGION as US,
  TOOLING_ACCOUNT as TOOLING,
  fixtureImage,
  registryHost,
  useSandbox
} from '../harness.js'
import { expectNoCredentialLeft, functionsOf, registryPassword } from '../support.js'

/**
 * One image, many functions (issue 6), on what AWS does with an image already in ECR: a partial
 * failure names every function's result, versions and aliases move (and a concurrent alias change
 * is not overwritten), and a deploy-only image is checked from the registry before any update.
 * Building once and pushing once per region is in engine/fan-out.test.ts.
 */

const sandbox = useSandbox()

beforeEach(async () => {
  await sandbox.control.setUpdateDelay(0)
  await sandbox.control.clearFaults()
})

function repositoryUri(name: string): string {
  return `${registryHost(TOOLING, US)}/${name}`
}

async function seedFunction(name: string): Promise<string> {
  await sandbox.control.createFunction({ account: TOOLING, region: US, name, packageType: 'Image' })
  return `arn:aws:lambda:${US}:${TOOLING}:function:${name}`
}

/** A repository of its own holding the fixture image under `latest`: REPOSITORY@DIGEST. */
async function repositoryWithImage(name: string): Promise<string> {
  await sandbox.control.createRepository({ account: TOOLING, region: US, name })
  return sandbox.copyImage(await fixture(), repositoryUri(name), 'latest')
}

/** The fixture image; of one VERSION (a build argument), so each version has its own digest. */
function fixture(version?: string) {
  return fixtureImage({
    fixture: 'provided-multistage',
    target: 'runtime',
    ...(version ? { buildArgs: { VERSION: version } } : {})
  })
}

describe('one image, several functions', () => {
  it('names every function result when one of them fails, and says which were updated', async () => {
    const name = sandbox.uniqueName('fan-fail')
    const image = await repositoryWithImage(name)
    const first = await seedFunction(`${name}-first`)
    const second = await seedFunction(`${name}-second`)
    await sandbox.control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      reason: 'The image manifest could not be read.'
    })
    const run = await sandbox.run({
      'function-name': `${first}\n${second}`,
      image,
      'max-concurrency': '1'
    })
    expect(run.exitCode).toBe(1)
    const results = functionsOf(run)
    expect(results.map(result => result.status)).toEqual(['failed', 'updated'])
    expect(results[0]?.error).toContain('The image manifest could not be read.')
    expect(run.stdout).toContain('[functions-failed] 1 of 2 functions failed')
    expect(run.stdout).toContain(`Updated (or created) and left as they are: ${name}-second`)
  })
})

describe('versions and aliases', () => {
  /** Three images of the fixture in a repository of the test's own, as three builds would be. */
  async function threeImages(name: string): Promise<string[]> {
    await sandbox.control.createRepository({ account: TOOLING, region: US, name })
    const images: string[] = []
    for (const version of ['alias-1', 'alias-2', 'alias-3']) {
      images.push(await sandbox.copyImage(await fixture(version), repositoryUri(name), version))
    }
    return images
  }

  it('publishes a version, moves an alias, then splits traffic for a canary', async () => {
    const name = sandbox.uniqueName('alias')
    const [one, two, three] = await threeImages(name)
    const fn = await seedFunction(name)
    const inputs = { 'function-name': fn, publish: 'true', alias: 'live' }
    const first = await sandbox.run({ ...inputs, image: one! })
    expect(first.exitCode).toBe(0)
    expect(first.outputs.version).toBe('1')
    const client = sandbox.clients(TOOLING, US).lambda
    const live = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(live.FunctionVersion).toBe('1')

    const canary = await sandbox.run({ ...inputs, image: two!, 'alias-routing-weight': '0.1' })
    expect(canary.exitCode).toBe(0)
    expect(canary.outputs.version).toBe('2')
    const split = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(split.FunctionVersion).toBe('1')
    expect(split.RoutingConfig?.AdditionalVersionWeights).toEqual({ '2': 0.1 })

    const promote = await sandbox.run({ ...inputs, image: three! })
    expect(promote.exitCode).toBe(0)
    const moved = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(moved.FunctionVersion).toBe('3')
    expect(moved.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({})
  })

  it('refuses to overwrite an alias that someone else changed meanwhile (RevisionId)', async () => {
    const name = sandbox.uniqueName('alias-race')
    const [one, two, three] = await threeImages(name)
    const fn = await seedFunction(name)
    const inputs = { 'function-name': fn, publish: 'true', alias: 'live' }
    expect((await sandbox.run({ ...inputs, image: one! })).exitCode).toBe(0)
    expect((await sandbox.run({ ...inputs, image: two! })).exitCode).toBe(0)

    // The action's UpdateAlias is held for 4 s; meanwhile another writer moves the alias.
    await sandbox.control.clearCalls()
    await sandbox.control.injectFault({
      service: 'lambda',
      operation: 'UpdateAlias',
      kind: 'slow',
      delayMs: 4000
    })
    const running = sandbox.run({ ...inputs, image: three! })
    while ((await sandbox.callsTo('GetAlias')) === 0) await new Promise(r => setTimeout(r, 50))
    await new Promise(r => setTimeout(r, 300))
    const client = sandbox.clients(TOOLING, US).lambda
    await client.send(
      new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' })
    )
    const run = await running
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[concurrent-change]')
    expect(run.stdout).toContain('RevisionId')
    const alias = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(alias.FunctionVersion).toBe('1')
  })
})

describe('deploy-only', () => {
  it('deploys an image built elsewhere without running docker build', async () => {
    const name = sandbox.uniqueName('only')
    const image = await repositoryWithImage(name)
    const target = await seedFunction(`${name}-target`)
    const run = await sandbox.run({ 'function-name': target, image })
    expect(run.stdout + run.stderr).not.toContain('::error')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).not.toContain('::group::Build')
    expect(run.stdout).not.toContain('::group::Push')
    expect(run.outputs['image-uri']).toBe(image)
    expect(functionsOf(run)[0]?.status).toBe('updated')
    expectNoCredentialLeft(run)
  })

  it('refuses an index, and an image of the other architecture, before any update', async () => {
    const name = sandbox.uniqueName('only-bad')
    await sandbox.control.createRepository({ account: TOOLING, region: US, name })
    const builder = await seedFunction(`${name}-x86`)
    // An image built for arm64, tagged `arm`, next to an index that names it.
    const arm = await fixtureImage({
      fixture: 'provided-multistage',
      target: 'runtime',
      architecture: 'arm64'
    })
    await sandbox.copyImage(arm, repositoryUri(name), 'arm')
    const index = await pushIndex(name, arm.digest)

    await sandbox.control.clearCalls()
    const wrongArch = await sandbox.run({
      'function-name': builder,
      image: `${repositoryUri(name)}:arm`
    })
    expect(wrongArch.exitCode).toBe(1)
    expect(wrongArch.stdout).toContain('image-architecture-mismatch')
    const asIndex = await sandbox.run({
      'function-name': builder,
      image: `${repositoryUri(name)}@${index}`
    })
    expect(asIndex.exitCode).toBe(1)
    expect(asIndex.stdout).toContain('[image-is-index]')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
    expect(await sandbox.callsTo('SetRepositoryPolicy')).toBe(0)
  })

  it('refuses an image whose config says it is not Linux', async () => {
    const name = sandbox.uniqueName('only-windows')
    await sandbox.control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(name)
    // No engine here builds a Windows image, so one is put into the registry by hand.
    const digest = await pushConfigOnlyImage(name, { architecture: 'amd64', os: 'windows' })
    await sandbox.control.clearCalls()
    const run = await sandbox.run({
      'function-name': fn,
      image: `${repositoryUri(name)}@${digest}`
    })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error title=image-not-linux (Lambda image check)')
    expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
  })
})

function registryRequest(name: string, pathAndQuery: string, init: RequestInit = {}) {
  const url = pathAndQuery.startsWith('https://')
    ? pathAndQuery
    : `https://${registryHost(TOOLING, US)}/v2/${name}/${pathAndQuery}`
  return fetch(url, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string> | undefined),
      authorization: `Basic ${Buffer.from(`AWS:${registryPassword}`).toString('base64')}`
    }
  })
}

/** An image manifest with no layers and the given config, pushed through the registry API. */
async function pushConfigOnlyImage(name: string, config: object): Promise<string> {
  const blob = Buffer.from(JSON.stringify({ ...config, rootfs: { type: 'layers', diff_ids: [] } }))
  const blobDigest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
  const started = await registryRequest(name, 'blobs/uploads/', { method: 'POST' })
  const location = new URL(started.headers.get('location')!, `https://${registryHost(TOOLING, US)}`)
  location.searchParams.set('digest', blobDigest)
  const uploaded = await registryRequest(name, location.toString(), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: blob
  })
  if (!uploaded.ok) throw new Error(`blob upload failed: ${uploaded.status}`)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      digest: blobDigest,
      size: blob.length
    },
    layers: []
  })
  const put = await registryRequest(name, 'manifests/by-hand', {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest
  })
  if (!put.ok) throw new Error(`manifest push failed: ${put.status} ${await put.text()}`)
  return put.headers.get('docker-content-digest')!
}

/** Puts an OCI index naming one manifest into the repository, as a multi-arch push would. */
async function pushIndex(name: string, manifestDigest: string): Promise<string> {
  const manifest = await sandbox.control.registryManifest(TOOLING, US, name, manifestDigest)
  const index = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: manifest.mediaType,
        digest: manifestDigest,
        size: Buffer.byteLength(manifest.body),
        platform: { os: 'linux', architecture: 'arm64' }
      }
    ]
  })
  const response = await registryRequest(name, 'manifests/index', {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' },
    body: index
  })
  if (!response.ok)
    throw new Error(`index push failed: ${response.status} ${await response.text()}`)
  return response.headers.get('docker-content-digest')!
}
