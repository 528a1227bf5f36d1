import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetFunctionCommand,
  LambdaClient,
  UpdateFunctionCodeCommand,
  waitUntilFunctionUpdatedV2
} from '@aws-sdk/client-lambda'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { credentialsFor, repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { expectNoCredentialLeft, registryPassword } from './support.js'

/**
 * Issue 13, end to end through the real engine and registry: function states (Pending, a failed
 * last update), a repository policy that would outgrow ECR's limit, and an image whose layer
 * Lambda cannot use. The stand-in holds each function in the state AWS would.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`
const fixture = path.join(repoRoot, '__tests__', 'fixtures', 'provided-multistage')

let standIn: StandIn
let control: StandInControl
let lambda: LambdaClient
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  lambda = new LambdaClient({
    region: REGION,
    endpoint: standIn.url,
    credentials: credentialsFor(ACCOUNT),
    maxAttempts: 1
  })
})

afterAll(async () => {
  lambda?.destroy()
  await standIn?.close()
})

beforeEach(async () => {
  await control.setUpdateDelay(0)
  await control.clearFaults()
  await control.clearCalls()
})

async function seed(label: string, policy?: string): Promise<string> {
  unique += 1
  const name = `states-${label}-${process.pid}-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name, policy })
  await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
  return name
}

function deploy(name: string, inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    {
      'function-name': name,
      repository: `${HOST}/${name}`,
      context: fixture,
      target: 'runtime',
      tags: 'states',
      'wait-timeout': '60',
      ...inputs
    },
    { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
  )
}

async function calls(operation: string, status?: number): Promise<number> {
  return (await control.calls()).filter(
    call => call.operation === operation && (status === undefined || call.status === status)
  ).length
}

function functionOutput(run: ActionRun): { status: string; deployed: boolean; plan?: string[] } {
  const [fn] = JSON.parse(run.outputs.functions ?? '[]') as {
    status: string
    deployed: boolean
    plan?: string[]
  }[]
  return fn!
}

async function liveState(name: string) {
  const answer = await lambda.send(new GetFunctionCommand({ FunctionName: name }))
  return answer.Configuration!
}

describe('a rerun after a failed update', () => {
  it('deploys the same image again instead of calling it deployed', async () => {
    const name = await seed('rerun')
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      reason: 'The stand-in failed this update on purpose.'
    })
    const failed = await deploy(name)
    expect(failed.exitCode).toBe(1)
    expect(failed.stdout).toContain('function-update-failed')
    expect((await liveState(name)).LastUpdateStatus).toBe('Failed')

    await control.clearCalls()
    const rerun = await deploy(name)
    expect(rerun.stdout).not.toContain('::error::')
    expect(rerun.exitCode).toBe(0)
    expect(rerun.stdout).toContain('its last update failed')
    expect(rerun.stdout).not.toContain('no update needed')
    expect(rerun.outputs.deployed).toBe('true')
    expect(functionOutput(rerun)).toMatchObject({ status: 'updated', deployed: true })
    expect(await calls('UpdateFunctionCode')).toBe(1)
    const live = await liveState(name)
    expect(live.LastUpdateStatus).toBe('Successful')
    expect(live.CodeSha256).toBe(rerun.outputs['image-digest']!.replace('sha256:', ''))
    expectNoCredentialLeft(rerun)

    // A third run has nothing to do.
    const third = await deploy(name)
    expect(third.exitCode).toBe(0)
    expect(third.stdout).toContain('no update needed')
  })
})

describe('a Pending function', () => {
  it('is waited for until Active, then updated, with no update refused on the way', async () => {
    const name = await seed('pending')
    await control.setFunctionState({
      account: ACCOUNT,
      region: REGION,
      name,
      state: 'Pending',
      pendingMs: 6000
    })
    const run = await deploy(name)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('is Pending (The function is being created); waiting')
    expect(functionOutput(run)).toMatchObject({ status: 'updated', deployed: true })
    expect(await calls('UpdateFunctionCode')).toBe(1)
    expect(await calls('UpdateFunctionCode', 409)).toBe(0)
    expect((await liveState(name)).State).toBe('Active')
  })

  it('makes dry-run say that the deploy would wait for it', async () => {
    const name = await seed('pending-plan')
    await control.setFunctionState({
      account: ACCOUNT,
      region: REGION,
      name,
      state: 'Pending',
      pendingMs: 60_000
    })
    const before = await control.stateText()
    const run = await deploy(name, { 'dry-run': 'true' })
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    const plan = functionOutput(run).plan ?? []
    expect(plan.join('\n')).toContain('is Pending (The function is being created)')
    expect(plan.join('\n')).toContain('the deploy waits until it can take a change')
    expect(await control.stateText()).toBe(before)
  })

  it('is refused by Lambda’s own words when asked directly (the stand-in models the 409)', async () => {
    const name = await seed('pending-direct')
    await control.setFunctionState({
      account: ACCOUNT,
      region: REGION,
      name,
      state: 'Pending',
      pendingMs: 60_000
    })
    const error = await lambda
      .send(
        new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${HOST}/${name}:states` })
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
    const name = await seed('inactive')
    await control.setFunctionState({ account: ACCOUNT, region: REGION, name, state: 'Inactive' })
    await control.setUpdateDelay(2000)
    const run = await deploy(name, { publish: 'true' })
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('is Inactive (idle); Lambda restores it with this update')
    expect(await calls('PublishVersion', 409)).toBe(0)
    expect(await calls('PublishVersion', 201)).toBe(1)
    expect((await liveState(name)).State).toBe('Active')
  })

  it('gets the same image again when it is Failed because its image was deleted', async () => {
    const name = await seed('failed-state')
    const first = await deploy(name)
    expect(first.exitCode).toBe(0)
    await control.setFunctionState({
      account: ACCOUNT,
      region: REGION,
      name,
      state: 'Failed',
      reasonCode: 'ImageDeleted'
    })
    await control.clearCalls()
    const run = await deploy(name)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).toContain('it is Failed')
    expect(await calls('UpdateFunctionCode')).toBe(1)
    expect((await liveState(name)).State).toBe('Active')
  })
})

/** A policy of reader statements whose compact JSON is just under `size` characters. */
function policyOfAbout(size: number): string {
  const statements: object[] = []
  const text = () => JSON.stringify({ Version: '2012-10-17', Statement: statements })
  for (let index = 0; text().length < size; index += 1) {
    statements.push({
      Sid: `Reader${index}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/reader-${index}` },
      Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    })
  }
  statements.pop()
  return text()
}

describe('a repository policy that would outgrow ECR’s 10,240 characters', () => {
  const policy = policyOfAbout(10_150)

  it('is refused before the push, leaving the registry and the policy as they were', async () => {
    expect(policy.length).toBeLessThanOrEqual(10_240)
    const name = await seed('policy-size', policy)
    const run = await deploy(name)
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('repository-policy-too-large')
    expect(run.stdout).toMatch(/would be 10,\d{3} characters/)
    expect(run.stdout).toContain('manage-repository-policy: false')
    expect(run.stdout).not.toContain('::group::Push')
    expect(await control.registryTags(ACCOUNT, REGION, name)).toEqual([])
    expect(await calls('SetRepositoryPolicy')).toBe(0)
    expect(await calls('UpdateFunctionCode')).toBe(0)
    expect(await control.repositoryPolicy(ACCOUNT, REGION, name)).toBe(policy)
  })

  it('makes dry-run say so', async () => {
    const name = await seed('policy-size-plan', policy)
    const run = await deploy(name, { 'dry-run': 'true' })
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('repository-policy-too-large')
    expect(await control.registryTags(ACCOUNT, REGION, name)).toEqual([])
  })

  it('fits when the policy is large only because of its layout', async () => {
    // ECR hands policies back in its own roomy layout; written compactly the merge still fits.
    const roomy = JSON.stringify(JSON.parse(policyOfAbout(8_000)), null, 4)
    expect(roomy.length).toBeGreaterThan(10_240)
    const name = await seed('policy-layout', roomy)
    const run = await deploy(name)
    expect(run.stdout).not.toContain('::error::')
    expect(run.exitCode).toBe(0)
    const stored = (await control.repositoryPolicy(ACCOUNT, REGION, name))!
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

/**
 * An image whose one layer is an uncompressed tar typed as Docker's, as some image tools write
 * them; no engine here pushes such a layer, so the manifest is put in by hand.
 */
async function pushUncompressedDockerLayerImage(name: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'uncompressed-layer-'))
  writeFileSync(path.join(dir, 'bootstrap'), '#!/bin/sh\necho hello\n', { mode: 0o755 })
  const layer = execFileSync('tar', ['-cf', '-', '-C', dir, 'bootstrap'])
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
    const name = await seed('uncompressed')
    const digest = await pushUncompressedDockerLayerImage(name)
    const run = await runAction(
      { 'function-name': name, image: `${HOST}/${name}@${digest}` },
      { standInUrl: standIn.url, account: ACCOUNT, region: REGION }
    )
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
    const name = await seed('uncompressed-direct', lambdaMayPull)
    const digest = await pushUncompressedDockerLayerImage(name)
    const manifest = await control.registryManifest(ACCOUNT, REGION, name, digest)
    const layerDigest = (manifest.manifest.layers as { digest: string }[])[0]!.digest
    const accepted = await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${HOST}/${name}@${digest}` })
    )
    expect(accepted.LastUpdateStatus).toBe('InProgress')
    await waitUntilFunctionUpdatedV2(
      { client: lambda, maxWaitTime: 10, minDelay: 1, maxDelay: 1 },
      { FunctionName: name }
    ).catch(() => undefined)
    const live = await liveState(name)
    expect(live.LastUpdateStatus).toBe('Failed')
    expect(live.LastUpdateStatusReasonCode).toBe('InvalidImage')
    expect(live.LastUpdateStatusReason).toBe(
      `ImageLayerFailure: UnsupportedImageLayerDetected - Layer Digest ${layerDigest}`
    )
  })
})
