import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { ecrPolicyLayout } from '../../stack/stand-in/ecr-policy.js'
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetRepositoryPolicyCommand,
  PutImageCommand,
  SetRepositoryPolicyCommand,
  type ECRClient
} from '@aws-sdk/client-ecr'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** ECR's side: repositories and their policies in the stand-in, images read from a registry
 * (here in memory), all through the real SDK client. */

const TOOLING = '111111111111'
const WORKLOAD = '222222222222'
const REGION = 'us-east-1'
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json'
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let ecr: ECRClient

beforeAll(async () => {
  registry = new MemoryRegistry('the-registry-password')
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  ecr = clientsFor(standIn.url, TOOLING).ecr
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
  await control.createRepository({ account: TOOLING, region: REGION, name: 'app' })
})

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

describe('repositories', () => {
  it('describes a seeded repository with its URI and ARN', async () => {
    const answer = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['app'] }))
    expect(answer.repositories?.[0]).toMatchObject({
      registryId: TOOLING,
      repositoryName: 'app',
      repositoryUri: `${HOST}/app`,
      repositoryArn: `arn:aws:ecr:${REGION}:${TOOLING}:repository/app`
    })
  })

  it('answers RepositoryNotFoundException with ECR’s message', async () => {
    const error = await caught(
      ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['ghost'] }))
    )
    expect(error.name).toBe('RepositoryNotFoundException')
    expect(error.message).toBe(
      `The repository with name 'ghost' does not exist in the registry with id '${TOOLING}'`
    )
  })

  it('keeps regions apart: the repository does not exist in another region', async () => {
    const error = await caught(
      clientsFor(standIn.url, TOOLING, { region: 'eu-west-1' }).ecr.send(
        new DescribeRepositoriesCommand({ repositoryNames: ['app'] })
      )
    )
    expect(error.name).toBe('RepositoryNotFoundException')
  })

  it('reads another registry when registryId names it and its policy lets the caller', async () => {
    await control.createRepository({
      account: WORKLOAD,
      region: REGION,
      name: 'theirs',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { AWS: `arn:aws:iam::${TOOLING}:root` },
            Action: 'ecr:DescribeRepositories'
          }
        ]
      })
    })
    const answer = await ecr.send(
      new DescribeRepositoriesCommand({ registryId: WORKLOAD, repositoryNames: ['theirs'] })
    )
    expect(answer.repositories?.[0]?.registryId).toBe(WORKLOAD)
  })

  it('creates a repository once, then answers RepositoryAlreadyExistsException', async () => {
    const created = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/new' }))
    expect(created.repository?.repositoryUri).toBe(`${HOST}/team/new`)
    const again = await caught(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'team/new' }))
    )
    expect(again.name).toBe('RepositoryAlreadyExistsException')
  })
})

describe('repository policy', () => {
  const policy =
    '{ "Version": "2012-10-17", "Statement": [ { "Sid": "Spaced  out", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage" } ] }'

  it('answers RepositoryPolicyNotFoundException when there is none', async () => {
    const error = await caught(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'app' })))
    expect(error.name).toBe('RepositoryPolicyNotFoundException')
  })

  it('stores the policy in ECR’s own layout and hands that back', async () => {
    const set = await ecr.send(
      new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: policy })
    )
    expect(set.policyText).toBe(ecrPolicyLayout(policy))
    expect(JSON.parse(set.policyText!)).toEqual(JSON.parse(policy))
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'app' }))
    expect(got.policyText).toBe(ecrPolicyLayout(policy))
    expect(await control.repositoryPolicy(TOOLING, REGION, 'app')).toBe(ecrPolicyLayout(policy))
  })

  it('lays a policy out exactly as the GetRepositoryPolicy example of the ECR API shows it', () => {
    // botocore data/ecr/2015-09-21/examples-1.json, GetRepositoryPolicy
    // (getrepositorypolicy-example-1470867669211); two of its lines lost their indentation by
    // hand-editing, restored here as the rest of the example indents.
    const example =
      '{\n  "Version" : "2008-10-17",\n  "Statement" : [ {\n    "Sid" : "new statement",\n    "Effect" : "Allow",\n    "Principal" : {\n      "AWS" : "arn:aws:iam::012345678901:role/CodeDeployDemo"\n    },\n    "Action" : [ "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:BatchCheckLayerAvailability" ]\n  } ]\n}'
    expect(ecrPolicyLayout(JSON.stringify(JSON.parse(example)))).toBe(example)
  })

  it('refuses a policy over 10,240 characters with InvalidParameterException', async () => {
    const statements = Array.from({ length: 200 }, (_, index) => ({
      Sid: `Statement${index}`,
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${TOOLING}:role/reader-${index}` },
      Action: ['ecr:BatchGetImage']
    }))
    const text = JSON.stringify({ Version: '2012-10-17', Statement: statements })
    expect(text.length).toBeGreaterThan(10_240)
    const error = await caught(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: text }))
    )
    expect(error.name).toBe('InvalidParameterException')
    expect(error.message).toContain('Member must have length less than or equal to 10240')
    expect(await control.repositoryPolicy(TOOLING, REGION, 'app')).toBeUndefined()
  })

  it.each([
    ['an AWS principal that is no account or ARN', { AWS: 'someone' }],
    ['a service principal that is no service', { Service: 'lambda' }],
    ['an unknown kind of principal', { Federated: 'cognito-identity.amazonaws.com' }]
  ])('refuses %s with InvalidParameterException', async (_case, principal) => {
    const text = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: principal, Action: 'ecr:BatchGetImage' }]
    })
    const error = await caught(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: text }))
    )
    expect(error.name).toBe('InvalidParameterException')
    expect(error.message).toContain('Invalid repository policy provided')
  })

  it.each([
    ['text that is not JSON', '{"Statement": ['],
    ['a policy without statements', '{"Version": "2012-10-17"}'],
    ['a statement without an effect', '{"Statement": {"Principal": "*", "Action": "ecr:*"}}']
  ])('refuses %s with InvalidParameterException', async (_case, text) => {
    const error = await caught(
      ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: text }))
    )
    expect(error.name).toBe('InvalidParameterException')
    expect(await control.repositoryPolicy(TOOLING, REGION, 'app')).toBeUndefined()
  })

  it('deletes the policy', async () => {
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'app', policyText: policy }))
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'app' }))
    expect(await control.repositoryPolicy(TOOLING, REGION, 'app')).toBeUndefined()
  })

  it('starts from the policy a seed gives', async () => {
    await control.createRepository({ account: TOOLING, region: REGION, name: 'seeded', policy })
    const got = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'seeded' }))
    expect(got.policyText).toBe(policy)
  })
})

describe('images', () => {
  it('returns the manifest bytes, media type and digest from BatchGetImage', async () => {
    const digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
    const answer = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'app',
        imageIds: [{ imageTag: 'v1' }],
        acceptedMediaTypes: [DOCKER_MANIFEST]
      })
    )
    const stored = await registry.manifest(
      { account: TOOLING, region: REGION, host: HOST },
      'app',
      digest
    )
    expect(answer.images?.[0]).toMatchObject({
      imageId: { imageDigest: digest, imageTag: 'v1' },
      imageManifest: stored?.body,
      imageManifestMediaType: DOCKER_MANIFEST
    })
    expect(answer.failures).toEqual([])
  })

  it('adds a tag to a stored manifest with PutImage, and answers ImageAlreadyExistsException when the tag names it already', async () => {
    const digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
    const endpoint = { account: TOOLING, region: REGION, host: HOST }
    const stored = (await registry.manifest(endpoint, 'app', digest))!
    const put = (tag: string, imageDigest = digest) =>
      ecr.send(
        new PutImageCommand({
          repositoryName: 'app',
          imageManifest: stored.body,
          imageManifestMediaType: stored.mediaType,
          imageDigest,
          imageTag: tag
        })
      )
    const answer = await put('v2')
    expect(answer.image?.imageId).toEqual({ imageDigest: digest, imageTag: 'v2' })
    expect((await registry.manifest(endpoint, 'app', 'v2'))?.digest).toBe(digest)
    const again = await caught(put('v2'))
    expect(again.name).toBe('ImageAlreadyExistsException')
    expect(again.message).toBe(
      `Image with digest '${digest}' and tag 'v2' already exists in the repository with name 'app' in registry with id '${TOOLING}'`
    )
    const mismatch = await caught(put('v3', `sha256:${'0'.repeat(64)}`))
    expect(mismatch.name).toBe('ImageDigestDoesNotMatchException')
    expect(await registry.manifest(endpoint, 'app', 'v3')).toBeUndefined()
  })

  it('reports an index as UnsupportedImageType when only single-image types are accepted', async () => {
    const digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
    const index = registry.pushIndex(HOST, 'app', 'multi', [digest])
    const answer = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'app',
        imageIds: [{ imageTag: 'multi' }],
        acceptedMediaTypes: [DOCKER_MANIFEST, OCI_MANIFEST]
      })
    )
    expect(answer.images).toEqual([])
    expect(answer.failures?.[0]).toMatchObject({
      imageId: { imageTag: 'multi', imageDigest: index },
      failureCode: 'UnsupportedImageType'
    })
  })

  it('returns an index when its media type is accepted', async () => {
    const digest = registry.pushImage(HOST, 'app', { tag: 'v1' })
    registry.pushIndex(HOST, 'app', 'multi', [digest])
    const answer = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'app',
        imageIds: [{ imageTag: 'multi' }],
        acceptedMediaTypes: [OCI_INDEX]
      })
    )
    expect(answer.images?.[0]?.imageManifestMediaType).toBe(OCI_INDEX)
  })

  it('reports a missing image as an ImageNotFound failure', async () => {
    const answer = await ecr.send(
      new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'nope' }] })
    )
    expect(answer.failures).toEqual([
      {
        imageId: { imageTag: 'nope' },
        failureCode: 'ImageNotFound',
        failureReason: 'Requested image not found'
      }
    ])
  })

  it('describes an image by tag: its digest, every tag on it, media type and layer sizes', async () => {
    const digest = registry.pushImage(HOST, 'app', {
      tag: 'v1',
      layerSizes: [100, 23],
      mediaType: OCI_MANIFEST
    })
    registry.putManifest(
      HOST,
      'app',
      'stable',
      OCI_MANIFEST,
      (await registry.manifest({ account: TOOLING, region: REGION, host: HOST }, 'app', digest))!
        .body
    )
    const answer = await ecr.send(
      new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] })
    )
    expect(answer.imageDetails?.[0]).toMatchObject({
      imageDigest: digest,
      imageTags: ['stable', 'v1'],
      imageManifestMediaType: OCI_MANIFEST,
      imageSizeInBytes: 123
    })
  })

  it('answers ImageNotFoundException from DescribeImages', async () => {
    const error = await caught(
      ecr.send(
        new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'nope' }] })
      )
    )
    expect(error.name).toBe('ImageNotFoundException')
    expect(error.message).toBe(
      `The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with name 'app' in the registry with id '${TOOLING}'`
    )
  })

  it('does not look into the registry for a repository ECR does not have', async () => {
    registry.pushImage(HOST, 'unseeded', { tag: 'v1' })
    const error = await caught(
      ecr.send(
        new BatchGetImageCommand({ repositoryName: 'unseeded', imageIds: [{ imageTag: 'v1' }] })
      )
    )
    expect(error.name).toBe('RepositoryNotFoundException')
  })
})

describe('GetAuthorizationToken', () => {
  it('hands out AWS:<a token of the caller’s own> for the caller’s registry in the signing region', async () => {
    const answer = await clientsFor(standIn.url, TOOLING, { region: 'eu-west-1' }).ecr.send(
      new GetAuthorizationTokenCommand({})
    )
    const data = answer.authorizationData?.[0]
    expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toMatch(
      new RegExp(`^AWS:standin-token\\.${standIn.port}\\.[\\w-]{32}$`)
    )
    expect(data?.proxyEndpoint).toBe(`https://${TOOLING}.dkr.ecr.eu-west-1.amazonaws.com`)
    expect(data?.expiresAt?.getTime()).toBeGreaterThan(Date.now() + 11 * 3600 * 1000)
  })

  it('hands out the registry password of <stateDir>/registry-password when the registry has no gate', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'stand-in-state-'))
    writeFileSync(path.join(stateDir, 'registry-password'), 'from-the-file\n')
    const real = await startStandIn({ port: 0, stateDir })
    try {
      const answer = await clientsFor(real.url, WORKLOAD).ecr.send(
        new GetAuthorizationTokenCommand({})
      )
      const data = answer.authorizationData?.[0]
      expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString()).toBe(
        'AWS:from-the-file'
      )
      expect(data?.proxyEndpoint).toBe(`https://${WORKLOAD}.dkr.ecr.${REGION}.amazonaws.com`)
    } finally {
      await real.close()
      rmSync(stateDir, { recursive: true, force: true })
    }
  })

  it('fails with ServerException when the registry is not set up', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'stand-in-empty-'))
    const real = await startStandIn({ port: 0, stateDir })
    try {
      const error = await caught(
        clientsFor(real.url, TOOLING).ecr.send(new GetAuthorizationTokenCommand({}))
      )
      expect(error.name).toBe('ServerException')
      expect(error.message).toContain('stack/setup.sh')
    } finally {
      await real.close()
      rmSync(stateDir, { recursive: true, force: true })
    }
  })
})
