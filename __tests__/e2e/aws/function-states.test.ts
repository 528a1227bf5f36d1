import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetFunctionCommand,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2
} from '@aws-sdk/client-lambda'
import { createHash } from 'node:crypto'
import type { ActionRun } from '../../../stack/run-action.js'
import {
  DEFAULT_REGION as REGION,
  TOOLING_ACCOUNT as ACCOUNT,
  fixtureImage,
  registryHost,
  useSandbox
} from '../harness.js'
import {
  expectNoCredentialLeft,
  functionsOf,
  policyOfAbout as policyOfAboutFor,
  registryPassword
} from '../support.js'

/**
 * Issue 13, on what AWS does with an image already in ECR: function states (Pending, a failed
 * last update, Inactive, Failed), a repository policy that would outgrow ECR's limit (dry-run,
 * and one large only by its layout), and an image whose layer Lambda cannot use. The stand-in
 * holds each function in the state AWS would. A policy refused before the push of a build is in
 * engine/function-states.test.ts.
 */

const HOST = registryHost(ACCOUNT, REGION)

const sandbox = useSandbox()

beforeEach(async () => {
  await sandbox.control.setUpdateDelay(0)
  await sandbox.control.clearFaults()
  await sandbox.control.clearCalls()
})

interface StatesFunction {
  readonly name: string
  /** The fixture image in the function's repository (not deployed): REPOSITORY@DIGEST. */
  readonly image: string
}

/** A repository and a function that runs no image yet; the repository holds the fixture image. */
async function seed(label: string, policy?: string): Promise<StatesFunction> {
  const fn = await sandbox.seed({ label: `states-${label}`, policy })
  const image = await sandbox.copyImage(
    await fixtureImage({ fixture: 'provided-multistage', target: 'runtime' }),
    fn.repository,
    'states'
  )
  return { name: fn.name, image }
}

function deploy(fn: StatesFunction, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return sandbox.run({
    'function-name': fn.name,
    image: fn.image,
    'wait-timeout': '60',
    ...inputs
  })
}

async function calls(operation: string, status?: number): Promise<number> {
  return (await sandbox.control.calls()).filter(
    call => call.operation === operation && (status === undefined || call.status === status)
  ).length
}

/** Holds the function in a state, as AWS would (see the stand-in's setFunctionState). */
async function setState(
  fn: StatesFunction,
  state: 'Pending' | 'Inactive' | 'Failed',
  more: { pendingMs?: number; reasonCode?: string } = {}
): Promise<void> {
  await sandbox.control.setFunctionState({
    account: ACCOUNT,
    region: REGION,
    name: fn.name,
    state,
    ...more
  })
}

const functionOutput = (run: ActionRun) => functionsOf(run)[0]!

async function liveState(name: string) {
  const answer = await sandbox.clients().lambda.send(new GetFunctionCommand({ FunctionName: name }))
  return answer.Configuration!
}

describe('a rerun after a failed update', () => {
  it('deploys the same image again instead of calling it deployed', async () => {
    const fn = await seed('rerun')
    await sandbox.control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      reason: 'The stand-in failed this update on purpose.'
    })
    const failed = await deploy(fn)
    expect(failed.exitCode).toBe(1)
    expect(failed.stdout).toContain('function-update-failed')
    expect((await liveState(fn.name)).LastUpdateStatus).toBe('Failed')

    await sandbox.control.clearCalls()
    const rerun = await deploy(fn)
    expect(rerun.stdout).not.toContain('::error::')
    expect(rerun.exitCode).toBe(0)
    expect(rerun.stdout).toContain('its last update failed')
    expect(rerun.stdout).not.toContain('no update needed')
    expect(rerun.outputs.deployed).toBe('true')
    expect(functionOutput(rerun)).toMatchObject({ status: 'updated', deployed: true })
    expect(await calls('UpdateFunctionCode')).toBe(1)
    const live = await liveState(fn.name)
    expect(live.LastUpdateStatus).toBe('Successful')
    expect(live.CodeSha256).toBe(fn.image.slice(fn.image.indexOf('@sha256:') + 8))
    expectNoCredentialLeft(rerun)

    // A third run has nothing to do.
    const third = await deploy(fn)
    expect(third.exitCode).toBe(0)
    expect(third.stdout).toContain('no update needed')
  })
})

describe('a Pending function', () => {
  it('is waited for until Active, then updated, with no update refused on the way', async () => {
    const fn = await seed('pending')
    await setState(fn, 'Pending', { pendingMs: 6000 })
    const run = await deploy(fn)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('is Pending (The function is being created); waiting')
    expect(functionOutput(run)).toMatchObject({ status: 'updated', deployed: true })
    expect(await calls('UpdateFunctionCode')).toBe(1)
    expect(await calls('UpdateFunctionCode', 409)).toBe(0)
    expect((await liveState(fn.name)).State).toBe('Active')
  })

  it('makes dry-run say that the deploy would wait for it', async () => {
    const fn = await seed('pending-plan')
    await setState(fn, 'Pending', { pendingMs: 60_000 })
    const before = await sandbox.control.stateText()
    const run = await deploy(fn, { 'dry-run': 'true' })
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    const plan = functionOutput(run).plan ?? []
    expect(plan.join('\n')).toContain('is Pending (The function is being created)')
    expect(plan.join('\n')).toContain('the deploy waits until it can take a change')
    expect(await sandbox.control.stateText()).toBe(before)
  })

  it('is refused by Lambda’s own words when asked directly (the stand-in models the 409)', async () => {
    const fn = await seed('pending-direct')
    await setState(fn, 'Pending', { pendingMs: 60_000 })
    const error = await sandbox
      .clients()
      .lambda.send(
        new UpdateFunctionCodeCommand({
          FunctionName: fn.name,
          ImageUri: `${HOST}/${fn.name}:states`
        })
      )
      .then(
        () => undefined,
        (caught: unknown) => caught as Error
      )
    expect(error?.name).toBe('ResourceConflictException')
    expect(error?.message).toBe(
      'The operation cannot be performed at this time. The function is currently in the following state: Pending'
    )
  })
})

describe('an Inactive or Failed function', () => {
  it('is updated without waiting for it, and Active again once the update is done', async () => {
    const fn = await seed('inactive')
    await setState(fn, 'Inactive')
    await sandbox.control.setUpdateDelay(2000)
    const run = await deploy(fn, { publish: 'true' })
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('is Inactive (idle); Lambda restores it with this update')
    expect(await calls('PublishVersion', 409)).toBe(0)
    expect(await calls('PublishVersion', 201)).toBe(1)
    expect((await liveState(fn.name)).State).toBe('Active')
  })

  it('gets the same image again when it is Failed because its image was deleted', async () => {
    const fn = await seed('failed-state')
    const first = await deploy(fn)
    expect(first.exitCode).toBe(0)
    await setState(fn, 'Failed', { reasonCode: 'ImageDeleted' })
    await sandbox.control.clearCalls()
    const run = await deploy(fn)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('it is Failed')
    expect(await calls('UpdateFunctionCode')).toBe(1)
    expect((await liveState(fn.name)).State).toBe('Active')
  })
})

/** A policy of reader statements whose compact JSON is just under `size` characters. */
const policyOfAbout = (size: number) => policyOfAboutFor(ACCOUNT, size)

describe('a repository policy that would outgrow ECR’s 10,240 characters', () => {
  const policy = policyOfAbout(10_150)

  it('makes dry-run say so, leaving the registry and the policy as they were', async () => {
    expect(policy.length).toBeLessThanOrEqual(10_240)
    const fn = await seed('policy-size-plan', policy)
    const tags = await sandbox.control.registryTags(ACCOUNT, REGION, fn.name)
    const run = await deploy(fn, { 'dry-run': 'true' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('repository-policy-too-large')
    expect(await sandbox.control.registryTags(ACCOUNT, REGION, fn.name)).toEqual(tags)
    expect(await sandbox.control.repositoryPolicy(ACCOUNT, REGION, fn.name)).toBe(policy)
  })

  it('fits when the policy is large only because of its layout', async () => {
    // ECR hands policies back in its own roomy layout; written compactly the merge still fits.
    const roomy = JSON.stringify(JSON.parse(policyOfAbout(8_000)), null, 4)
    expect(roomy.length).toBeGreaterThan(10_240)
    const fn = await seed('policy-layout', roomy)
    const run = await deploy(fn)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    const stored = (await sandbox.control.repositoryPolicy(ACCOUNT, REGION, fn.name))!
    // Stored in ECR's layout: `"key" : value`, arrays on one line.
    expect(stored).toContain('"Version" : "2012-10-17"')
    expect((JSON.parse(stored) as { Statement: unknown[] }).Statement.length).toBe(
      (JSON.parse(roomy) as { Statement: unknown[] }).Statement.length + 1
    )
  })
})

function registryRequest(name: string, pathOrUrl: string, init: RequestInit = {}) {
  const url = pathOrUrl.startsWith('https://')
    ? pathOrUrl
    : `https://${HOST}/v2/${name}/${pathOrUrl}`
  return fetch(url, {
    ...init,
    headers: {
      ...(init.headers as Record<string, string> | undefined),
      authorization: `Basic ${Buffer.from(`AWS:${registryPassword}`).toString('base64')}`
    }
  })
}

async function uploadBlob(name: string, blob: Buffer): Promise<string> {
  const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`
  const started = await registryRequest(name, 'blobs/uploads/', { method: 'POST' })
  const location = new URL(started.headers.get('location')!, `https://${HOST}`)
  location.searchParams.set('digest', digest)
  const uploaded = await registryRequest(name, location.toString(), {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream' },
    body: blob
  })
  if (!uploaded.ok) throw new Error(`blob upload failed: ${uploaded.status}`)
  return digest
}

/** A tar archive (POSIX ustar) of one executable file: 512-byte header, content, padding, end. */
function tarOfOneFile(name: string, content: string): Buffer {
  const data = Buffer.from(content)
  const header = Buffer.alloc(512)
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii')
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0')
  field(0, 100, name)
  field(100, 8, octal(0o755, 8))
  field(108, 8, octal(0, 8))
  field(116, 8, octal(0, 8))
  field(124, 12, octal(data.length, 12))
  field(136, 12, octal(0, 12))
  field(156, 1, '0')
  field(257, 6, 'ustar')
  field(263, 2, '00')
  // The checksum is summed with its own field as spaces, then written as 6 octal digits, NUL, space.
  field(148, 8, ' '.repeat(8))
  const checksum = header.reduce((sum, byte) => sum + byte, 0)
  field(148, 8, `${octal(checksum, 7)}\0 `)
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512)
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)])
}

/**
 * An image whose one layer is an uncompressed tar typed as Docker's, as some image tools write
 * them; no engine here pushes such a layer, so the manifest is put in by hand.
 */
async function pushUncompressedDockerLayerImage(name: string): Promise<string> {
  const layer = tarOfOneFile('bootstrap', '#!/bin/sh\necho hello\n')
  const layerDigest = await uploadBlob(name, layer)
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Entrypoint: ['/bootstrap'] },
      rootfs: { type: 'layers', diff_ids: [layerDigest] }
    })
  )
  const configDigest = await uploadBlob(name, config)
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      digest: configDigest,
      size: config.length
    },
    layers: [
      {
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar',
        digest: layerDigest,
        size: layer.length
      }
    ]
  })
  const put = await registryRequest(name, 'manifests/uncompressed', {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' },
    body: manifest
  })
  if (!put.ok) throw new Error(`manifest push failed: ${put.status} ${await put.text()}`)
  return put.headers.get('docker-content-digest')!
}

describe('an image with an uncompressed Docker-typed layer', () => {
  it('is refused by the action before Lambda is asked', async () => {
    const fn = await sandbox.seed({ label: 'states-uncompressed' })
    const digest = await pushUncompressedDockerLayerImage(fn.name)
    const run = await sandbox.run({ 'function-name': fn.name, image: `${fn.repository}@${digest}` })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error title=image-layer-uncompressed-docker')
    expect(run.stdout).toContain('compressed layers')
    expect(await calls('UpdateFunctionCode')).toBe(0)
    expect(await calls('SetRepositoryPolicy')).toBe(0)
  })

  it('fails the update after Lambda accepted it, as Lambda does (stand-in)', async () => {
    // Lambda may pull only what the repository policy lets it, in its own account too.
    const lambdaMayPull = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'LambdaECRImageRetrievalPolicy',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
          Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
        }
      ]
    })
    const fn = await sandbox.seed({ label: 'states-uncompressed-direct', policy: lambdaMayPull })
    const digest = await pushUncompressedDockerLayerImage(fn.name)
    const manifest = await sandbox.control.registryManifest(ACCOUNT, REGION, fn.name, digest)
    const layerDigest = (manifest.manifest.layers as { digest: string }[])[0]!.digest
    const lambda = sandbox.clients().lambda
    const accepted = await lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: fn.name,
        ImageUri: `${fn.repository}@${digest}`
      })
    )
    expect(accepted.LastUpdateStatus).toBe('InProgress')
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { FunctionName: fn.name }
    ).catch(() => undefined)
    const live = await liveState(fn.name)
    expect(live.LastUpdateStatus).toBe('Failed')
    expect(live.LastUpdateStatusReasonCode).toBe('InvalidImage')
    expect(live.LastUpdateStatusReason).toBe(
      `ImageLayerFailure: UnsupportedImageLayerDetected - Layer Digest ${layerDigest}`
    )
  })
})
