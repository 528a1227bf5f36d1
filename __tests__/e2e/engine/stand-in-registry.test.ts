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
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_REGION, TOOLING_ACCOUNT, registryHost, useSandbox } from '../harness.js'

/**
 * The stand-in against the real registry stack/setup.sh runs: images pushed with docker (logged
 * in with the token GetAuthorizationToken hands out) are what BatchGetImage, DescribeImages and
 * UpdateFunctionCode see. What ECR and Lambda refuse, whatever pushed the image, is in
 * aws/stand-in-registry.test.ts.
 */

const TOOLING = TOOLING_ACCOUNT
const REGION = DEFAULT_REGION
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const SINGLE_IMAGE_TYPES = [DOCKER_MANIFEST, OCI_MANIFEST]
// What `docker push` sends for the image built below: the classic store keeps Docker v2 media
// types, the containerd store pushes the same image as an OCI manifest.
const PUSHED_TYPE =
  process.env.LAMBDA_STACK_IMAGE_STORE === 'containerd' ? OCI_MANIFEST : DOCKER_MANIFEST

const host = (region: string) => registryHost(TOOLING, region)

const sandbox = useSandbox()
/** The repository and function every test here reads. */
let name = ''
let work: string
let dockerConfig: string
/** The pushed image's digest. */
let pushed = ''

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
  const seeded = await sandbox.seed({
    label: 'stand-in-e2e',
    // Lambda may pull only what the repository policy lets it, in its own account too.
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
  name = seeded.name
  work = mkdtempSync(path.join(os.tmpdir(), 'stand-in-e2e-'))
  dockerConfig = path.join(work, 'docker-config')
  const context = path.join(work, 'context')
  for (const dir of [dockerConfig, context]) mkdirSync(dir)
  writeFileSync(path.join(context, 'hello.txt'), `hello from ${name}\n`)
  writeFileSync(
    path.join(context, 'Dockerfile'),
    'FROM scratch\nCOPY hello.txt /hello.txt\nCMD ["/hello.txt"]\n'
  )

  await login(sandbox.clients().ecr)
  pushed = await buildAndPush(REGION)
})

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('images pushed with docker', () => {
  it('logs docker in with the token GetAuthorizationToken gives', async () => {
    await expect(login(sandbox.clients().ecr)).resolves.toBe(host(REGION))
  })

  it('returns the pushed manifest from BatchGetImage, byte for byte', async () => {
    const answer = await sandbox.clients().ecr.send(
      new BatchGetImageCommand({
        repositoryName: name,
        imageIds: [{ imageTag: 'v1' }],
        acceptedMediaTypes: SINGLE_IMAGE_TYPES
      })
    )
    const image = answer.images?.[0]
    expect(image?.imageId).toEqual({ imageDigest: pushed, imageTag: 'v1' })
    expect(image?.imageManifestMediaType).toBe(PUSHED_TYPE)
    expect(
      `sha256:${createHash('sha256')
        .update(image?.imageManifest ?? '')
        .digest('hex')}`
    ).toBe(pushed)
  })

  it('describes the pushed image with its tag, media type and the sum of its layer sizes', async () => {
    const manifest = await sandbox.control.registryManifest(TOOLING, REGION, name, 'v1')
    const layers = manifest.manifest.layers as { size: number }[]
    const answer = await sandbox
      .clients()
      .ecr.send(new DescribeImagesCommand({ repositoryName: name, imageIds: [{ imageTag: 'v1' }] }))
    expect(answer.imageDetails?.[0]).toMatchObject({
      imageDigest: pushed,
      imageTags: ['v1'],
      imageManifestMediaType: PUSHED_TYPE,
      imageSizeInBytes: layers.reduce((sum, layer) => sum + layer.size, 0)
    })
    expect(manifest.config.os).toBe('linux')
    expect(await sandbox.control.registryTags(TOOLING, REGION, name)).toEqual(['v1'])
  })

  it('lets UpdateFunctionCode take the tag, with CodeSha256 = the pushed digest', async () => {
    const answer = await sandbox.clients().lambda.send(
      new UpdateFunctionCodeCommand({
        FunctionName: name,
        ImageUri: `${host(REGION)}/${name}:v1`
      })
    )
    expect(answer.CodeSha256).toBe(pushed.replace('sha256:', ''))
    const live = await sandbox.clients().lambda.send(new GetFunctionCommand({ FunctionName: name }))
    expect(live.Code?.ResolvedImageUri).toBe(`${host(REGION)}/${name}@${pushed}`)
    expect(live.Configuration?.LastUpdateStatus).toBe('Successful')
  })
})
