import { describe, expect, it } from '@jest/globals'
import { randomUUID } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import path from 'node:path'
import { fixturesDir, useSandbox } from '../harness.js'
import { MANIFEST_TYPES, expectSucceeded, registryAuth, servedManifest } from '../support.js'

/**
 * What the default registry build cache puts in the function's repository (README "Build
 * cache"): by default (registry-cache: true, mode=min) only layers the pushed image publishes
 * anyway, so a builder stage's files (a copied .npmrc, private sources) never become readable by
 * whoever may pull from the repository; with registry-cache: max every stage's layers, the
 * builder stage's included. The fixture's builder stage writes build/.npmrc with MARKER, and the
 * final stage copies only the bootstrap: the marker is in no layer of the image.
 * The engine's own builder exports a registry cache only on the containerd image store; on the
 * classic store the action leaves the cache out, with a notice, whatever mode is asked for.
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
      'with registry-cache: %s, leaves the cache out with a notice and writes no cache tag',
      async (_mode, inputs) => {
        const { repository, run, digest } = await deploy('classic', inputs)
        expect(run.stdout).toContain(
          "No registry build cache: the engine's own builder (docker driver) on the classic image store cannot export one."
        )
        expect(await servedManifest(repository, digest, MANIFEST_TYPES)).toBeDefined()
        expect(await servedManifest(repository, CACHE_TAG, MANIFEST_TYPES)).toBeUndefined()
      }
    )
  }
})
