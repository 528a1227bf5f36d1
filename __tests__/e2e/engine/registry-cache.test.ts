import { describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { fixturesDir, useSandbox, useWorkDir } from '../harness.js'
import { MANIFEST_TYPES, expectSucceeded, registryAuth, servedManifest } from '../support.js'

/**
 * What the default registry build cache puts in the function's repository (README "Build
 * cache"): by default (registry-cache: true, mode=min) only layers the pushed image publishes
 * anyway, so a builder stage's files (a copied .npmrc, private sources) never become readable by
 * whoever may pull from the repository; with registry-cache: max every stage's layers, the
 * builder stage's included. The fixture's builder stage writes build/.npmrc with MARKER, and the
 * final stage copies only the bootstrap: the marker is in no layer of the image.
 * The engine's own builder exports a registry cache only on the containerd image store; on the
 * classic store (ubuntu-24.04's) the action caches inline instead: the cache metadata of the
 * final image's layers travels in the image itself, and the next build reads it back from the
 * image the function runs. Either way a one-line change reuses the dependency step on an engine
 * that has forgotten it, and an image that fails its checks leaves no cache in the repository.
 */

const STORE = process.env.LAMBDA_STACK_IMAGE_STORE ?? 'classic'
const fixture = path.join(fixturesDir, 'builder-stage-secret')
const MARKER = 'builder-stage-only-marker'
const CACHE_TAG = 'buildcache-x86_64'

const sandbox = useSandbox()

/** A deploy of the fixture whose builder stage is new to the engine and to any cache. */
async function deploy(label: string, inputs: Record<string, string> = {}) {
  const fn = await sandbox.seed({ label: `registry-cache-${label}` })
  const run = await sandbox.run({
    'function-name': fn.name,
    repository: fn.repository,
    context: fixture,
    tags: 'v1',
    'build-args': `BUILD_NONCE=${randomUUID()}`,
    ...inputs
  })
  expectSucceeded(run)
  return { repository: fn.repository, run, digest: run.outputs['image-digest']! }
}

/** The layer digests of a manifest the registry holds, by tag or digest. */
async function layersOf(repository: string, reference: string): Promise<string[]> {
  const served = await servedManifest(repository, reference, MANIFEST_TYPES)
  if (!served) throw new Error(`The registry holds no ${repository}:${reference}`)
  return (served.manifest.layers ?? []).map(layer => layer.digest)
}

/** Whether a layer, as the registry serves it (gzip, as BuildKit and the engine push), holds MARKER. */
async function holdsMarker(repository: string, layer: string): Promise<boolean> {
  const slash = repository.indexOf('/')
  const response = await fetch(
    `https://${repository.slice(0, slash)}/v2/${repository.slice(slash + 1)}/blobs/${layer}`,
    { headers: { authorization: `Basic ${registryAuth}` } }
  )
  expect(response.status).toBe(200)
  const blob = Buffer.from(await response.arrayBuffer())
  // gzip's magic bytes; any other encoding would hide the marker from this search.
  expect(blob.subarray(0, 2).toString('hex')).toBe('1f8b')
  return gunzipSync(blob).includes(MARKER)
}

async function layersHoldingMarker(repository: string, layers: string[]): Promise<string[]> {
  const holding: string[] = []
  for (const layer of layers) if (await holdsMarker(repository, layer)) holding.push(layer)
  return holding
}

describe(`the registry build cache on the ${STORE} store`, () => {
  if (STORE === 'containerd') {
    it("by default (registry-cache: true) holds only layers of the pushed image, none of the builder stage's", async () => {
      const { repository, run, digest } = await deploy('min')
      const image = await layersOf(repository, digest)
      // The fixture's truth: the final stage does not copy build/.npmrc.
      expect(await layersHoldingMarker(repository, image)).toEqual([])
      const cache = await layersOf(repository, CACHE_TAG)
      expect(cache.length).toBeGreaterThan(0)
      expect(cache.filter(layer => !image.includes(layer))).toEqual([])
      expect(await layersHoldingMarker(repository, cache)).toEqual([])
      expect(run.stdout).toContain(`Build cache: ${repository}:${CACHE_TAG}, mode=min`)
    })

    it("with registry-cache: max holds the builder stage's layer too, build/.npmrc included", async () => {
      const { repository, run, digest } = await deploy('max', { 'registry-cache': 'max' })
      const image = await layersOf(repository, digest)
      expect(await layersHoldingMarker(repository, image)).toEqual([])
      const cache = await layersOf(repository, CACHE_TAG)
      const builderOnly = cache.filter(layer => !image.includes(layer))
      expect(builderOnly.length).toBeGreaterThan(0)
      expect(await layersHoldingMarker(repository, builderOnly)).toHaveLength(1)
      expect(run.stdout).toContain(`Build cache: ${repository}:${CACHE_TAG}, mode=max`)
    })
  } else {
    it.each([
      ['true (the default)', {}],
      ['max', { 'registry-cache': 'max' }]
    ])(
      'with registry-cache: %s, caches inline in the image and writes no cache tag',
      async (mode, inputs) => {
        const { repository, run, digest } = await deploy('classic', inputs)
        expect(run.stdout).toContain("Build cache: inline in the image (the engine's own builder")
        if (mode === 'max') expect(run.stdout).toContain("Only the final image's layers are cached")
        // Inline, the cache is the image: its layers (none holds the builder stage's marker), and
        // cache keys in its config.
        expect(await layersHoldingMarker(repository, await layersOf(repository, digest))).toEqual(
          []
        )
        expect(await servedManifest(repository, CACHE_TAG, MANIFEST_TYPES)).toBeUndefined()
      }
    )
  }
})

/**
 * A dependencies-first image (the shape of most Lambda images): its RUN step writes a stamp that
 * differs on every run, so only a cache hit gives the same layer twice. The step's command holds
 * a nonce: its cache key is new to the engine and to every cache, and its records can be found
 * and forgotten without touching any other build's (the engine is shared: never prune it all).
 */
const work = useWorkDir('registry-cache-')

function dependenciesFirst(nonce: string, entrypoint?: string): string {
  const context = path.join(work.dir, randomUUID())
  mkdirSync(context)
  writeFileSync(path.join(context, 'dependencies.txt'), 'left-pad@1.3.0\n')
  writeFileSync(path.join(context, 'bootstrap'), '#!/bin/sh\necho "version 1"\n', { mode: 0o755 })
  writeFileSync(
    path.join(context, 'Dockerfile'),
    [
      'FROM public.ecr.aws/lambda/provided:al2023',
      'COPY dependencies.txt /build/',
      `RUN echo "install ${nonce}" && mkdir -p /opt/dependencies && date +%s%N > /opt/dependencies/stamp`,
      'COPY bootstrap /var/runtime/bootstrap',
      ...(entrypoint ? [`ENTRYPOINT ["${entrypoint}"]`] : []),
      'CMD ["function.handler"]',
      ''
    ].join('\n')
  )
  return context
}

function docker(args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', timeout: 120_000 })
}

interface CacheRecord {
  readonly ID: string
  readonly Parents: readonly string[] | null
  readonly Description: string
}

/**
 * What a fresh runner's engine has of a build: nothing. Removes the repository's images and the
 * build cache records of the nonce's step with every record built on them, children first (a
 * record with children is kept by a prune), each by its own id.
 */
function forgetBuild(repository: string, nonce: string): void {
  const images = docker(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository])
    .split('\n')
    .filter(line => line !== '' && !line.endsWith(':<none>'))
  if (images.length > 0) docker(['image', 'rm', '--force', ...images])
  const records = docker(['buildx', 'du', '--format', 'json'])
    .split('\n')
    .filter(line => line.trim() !== '')
    .map(line => JSON.parse(line) as CacheRecord)
  const doomed = new Set(records.filter(r => r.Description.includes(nonce)).map(r => r.ID))
  expect(doomed.size).toBeGreaterThan(0)
  for (let grown = true; grown;) {
    grown = false
    for (const record of records) {
      if (!doomed.has(record.ID) && (record.Parents ?? []).some(parent => doomed.has(parent))) {
        doomed.add(record.ID)
        grown = true
      }
    }
  }
  const order = (id: string): number => {
    const parents = records.find(r => r.ID === id)?.Parents ?? []
    return parents
      .filter(parent => doomed.has(parent))
      .reduce((depth, p) => Math.max(depth, order(p) + 1), 0)
  }
  for (const id of [...doomed].sort((a, b) => order(b) - order(a))) {
    docker(['builder', 'prune', '--all', '--force', '--filter', `id=^${id}$`])
  }
  const left = docker(['buildx', 'du', '--format', 'json'])
  expect(left).not.toContain(nonce)
}

/**
 * The build log's lines of the step whose command holds the nonce: every line of its vertex in
 * the build's group (BuildKit's plain progress splits a step's lines into several blocks when
 * steps interleave; the cache export after the checks is another build, numbered anew).
 */
function stepLog(stdout: string, nonce: string): string {
  const start = stdout.indexOf('::group::Build ')
  expect(start).toBeGreaterThanOrEqual(0)
  const build = stdout.slice(start, stdout.indexOf('::endgroup::', start))
  const header = new RegExp(`^(#\\d+) \\[[^\\]]*\\] RUN echo "install ${nonce}"`, 'm').exec(build)
  expect(header).not.toBeNull()
  const vertex = `${header![1]!} `
  return build
    .split('\n')
    .filter(line => line.startsWith(vertex))
    .join('\n')
}

/**
 * Whether the build ran the dependency step: its `echo` prints `#N 0.123 install NONCE`. A step
 * taken from a cache prints CACHED, or, when the cache is remote and the layer must be fetched
 * first (the containerd store), the layer's download and extraction; neither runs it.
 */
function ranDependencyStep(stdout: string, nonce: string): boolean {
  return new RegExp(`^#\\d+ \\d+\\.\\d+ install ${nonce}$`, 'm').test(stepLog(stdout, nonce))
}

async function seeded(label: string) {
  const fn = await sandbox.seed({ label: `registry-cache-${label}` })
  return {
    fn,
    deploy: (context: string, tag: string, inputs: Record<string, string> = {}) =>
      sandbox.run({
        'function-name': fn.name,
        repository: fn.repository,
        context,
        tags: tag,
        ...inputs
      })
  }
}

describe(`a one-line change on a fresh runner (${STORE} store)`, () => {
  it('reuses the dependency step from the repository and rebuilds only the changed file', async () => {
    const nonce = randomUUID()
    const { fn, deploy } = await seeded('change')
    const context = dependenciesFirst(nonce)
    const first = await deploy(context, 'v1')
    expectSucceeded(first)
    const firstDigest = first.outputs['image-digest']!

    forgetBuild(fn.repository, nonce)
    writeFileSync(path.join(context, 'bootstrap'), '#!/bin/sh\necho "version 2"\n', {
      mode: 0o755
    })
    const second = await deploy(context, 'v2')
    expectSucceeded(second)
    expect(second.outputs.built).toBe('true')

    expect(ranDependencyStep(second.stdout, nonce)).toBe(false)
    if (STORE === 'classic') {
      // Read from the image the function ran: the first deploy's, by its digest.
      expect(second.stdout).toContain(
        `importing cache manifest from ${fn.repository}@${firstDigest}`
      )
      expect(await servedManifest(fn.repository, CACHE_TAG, MANIFEST_TYPES)).toBeUndefined()
    } else {
      expect(second.stdout).toMatch(/importing cache manifest from [^\n]*buildcache-x86_64/)
    }
    const before = await layersOf(fn.repository, firstDigest)
    const after = await layersOf(fn.repository, second.outputs['image-digest']!)
    // The stamp differs on every run of the step: the same layer means the step did not run.
    expect(after.slice(0, -1)).toEqual(before.slice(0, -1))
    expect(after.at(-1)).not.toBe(before.at(-1))
  })

  it('gives an unchanged rebuild (rebuild: always) the layers of the first build, whose steps ran, without running them', async () => {
    const nonce = randomUUID()
    const { fn, deploy } = await seeded('rebuild')
    const context = dependenciesFirst(nonce)
    const first = await deploy(context, 'v1', { rebuild: 'always' })
    expectSucceeded(first)
    // The fixture's truth: the nonce makes every step after FROM new to the engine.
    expect(stepLog(first.stdout, nonce)).not.toContain('CACHED')
    expect(ranDependencyStep(first.stdout, nonce)).toBe(true)
    const again = await deploy(context, 'v2', { rebuild: 'always' })
    expectSucceeded(again)
    expect(ranDependencyStep(again.stdout, nonce)).toBe(false)
    // The same layers (the stamp included: the step did not run again). The digest may differ:
    // the config's cache metadata records how the layers were made, which is not always the same.
    expect(await layersOf(fn.repository, again.outputs['image-digest']!)).toEqual(
      await layersOf(fn.repository, first.outputs['image-digest']!)
    )
  })

  it('builds when the image the function runs is gone from the repository (an expired image)', async () => {
    // The function names an image by a digest the repository never held: what a lifecycle rule
    // that expired the deployed image leaves. The cache read fails; the build goes on without it.
    const missing = 'f'.repeat(64)
    const fn = await sandbox.seed({ label: 'registry-cache-gone' })
    const gone = `${fn.name}-gone`
    await sandbox.control.createFunction({
      account: fn.functionAccount,
      region: fn.region,
      name: gone,
      packageType: 'Image',
      imageUri: `${fn.repository}@sha256:${missing}`,
      codeSha256: missing
    })
    const run = await sandbox.run({
      'function-name': gone,
      repository: fn.repository,
      context: dependenciesFirst(randomUUID()),
      tags: 'v1'
    })
    expectSucceeded(run)
    expect(run.outputs.built).toBe('true')
    if (STORE === 'classic') {
      expect(run.stdout).toContain(
        `importing cache manifest from ${fn.repository}@sha256:${missing}`
      )
    }
  })

  it('never reads a cache from an image that failed its checks: nothing of it is in the repository', async () => {
    const nonce = randomUUID()
    const { fn, deploy } = await seeded('failed')
    // The fixture's truth: the entrypoint names a file the image does not have.
    const failed = await deploy(dependenciesFirst(nonce, '/var/runtime/not-there'), 'v1')
    expect(failed.exitCode).not.toBe(0)
    expect(failed.stdout).toContain('entrypoint-missing')
    expect(await sandbox.control.registryTags(fn.repositoryAccount, fn.region, fn.name)).toEqual([])

    forgetBuild(fn.repository, nonce)
    const good = await deploy(dependenciesFirst(nonce), 'v1')
    expectSucceeded(good)
    // Nothing to import the step from: it ran again.
    expect(stepLog(good.stdout, nonce)).not.toContain('CACHED')
  })
})
