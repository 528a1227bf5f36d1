import { beforeAll, describe, expect, it } from '@jest/globals'
import { GetFunctionCommand } from '@aws-sdk/client-lambda'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import type { ActionRun } from '../../../stack/run-action.js'
import { DEFAULT_REGION, TOOLING_ACCOUNT, fixturesDir, useSandbox } from '../harness.js'
import { PUBLIC_REGISTRY } from '../support.js'

/**
 * The size check against Lambda's limit on uncompressed layers (10 GB, all layers), held against
 * sizes known from how the fixtures are made, never against the action's own measure:
 *  - the stand-in base image's uncompressed layers, read from the registry that plays
 *    public.ecr.aws and each checked against its diff ID (the SHA-256 of exactly those bytes);
 *  - plus one layer holding one file of a known byte count: that layer's tar is the file and a
 *    few headers (512 bytes each, at least 1,536 in all, far under 64 KiB);
 *  - an 11,000,000,000-byte sparse file, whose layer is as large as the file however little disk
 *    it takes (on the containerd store the engine's own size, the compressed content, is about
 *    70 MB).
 * Runs once per image store (jest.config.js).
 */

const sandbox = useSandbox()

/** More than the tar headers of a layer with one file and a few directories. */
const HEADER_ROOM = 65_536
const LAMBDA_LIMIT = 10_000_000_000
const SPARSE_FILE_BYTES = 11_000_000_000

let baseBytes: number

beforeAll(async () => {
  baseBytes = await baseImageUncompressedBytes('lambda/provided', 'al2023', 'amd64')
  // The stand-in base (busybox and a few files) is a few MB; a sanity check of the reading.
  expect(baseBytes).toBeGreaterThan(1_000_000)
})

function deploy(fixture: string, fn: { name: string; repository: string }, inputs = {}) {
  return sandbox.run({
    'function-name': fn.name,
    repository: fn.repository,
    context: path.join(fixturesDir, fixture),
    ...inputs
  })
}

/** The bytes the size finding names: "... uncompressed (11,002,140,928 bytes..." */
function namedBytes(run: ActionRun): number {
  const line = run.stdout.split('\n').find(text => text.includes('title=image-too-large'))
  const figure = /uncompressed \(([\d,]+) bytes/.exec(line ?? '')?.[1]
  expect(figure).toBeDefined()
  return Number(figure!.replace(/,/g, ''))
}

async function expectNothingPushedOrChanged(
  run: ActionRun,
  fn: { name: string },
  codeBefore: string | undefined
): Promise<void> {
  expect(run.exitCode).toBe(1)
  expect(run.stdout).toContain('::error::[image-checks-failed]')
  expect(run.stdout).not.toContain('::group::Push')
  expect(await sandbox.control.registryTags(TOOLING_ACCOUNT, DEFAULT_REGION, fn.name)).toEqual([])
  expect(await sandbox.callsTo('UpdateFunctionCode')).toBe(0)
  expect(await codeSha256(fn.name)).toBe(codeBefore)
  expect(run.outputs.deployed).toBe('false')
}

/**
 * The refused image stays in the engine's store (nothing pushed it, nothing removes it). On the
 * containerd store its 11 GB file is unpacked in full, not sparse: one left per run filled a
 * 250 GB disk in a day of runs. So the suite removes what it built.
 */
function removeLocalImages(repository: string): void {
  const references = execFileSync(
    'docker',
    ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', repository],
    { encoding: 'utf8' }
  )
    .split('\n')
    .filter(reference => reference !== '' && !reference.endsWith(':<none>'))
  if (references.length > 0) execFileSync('docker', ['image', 'rm', '-f', ...references])
}

async function codeSha256(name: string): Promise<string | undefined> {
  const live = await sandbox.clients().lambda.send(new GetFunctionCommand({ FunctionName: name }))
  return live.Configuration?.CodeSha256
}

describe("Lambda's 10 GB limit on uncompressed layers", () => {
  it('refuses an image holding an 11 GB sparse file, naming its uncompressed size, before any push', async () => {
    const fn = await sandbox.seed({ label: 'sparse' })
    const before = await codeSha256(fn.name)
    await sandbox.control.clearCalls()
    let run: ActionRun
    try {
      run = await deploy('image-size-sparse', fn)
    } finally {
      removeLocalImages(fn.repository)
    }
    expect(run.stdout).toContain('::error title=image-too-large (Lambda image check)')
    expect(run.stdout).toContain("over Lambda's limit of 10.0 GB (10,000,000,000 bytes)")
    // Exact where the image is saved and measured; on the classic store, whose file contents
    // alone are over the limit, "at least" those: either way the file and at most the base.
    const named = namedBytes(run)
    expect(named).toBeGreaterThanOrEqual(SPARSE_FILE_BYTES)
    expect(named).toBeLessThanOrEqual(SPARSE_FILE_BYTES + baseBytes + HEADER_ROOM)
    expect(named).toBeGreaterThan(LAMBDA_LIMIT)
    await expectNothingPushedOrChanged(run, fn, before)
  })
})

describe('a lowered max-image-size, with a limit known from how the images are made', () => {
  // The base image plus a file of exactly PAYLOAD bytes: the image with that file is over by
  // its layer's headers; the one with a file HEADER_ROOM bytes smaller is under by more than its
  // headers can take back.
  const PAYLOAD = 10_000_000
  const limit = () => baseBytes + PAYLOAD

  it('deploys an image just under the limit and reports its uncompressed size', async () => {
    const fn = await sandbox.seed({ label: 'under' })
    const run = await deploy('image-size-payload', fn, {
      'max-image-size': String(limit()),
      'build-args': `PAYLOAD_BYTES=${PAYLOAD - HEADER_ROOM}`
    })
    expect(run.exitCode).toBe(0)
    expect(run.outputs.deployed).toBe('true')
    const size = Number(run.outputs['image-size'])
    expect(size).toBeGreaterThan(baseBytes + PAYLOAD - HEADER_ROOM)
    expect(size).toBeLessThan(limit())
    expect(run.summary).toContain(`(${size.toLocaleString('en-US')} bytes) of`)
  })

  it('refuses an image just over it, whose extra is a file of known size, before any push', async () => {
    const fn = await sandbox.seed({ label: 'over' })
    const before = await codeSha256(fn.name)
    await sandbox.control.clearCalls()
    const run = await deploy('image-size-payload', fn, {
      'max-image-size': String(limit()),
      'build-args': `PAYLOAD_BYTES=${PAYLOAD}`
    })
    expect(run.stdout).toContain('::error title=image-too-large (Lambda image check)')
    expect(run.stdout).toContain(
      `over the max-image-size of ${(limit() / 1e6).toFixed(1)} MB (${limit().toLocaleString('en-US')} bytes)`
    )
    const named = namedBytes(run)
    expect(named).toBeGreaterThan(limit())
    expect(named).toBeLessThan(limit() + HEADER_ROOM)
    await expectNothingPushedOrChanged(run, fn, before)
  })
})

/**
 * The uncompressed size of an image of the stack's public.ecr.aws for one architecture: each
 * layer is downloaded, decompressed and counted, and must hash to the diff ID its config lists.
 */
async function baseImageUncompressedBytes(
  repository: string,
  tag: string,
  architecture: string
): Promise<number> {
  const get = async (reference: string, accept?: string) => {
    const response = await fetch(`https://${PUBLIC_REGISTRY}/v2/${repository}/${reference}`, {
      headers: accept ? { accept } : {}
    })
    expect(response.status).toBe(200)
    return Buffer.from(await response.arrayBuffer())
  }
  const manifestTypes = [
    'application/vnd.oci.image.index.v1+json',
    'application/vnd.docker.distribution.manifest.list.v2+json',
    'application/vnd.oci.image.manifest.v1+json',
    'application/vnd.docker.distribution.manifest.v2+json'
  ].join(', ')
  type Manifest = {
    manifests?: { digest: string; platform?: { architecture?: string } }[]
    config?: { digest: string }
    layers?: { digest: string; mediaType: string }[]
  }
  let manifest = JSON.parse((await get(`manifests/${tag}`, manifestTypes)).toString()) as Manifest
  const entry = manifest.manifests?.find(m => m.platform?.architecture === architecture)
  if (entry) {
    manifest = JSON.parse(
      (await get(`manifests/${entry.digest}`, manifestTypes)).toString()
    ) as Manifest
  }
  const config = JSON.parse((await get(`blobs/${manifest.config!.digest}`)).toString()) as {
    rootfs: { diff_ids: string[] }
  }
  const layers = manifest.layers ?? []
  expect(layers.length).toBe(config.rootfs.diff_ids.length)
  let total = 0
  for (const [index, layer] of layers.entries()) {
    const blob = await get(`blobs/${layer.digest}`)
    const tar = layer.mediaType.endsWith('gzip') ? gunzipSync(blob) : blob
    expect(`sha256:${createHash('sha256').update(tar).digest('hex')}`).toBe(
      config.rootfs.diff_ids[index]
    )
    total += tar.length
  }
  return total
}
