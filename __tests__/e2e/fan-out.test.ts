import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  LambdaClient,
  UpdateAliasCommand
} from '@aws-sdk/client-lambda'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { credentialsFor, repoRoot, runAction, type ActionRun } from '../../stack/run-action.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { expectNoCredentialLeft, registryPassword } from './support.js'

/**
 * One image, many functions (issue 6), end to end: the real engine builds once, the real
 * registries receive one push per region, and the stand-in sees every Lambda and ECR call.
 */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const US = 'us-east-1'
const EU = 'eu-west-1'
const fixtures = path.join(repoRoot, '__tests__', 'fixtures')

let standIn: StandIn
let control: StandInControl
let unique = 0

beforeAll(async () => {
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
})

afterAll(async () => {
  for (const client of lambdaClients.values()) client.destroy()
  await standIn.close()
})

beforeEach(async () => {
  await control.setUpdateDelay(0)
  await control.clearFaults()
})

function uniqueName(prefix: string): string {
  unique += 1
  return `${prefix}-${process.pid}-${unique}`
}

function repositoryUri(account: string, region: string, name: string): string {
  return `${account}.dkr.ecr.${region}.amazonaws.com/${name}`
}

async function seedFunction(account: string, region: string, name: string): Promise<string> {
  await control.createFunction({ account, region, name, packageType: 'Image' })
  return `arn:aws:lambda:${region}:${account}:function:${name}`
}

function deploy(inputs: Record<string, string>, account = TOOLING): Promise<ActionRun> {
  return runAction(
    { context: path.join(fixtures, 'provided-multistage'), target: 'runtime', ...inputs },
    { standInUrl: standIn.url, account, region: US }
  )
}

const lambdaClients = new Map<string, LambdaClient>()

function lambda(account: string, region: string): LambdaClient {
  const key = `${account} ${region}`
  let client = lambdaClients.get(key)
  if (!client) {
    client = new LambdaClient({
      region,
      endpoint: standIn.url,
      credentials: credentialsFor(account),
      maxAttempts: 1
    })
    lambdaClients.set(key, client)
  }
  return client
}

async function callsTo(operation: string): Promise<number> {
  return (await control.calls()).filter(call => call.operation === operation).length
}

interface FunctionOutput {
  function: string
  arn: string
  region: string
  account: string
  status: string
  deployed: boolean
  version?: string
  alias?: string
  settingsChanges?: string[]
  plan?: string[]
  error?: string
}

function functionsOf(run: ActionRun): FunctionOutput[] {
  return JSON.parse(run.outputs.functions ?? '[]') as FunctionOutput[]
}

function deploySeconds(run: ActionRun): number {
  const match = /deploy (\d+\.\d) s/.exec(run.summary)
  if (!match) throw new Error(`no deploy timing in the summary:\n${run.summary}`)
  return Number(match[1])
}

describe('one image, five functions in two regions and two accounts', () => {
  it('builds once, pushes once per region, grants per account and updates all five', async () => {
    const name = uniqueName('fan')
    for (const region of [US, EU]) {
      await control.createRepository({ account: TOOLING, region, name })
    }
    const functions = [
      await seedFunction(TOOLING, US, `${name}-a`),
      await seedFunction(TOOLING, US, `${name}-b`),
      await seedFunction(WORKLOAD, US, `${name}-c`),
      await seedFunction(TOOLING, EU, `${name}-d`),
      await seedFunction(WORKLOAD, EU, `${name}-e`)
    ]
    await control.setUpdateDelay(2000)
    await control.clearCalls()
    const run = await deploy({
      'function-name': functions.join('\n'),
      repository: `${repositoryUri(TOOLING, US, name)}\n${repositoryUri(TOOLING, EU, name)}`,
      'cross-account-role': 'lambda-deployer',
      'function-config': `"*":\n  environment:\n    STAGE: test\n${functions[0]}:\n  command: ["handler.a"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(run.stderr + run.stdout).not.toContain('::error')
    expect(run.exitCode).toBe(0)

    expect(run.stdout.match(/::group::Build /g)).toHaveLength(1)
    expect(run.stdout.match(/::group::Push to /g)).toHaveLength(2)
    // Per region: the run's tag and the inputs tag (one image); the build cache (containerd
    // store) only in the first repository.
    const inputsTag = `inputs-${run.outputs['inputs-digest']!.slice('sha256:'.length)}`
    const cache = process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd' ? ['buildcache-x86_64'] : []
    expect(await control.registryTags(TOOLING, US, name)).toEqual(
      [...cache, inputsTag, 'latest'].sort()
    )
    expect(await control.registryTags(TOOLING, EU, name)).toEqual([inputsTag, 'latest'].sort())
    expect(await callsTo('UpdateFunctionCode')).toBe(5)
    expect(await callsTo('AssumeRole')).toBe(1)

    const results = functionsOf(run)
    expect(results.map(result => [result.arn, result.status, result.deployed])).toEqual(
      functions.map(arn => [arn, 'updated', true])
    )
    expect(run.outputs.deployed).toBe('true')
    expect(run.summary).toContain('<h3>Functions</h3>')
    for (const arn of functions) expect(run.summary).toContain(arn)

    for (const region of [US, EU]) {
      const policy = JSON.parse((await control.repositoryPolicy(TOOLING, region, name))!) as {
        Statement: { Sid: string; Principal: unknown; Condition?: unknown }[]
      }
      const bySid = Object.fromEntries(policy.Statement.map(s => [s.Sid, s]))
      expect(bySid.LambdaECRImageCrossAccountRetrievalPolicy?.Principal).toEqual({
        AWS: `arn:aws:iam::${WORKLOAD}:root`
      })
      expect(JSON.stringify(bySid.LambdaECRImageRetrievalPolicy?.Condition)).toContain(
        `arn:aws:lambda:${region}:${WORKLOAD}:function:*`
      )
    }

    const a = await lambda(TOOLING, US).send(
      new GetFunctionConfigurationCommand({ FunctionName: functions[0] })
    )
    expect(a.ImageConfigResponse?.ImageConfig?.Command).toEqual(['handler.a'])
    expect(a.Environment?.Variables).toEqual({ STAGE: 'test' })
    const e = await lambda(WORKLOAD, EU).send(
      new GetFunctionConfigurationCommand({ FunctionName: functions[4] })
    )
    expect(e.ImageConfigResponse?.ImageConfig?.Command).toBeUndefined()
    expect(e.Environment?.Variables).toEqual({ STAGE: 'test' })

    // The same step again: same image, same settings. Nothing may be written.
    await control.clearCalls()
    const again = await deploy({
      'function-name': functions.join('\n'),
      repository: `${repositoryUri(TOOLING, US, name)}\n${repositoryUri(TOOLING, EU, name)}`,
      'cross-account-role': 'lambda-deployer',
      'function-config': `"*":\n  environment:\n    STAGE: test\n${functions[0]}:\n  command: ["handler.a"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(again.exitCode).toBe(0)
    expect(again.outputs.deployed).toBe('false')
    expect(functionsOf(again).map(result => result.status)).toEqual(Array(5).fill('unchanged'))
    expect(await callsTo('UpdateFunctionCode')).toBe(0)
    expect(await callsTo('UpdateFunctionConfiguration')).toBe(0)
    expect(await callsTo('SetRepositoryPolicy')).toBe(0)
    expectNoCredentialLeft(run)

    // For the closing note: one function against five, both with a 2 s update delay.
    const single = await seedFunction(TOOLING, US, `${name}-single`)
    const one = await deploy({
      'function-name': single,
      repository: repositoryUri(TOOLING, US, name),
      'build-args': `VERSION=${name}`
    })
    expect(one.exitCode).toBe(0)
    console.log(
      `fan-out timing: deploy phase for 1 function ${deploySeconds(one)} s, for 5 functions ${deploySeconds(run)} s (2 s stand-in update delay)`
    )
  })

  it('names every function result when one of them fails, and says which were updated', async () => {
    const name = uniqueName('fan-fail')
    await control.createRepository({ account: TOOLING, region: US, name })
    const first = await seedFunction(TOOLING, US, `${name}-first`)
    const second = await seedFunction(TOOLING, US, `${name}-second`)
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateFunctionCode',
      kind: 'update-failed',
      reason: 'The image manifest could not be read.'
    })
    const run = await deploy({
      'function-name': `${first}\n${second}`,
      repository: repositoryUri(TOOLING, US, name),
      'max-concurrency': '1',
      'build-args': `VERSION=${name}`
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
  it('publishes a version, moves an alias, then splits traffic for a canary', async () => {
    const name = uniqueName('alias')
    await control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(TOOLING, US, name)
    const inputs = {
      'function-name': fn,
      repository: repositoryUri(TOOLING, US, name),
      publish: 'true',
      alias: 'live'
    }
    const first = await deploy({ ...inputs, 'build-args': `VERSION=${name}-1` })
    expect(first.exitCode).toBe(0)
    expect(first.outputs.version).toBe('1')
    const client = lambda(TOOLING, US)
    const live = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(live.FunctionVersion).toBe('1')

    const canary = await deploy({
      ...inputs,
      'alias-routing-weight': '0.1',
      'build-args': `VERSION=${name}-2`
    })
    expect(canary.exitCode).toBe(0)
    expect(canary.outputs.version).toBe('2')
    const split = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(split.FunctionVersion).toBe('1')
    expect(split.RoutingConfig?.AdditionalVersionWeights).toEqual({ '2': 0.1 })

    const promote = await deploy({ ...inputs, 'build-args': `VERSION=${name}-3` })
    expect(promote.exitCode).toBe(0)
    const moved = await client.send(new GetAliasCommand({ FunctionName: fn, Name: 'live' }))
    expect(moved.FunctionVersion).toBe('3')
    expect(moved.RoutingConfig?.AdditionalVersionWeights ?? {}).toEqual({})
  })

  it('refuses to overwrite an alias that someone else changed meanwhile (RevisionId)', async () => {
    const name = uniqueName('alias-race')
    await control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(TOOLING, US, name)
    const inputs = {
      'function-name': fn,
      repository: repositoryUri(TOOLING, US, name),
      publish: 'true',
      alias: 'live'
    }
    expect((await deploy({ ...inputs, 'build-args': `VERSION=${name}-1` })).exitCode).toBe(0)
    expect((await deploy({ ...inputs, 'build-args': `VERSION=${name}-2` })).exitCode).toBe(0)

    // The action's UpdateAlias is held for 4 s; meanwhile another writer moves the alias.
    await control.clearCalls()
    await control.injectFault({
      service: 'lambda',
      operation: 'UpdateAlias',
      kind: 'slow',
      delayMs: 4000
    })
    const running = deploy({ ...inputs, 'build-args': `VERSION=${name}-3` })
    while ((await callsTo('GetAlias')) === 0) await new Promise(r => setTimeout(r, 50))
    await new Promise(r => setTimeout(r, 300))
    await lambda(TOOLING, US).send(
      new UpdateAliasCommand({ FunctionName: fn, Name: 'live', FunctionVersion: '1' })
    )
    const run = await running
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('[concurrent-change]')
    expect(run.stdout).toContain('RevisionId')
    const alias = await lambda(TOOLING, US).send(
      new GetAliasCommand({ FunctionName: fn, Name: 'live' })
    )
    expect(alias.FunctionVersion).toBe('1')
  })
})

describe('deploy-only', () => {
  it('deploys an image built elsewhere without running docker build', async () => {
    const name = uniqueName('only')
    await control.createRepository({ account: TOOLING, region: US, name })
    const builder = await seedFunction(TOOLING, US, `${name}-build`)
    const built = await deploy({
      'function-name': builder,
      repository: repositoryUri(TOOLING, US, name),
      'build-args': `VERSION=${name}`
    })
    expect(built.exitCode).toBe(0)
    const target = await seedFunction(TOOLING, US, `${name}-target`)
    const run = await runAction(
      { 'function-name': target, image: built.outputs['image-uri']! },
      { standInUrl: standIn.url, account: TOOLING, region: US }
    )
    expect(run.stdout + run.stderr).not.toContain('::error')
    expect(run.exitCode).toBe(0)
    expect(run.stdout).not.toContain('::group::Build')
    expect(run.stdout).not.toContain('::group::Push')
    expect(run.outputs['image-uri']).toBe(built.outputs['image-uri'])
    expect(functionsOf(run)[0]?.status).toBe('updated')
    expectNoCredentialLeft(run)
  })

  it('refuses an index, and an image of the other architecture, before any update', async () => {
    const name = uniqueName('only-bad')
    await control.createRepository({ account: TOOLING, region: US, name })
    const builder = await seedFunction(TOOLING, US, `${name}-arm`)
    await control.createFunction({
      account: TOOLING,
      region: US,
      name: `${name}-arm64`,
      packageType: 'Image',
      architectures: ['arm64']
    })
    const arm = await deploy({
      'function-name': `arn:aws:lambda:${US}:${TOOLING}:function:${name}-arm64`,
      repository: repositoryUri(TOOLING, US, name),
      context: path.join(repoRoot, 'examples', 'hello-provided'),
      target: '',
      tags: 'arm'
    })
    expect(arm.exitCode).toBe(0)
    const armDigest = arm.outputs['image-digest']!
    const index = await pushIndex(name, armDigest)

    await control.clearCalls()
    const wrongArch = await runAction(
      { 'function-name': builder, image: `${repositoryUri(TOOLING, US, name)}:arm` },
      { standInUrl: standIn.url, account: TOOLING, region: US }
    )
    expect(wrongArch.exitCode).toBe(1)
    expect(wrongArch.stdout).toContain('image-architecture-mismatch')
    const asIndex = await runAction(
      { 'function-name': builder, image: `${repositoryUri(TOOLING, US, name)}@${index}` },
      { standInUrl: standIn.url, account: TOOLING, region: US }
    )
    expect(asIndex.exitCode).toBe(1)
    expect(asIndex.stdout).toContain('[image-is-index]')
    expect(await callsTo('UpdateFunctionCode')).toBe(0)
    expect(await callsTo('SetRepositoryPolicy')).toBe(0)
  })

  it('refuses an image whose config says it is not Linux', async () => {
    const name = uniqueName('only-windows')
    await control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(TOOLING, US, name)
    // No engine here builds a Windows image, so one is put into the registry by hand.
    const digest = await pushConfigOnlyImage(name, { architecture: 'amd64', os: 'windows' })
    await control.clearCalls()
    const run = await runAction(
      { 'function-name': fn, image: `${repositoryUri(TOOLING, US, name)}@${digest}` },
      { standInUrl: standIn.url, account: TOOLING, region: US }
    )
    expect(run.exitCode).toBe(1)
    expect(run.stdout).toContain('::error title=image-not-linux (Lambda image check)')
    expect(await callsTo('UpdateFunctionCode')).toBe(0)
  })
})

function registryRequest(name: string, pathAndQuery: string, init: RequestInit = {}) {
  const host = `${TOOLING}.dkr.ecr.${US}.amazonaws.com`
  const url = pathAndQuery.startsWith('https://')
    ? pathAndQuery
    : `https://${host}/v2/${name}/${pathAndQuery}`
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
  const location = new URL(
    started.headers.get('location')!,
    `https://${TOOLING}.dkr.ecr.${US}.amazonaws.com`
  )
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
  const manifest = await control.registryManifest(TOOLING, US, name, manifestDigest)
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

describe('plan mode', () => {
  it('changes nothing in AWS and says what it would do', async () => {
    const name = uniqueName('plan')
    await control.createRepository({ account: TOOLING, region: US, name })
    const fn = await seedFunction(TOOLING, US, name)
    const before = await control.stateText()
    await control.clearCalls()
    const run = await deploy({
      'function-name': fn,
      repository: repositoryUri(TOOLING, US, name),
      'dry-run': 'true',
      publish: 'true',
      alias: 'live',
      'function-config': `${fn}:\n  command: ["x.handler"]\n`,
      'build-args': `VERSION=${name}`
    })
    expect(run.exitCode).toBe(0)
    expect(await control.stateText()).toBe(before)
    expect(await control.registryTags(TOOLING, US, name)).toEqual([])
    const calls = (await control.calls()).map(call => call.operation)
    expect(calls).not.toContain('SetRepositoryPolicy')
    expect(calls).not.toContain('PublishVersion')
    expect(run.outputs.deployed).toBe('false')
    const [planned] = functionsOf(run)
    expect(planned?.status).toBe('planned')
    expect(planned?.plan).toEqual(
      expect.arrayContaining([
        expect.stringContaining('code:'),
        expect.stringContaining('setting: Command'),
        'publish a new version',
        expect.stringContaining('alias live: create')
      ])
    )
    expect(run.stdout).toContain('Plan (dry-run: nothing was pushed or changed)')
    expect(run.summary).toContain('Dry run')
  })
})
