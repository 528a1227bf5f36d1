import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  GetAuthorizationTokenCommand,
  type ECRClient
} from '@aws-sdk/client-ecr'
import { GetFunctionCommand, UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { RegistryClient } from '../../stack/stand-in/registry-client.js'
import { clientsFor, type StandInClients } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { registryEndpoint, topology } from '../../stack/stand-in/topology.js'

/**
 * The stand-in against the real registry stack/setup.sh runs: images pushed with docker (logged
 * in with the token GetAuthorizationToken hands out) are what BatchGetImage, DescribeImages and
 * UpdateFunctionCode see.
 */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const OTHER_REGION = 'eu-west-1'
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
const SINGLE_IMAGE_TYPES = [DOCKER_MANIFEST, OCI_MANIFEST]
// What `docker push` sends for the image built below: the classic store keeps Docker v2 media
// types, the containerd store pushes the same image as an OCI manifest.
const PUSHED_TYPE =
  process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd' ? OCI_MANIFEST : DOCKER_MANIFEST

const host = (region: string) => registryEndpoint(TOOLING, region)!.host
const name = `stand-in-e2e-${process.pid}`

let standIn: StandIn
let control: StandInControl
let clients: StandInClients
let work: string
let dockerConfig: string
/** The pushed image's digest in each region's registry. */
const pushed: Record<string, string> = {}

interface Run {
  readonly stdout: string
  readonly stderr: string
}

function run(
  command: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {}
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.on('error', reject)
    child.on('close', code =>
      code === 0
        ? resolve({ stdout, stderr })
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))
    )
    child.stdin.end(options.input ?? '')
  })
}

/** docker login to a region's registry with the token ECR gives, in a throw-away DOCKER_CONFIG. */
async function login(ecr: ECRClient): Promise<string> {
  const answer = await ecr.send(new GetAuthorizationTokenCommand({}))
  const data = answer.authorizationData![0]!
  const [user, password] = Buffer.from(data.authorizationToken!, 'base64')
    .toString()
    .split(':') as [string, string]
  const registry = new URL(data.proxyEndpoint!).host
  await run('docker', ['login', '--username', user, '--password-stdin', registry], {
    env: { DOCKER_CONFIG: dockerConfig },
    input: password
  })
  return registry
}

/** Builds a FROM-scratch image holding one small file and pushes it; returns its digest. */
async function buildAndPush(region: string): Promise<string> {
  const reference = `${host(region)}/${name}:v1`
  const context = path.join(work, 'context')
  await run('docker', ['build', '--tag', reference, context], { env: { DOCKER_BUILDKIT: '0' } })
  const push = await run('docker', ['push', reference], { env: { DOCKER_CONFIG: dockerConfig } })
  const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push.stdout)?.[1]
  if (!digest) throw new Error(`No digest in docker push output:\n${push.stdout}`)
  return digest
}

beforeAll(async () => {
  const password = path.join(topology.stateDir, 'registry-password')
  if (!existsSync(password)) {
    throw new Error(
      `${password} is missing: the registry is not set up; run bash stack/setup.sh first.`
    )
  }
  standIn = await startStandIn({ port: 0 })
  control = new StandInControl(standIn.url)
  clients = clientsFor(standIn.url, TOOLING, { region: REGION })

  work = mkdtempSync(path.join(os.tmpdir(), 'stand-in-e2e-'))
  dockerConfig = path.join(work, 'docker-config')
  const context = path.join(work, 'context')
  for (const dir of [dockerConfig, context]) mkdirSync(dir)
  writeFileSync(path.join(context, 'hello.txt'), `hello from ${name}\n`)
  writeFileSync(
    path.join(context, 'Dockerfile'),
    'FROM scratch\nCOPY hello.txt /hello.txt\nCMD ["/hello.txt"]\n'
  )

  for (const region of [REGION, OTHER_REGION]) {
    // Lambda may pull only what the repository policy lets it, in its own account too.
    await control.createRepository({
      account: TOOLING,
      region,
      name,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'lambda.amazonaws.com' },
            Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
          }
        ]
      })
    })
    await login(clientsFor(standIn.url, TOOLING, { region }).ecr)
    pushed[region] = await buildAndPush(region)
  }
  await control.createFunction({ account: TOOLING, region: REGION, name, packageType: 'Image' })
})

afterAll(async () => {
  await standIn?.close()
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('images pushed with docker', () => {
  it('logs docker in with the token GetAuthorizationToken gives', async () => {
    await expect(login(clients.ecr)).resolves.toBe(host(REGION))
  })

  it('returns the pushed manifest from BatchGetImage, byte for byte', async () => {
    const answer = await clients.ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageTag: 'v1' }],
        acceptedMediaTypes: SINGLE_IMAGE_TYPES
      })
    )
    const image = answer.images?.[0]
    expect(image?.imageId).toEqual({ imageDigest: pushed[REGION], imageTag: 'v1' })
    expect(image?.imageManifestMediaType).toBe(PUSHED_TYPE)
    expect(
      `sha256:${createHash('sha256')
        .update(image?.imageManifest ?? '')
        .digest('hex')}`
    ).toBe(pushed[REGION])
  })

  it('describes the pushed image with its tag, media type and the sum of its layer sizes', async () => {
    const manifest = await control.registryManifest(TOOLING, REGION, name, 'v1')
    const layers = manifest.manifest.layers as { size: number }[]
    const answer = await clients.ecr.send(
      new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageTag: 'v1' }] })
    )
    expect(answer.imageDetails?.[0]).toMatchObject({
      imageDigest: pushed[REGION],
      imageTags: ['v1'],
      imageManifestMediaType: PUSHED_TYPE,
      imageSizeInBytes: layers.reduce((sum, layer) => sum + layer.size, 0)
    })
    expect(manifest.config.os).toBe('linux')
    expect(await control.registryTags(TOOLING, REGION, name)).toEqual(['v1'])
  })

  it('lets UpdateFunctionCode take the tag, with CodeSha256 = the pushed digest', async () => {
    const answer = await clients.lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${host(REGION)}/${name}:v1` })
    )
    expect(answer.CodeSha256).toBe(pushed[REGION]!.replace('sha256:', ''))
    const live = await clients.lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Code?.ResolvedImageUri).toBe(`${host(REGION)}/${name}@${pushed[REGION]}`)
    expect(live.Configuration?.LastUpdateStatus).toBe('Successful')
  })
})

describe('what ECR and Lambda refuse', () => {
  it('refuses an image index, in BatchGetImage and in UpdateFunctionCode', async () => {
    const manifest = await control.registryManifest(TOOLING, REGION, name, 'v1')
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: manifest.mediaType,
          digest: manifest.digest,
          size: Buffer.byteLength(manifest.body),
          platform: { architecture: manifest.config.architecture, os: 'linux' }
        }
      ]
    })
    const registry = new RegistryClient(topology.stateDir)
    await registry.putManifest(registryEndpoint(TOOLING, REGION)!, name, 'multi', OCI_INDEX, index)

    const answer = await clients.ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageTag: 'multi' }],
        acceptedMediaTypes: SINGLE_IMAGE_TYPES
      })
    )
    expect(answer.failures?.[0]?.failureCode).toBe('UnsupportedImageType')
    const uri = `${host(REGION)}/${name}:multi`
    await expect(
      clients.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: uri }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: `The image manifest, config or layer media type for the source image ${uri} is not supported.`
    })
  })

  it('reports a tag nobody pushed as missing', async () => {
    const answer = await clients.ecr.send(
      new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'never-pushed' }] })
    )
    expect(answer.failures?.[0]?.failureCode).toBe('ImageNotFound')
    await expect(
      clients.ecr.send(
        new DescribeImagesCommand({
          repositoryName: name,
          imageIds: [{ imageTag: 'never-pushed' }]
        })
      )
    ).rejects.toMatchObject({ name: 'ImageNotFoundException' })
    const uri = `${host(REGION)}/${name}:never-pushed`
    await expect(
      clients.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: uri }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: `Source image ${uri} does not exist. Provide a valid source image.`
    })
  })

  it('refuses an image that exists, but in another region than the function', async () => {
    const uri = `${host(OTHER_REGION)}/${name}@${pushed[OTHER_REGION]}`
    const inOtherRegion = await clientsFor(standIn.url, TOOLING, { region: OTHER_REGION }).ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageDigest: pushed[OTHER_REGION] }]
      })
    )
    expect(inOtherRegion.images).toHaveLength(1)
    await expect(
      clients.lambda.send(new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: uri }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException',
      message: `Source image ${uri} is not valid. Provide a valid source image.`
    })
  })
})
