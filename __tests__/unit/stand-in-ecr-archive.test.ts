import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  UpdateImageStorageClassCommand,
  type ECRClient
} from '@aws-sdk/client-ecr'
import { UpdateFunctionCodeCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { archivedPullRefusal, RESTORE_DURATION_MS } from '../../stack/stand-in/ecr-archive.js'
import { PREVIEW_DURATION_MS } from '../../stack/stand-in/ecr-lifecycle.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'
import { createState, recordKey } from '../../stack/stand-in/state.js'

/**
 * The stand-in's archive storage class (stack/stand-in/ecr-archive.ts; ECR user guide "Archiving
 * an image", "Restoring an image"; API reference UpdateImageStorageClass, DescribeImagesFilter,
 * LifecyclePolicyPreviewResult), through the real SDK clients over an in-memory registry.
 */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let ecr: ECRClient
let lambda: LambdaClient
let unique = 0
let name = ''

beforeAll(async () => {
  registry = new MemoryRegistry('the-registry-password')
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  ;({ ecr, lambda } = clientsFor(standIn.url, ACCOUNT))
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  unique += 1
  name = `archive-${unique}`
  await control.createRepository({
    account: ACCOUNT,
    region: REGION,
    name,
    // Lambda may pull from it (Knowledge Center "lambda-ecr-image").
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
})

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms))

describe('archived images in the stand-in', () => {
  it('are described only when asked for by status, as ARCHIVED with lastArchivedAt', async () => {
    const kept = registry.pushImage(HOST, name, { tag: 'v1', label: 'kept' })
    const archived = registry.pushImage(HOST, name, { tag: 'v2', label: 'archived' })
    const archivedAt = Date.UTC(2026, 10, 1)
    await control.archiveImage(ACCOUNT, REGION, name, archived, archivedAt)

    const active = await ecr.send(new DescribeImagesCommand({ repositoryName: name }))
    expect(active.imageDetails?.map(image => image.imageDigest)).toEqual([kept])
    const onlyArchived = await ecr.send(
      new DescribeImagesCommand({ repositoryName: name, filter: { imageStatus: 'ARCHIVED' } })
    )
    expect(onlyArchived.imageDetails).toEqual([
      expect.objectContaining({ imageDigest: archived, imageTags: ['v2'], imageStatus: 'ARCHIVED' })
    ])
    expect(onlyArchived.imageDetails?.[0]?.lastArchivedAt?.getTime()).toBe(archivedAt)
    const any = await ecr.send(
      new DescribeImagesCommand({ repositoryName: name, filter: { imageStatus: 'ANY' } })
    )
    expect(any.imageDetails?.map(image => image.imageStatus).sort()).toEqual(['ACTIVE', 'ARCHIVED'])
  })

  it('cannot be pulled: BatchGetImage fails them, and the registry answers 404', async () => {
    const digest = registry.pushImage(HOST, name, { tag: 'v1', label: 'pull' })
    await control.archiveImage(ACCOUNT, REGION, name, digest)
    const answer = await ecr.send(
      new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] })
    )
    expect(answer.images).toEqual([])
    expect(answer.failures?.[0]?.failureCode).toBe('ImageNotFound')
  })

  it('are refused to Lambda, which cannot pull them either', async () => {
    const digest = registry.pushImage(HOST, name, { tag: 'v1', label: 'lambda' })
    await control.createFunction({ account: ACCOUNT, region: REGION, name, packageType: 'Image' })
    await control.archiveImage(ACCOUNT, REGION, name, digest)
    const error = await caught(
      lambda.send(
        new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${HOST}/${name}@${digest}` })
      )
    )
    expect(error.name).toBe('InvalidParameterValueException')
  })

  it('are restored by UpdateImageStorageClass STANDARD: ACTIVATING first, then pullable', async () => {
    const digest = registry.pushImage(HOST, name, { tag: 'v1', label: 'restore' })
    const archived = await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: name,
        imageId: { imageDigest: digest },
        targetStorageClass: 'ARCHIVE'
      })
    )
    expect(archived.imageStatus).toBe('ARCHIVED')
    const again = await caught(
      ecr.send(
        new UpdateImageStorageClassCommand({
          repositoryName: name,
          imageId: { imageTag: 'v1' },
          targetStorageClass: 'ARCHIVE'
        })
      )
    )
    expect(again.name).toBe('ImageStorageClassUpdateNotSupportedException')
    const restoring = await ecr.send(
      new UpdateImageStorageClassCommand({
        repositoryName: name,
        imageId: { imageDigest: digest },
        targetStorageClass: 'STANDARD'
      })
    )
    expect(restoring.imageStatus).toBe('ACTIVATING')
    const during = await ecr.send(
      new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] })
    )
    expect(during.failures?.[0]?.failureCode).toBe('ImageNotFound')
    await sleep(RESTORE_DURATION_MS + 50)
    const after = await ecr.send(
      new BatchGetImageCommand({ repositoryName: name, imageIds: [{ imageDigest: digest }] })
    )
    expect(after.images?.[0]?.imageId?.imageDigest).toBe(digest)
  })

  it('are refused at the registry gate by tag and by digest; active images pass', async () => {
    const state = createState()
    const repository = { account: ACCOUNT, region: REGION, name, createdAt: 0 }
    state.repositories.set(recordKey(ACCOUNT, REGION, name), repository)
    const archived = registry.pushImage(HOST, name, { tag: 'old', label: 'gate-old' })
    const active = registry.pushImage(HOST, name, { tag: 'new', label: 'gate-new' })
    const pull = (reference: string, method = 'GET') =>
      archivedPullRefusal(
        { method, host: HOST, path: `/v2/${name}/manifests/${reference}` },
        state,
        registry
      )
    expect(await pull('old')).toBeUndefined()
    Object.assign(repository, { archivedImages: { [archived]: { archivedAt: 0 } } })
    expect(await pull('old')).toMatchObject({
      allowed: false,
      status: 404,
      code: 'MANIFEST_UNKNOWN'
    })
    expect(await pull(archived, 'HEAD')).toMatchObject({ status: 404 })
    expect(await pull('new')).toBeUndefined()
    expect(await pull(active)).toBeUndefined()
  })

  it('are previewed as transitions by a transition rule, with the summary counting them', async () => {
    const older = registry.pushImage(HOST, name, { tag: 'v1', label: 'older' })
    const policy = JSON.stringify({
      rules: [
        {
          rulePriority: 1,
          description: 'archive all but the newest',
          selection: {
            tagStatus: 'tagged',
            tagPatternList: ['v*'],
            countType: 'imageCountMoreThan',
            countNumber: 1
          },
          action: { type: 'transition', targetStorageClass: 'archive' }
        }
      ]
    })
    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: policy })
    )
    // The first preview records v1's push time; v2 comes later.
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    await sleep(PREVIEW_DURATION_MS + 50)
    registry.pushImage(HOST, name, { tag: 'v2', label: 'newer' })
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    await sleep(PREVIEW_DURATION_MS + 50)
    const done = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: name }))
    expect(done.previewResults).toEqual([
      expect.objectContaining({
        imageDigest: older,
        action: { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' },
        storageClass: 'STANDARD',
        appliedRulePriority: 1
      })
    ])
    expect(done.summary?.expiringImageTotalCount).toBe(0)
    expect(done.summary?.transitioningImageTotalCounts).toEqual([
      { targetStorageClass: 'ARCHIVE', imageTotalCount: 1 }
    ])
  })
})
