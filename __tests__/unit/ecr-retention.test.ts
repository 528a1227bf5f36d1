import { beforeEach, describe, expect, it } from '@jest/globals'
import {
  BatchGetImageCommand,
  DescribeImagesCommand,
  ECRClient,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  LifecyclePolicyNotFoundException,
  LifecyclePolicyPreviewInProgressException,
  StartLifecyclePolicyPreviewCommand
} from '@aws-sdk/client-ecr'
import {
  LambdaClient,
  ListAliasesCommand,
  ListVersionsByFunctionCommand
} from '@aws-sdk/client-lambda'
import { mockClient } from 'aws-sdk-client-mock'
import { createImageRetention } from '../../src/adapters/ecr-retention.js'
import { createVersionReader } from '../../src/adapters/lambda-versions.js'
import { parseRepositoryUri } from '../../src/domain/aws-names.js'
import { isActionError } from '../../src/domain/errors.js'

const ecrMock = mockClient(ECRClient)
const lambdaMock = mockClient(LambdaClient)
const repository = parseRepositoryUri('111111111111.dkr.ecr.us-east-1.amazonaws.com/app')
const noSleep = () => Promise.resolve()
const retention = () => createImageRetention(new ECRClient({ region: 'us-east-1' }), noSleep)

beforeEach(() => {
  ecrMock.reset()
  lambdaMock.reset()
})

describe('image retention adapter', () => {
  it('looks digests up in batches of 100 and returns those ECR reports as not found', async () => {
    const digests = Array.from({ length: 150 }, (_, i) => `sha256:${String(i).padStart(3, '0')}`)
    ecrMock
      .on(BatchGetImageCommand)
      .callsFake((input: { imageIds: { imageDigest: string }[] }) => ({
        images: [],
        failures: input.imageIds
          .filter(id => id.imageDigest.endsWith('7'))
          .map(imageId => ({ imageId, failureCode: 'ImageNotFound' }))
      }))
    const missing = await retention().missingDigests(repository, digests)
    const calls = ecrMock.commandCalls(BatchGetImageCommand)
    expect(calls.map(call => call.args[0].input.imageIds?.length)).toEqual([100, 50])
    expect(missing).toHaveLength(15)
    expect(missing.every(digest => digest.endsWith('7'))).toBe(true)
  })

  it('turns AccessDenied into an access-denied error naming the permission', async () => {
    ecrMock
      .on(BatchGetImageCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }))
    const error = await retention()
      .missingDigests(repository, ['sha256:a'])
      .catch((e: unknown) => e)
    expect(isActionError(error) && error.id).toBe('access-denied')
    expect(String((error as Error).message)).toContain('ecr:BatchGetImage')
  })

  it('reads no lifecycle policy as undefined', async () => {
    ecrMock
      .on(GetLifecyclePolicyCommand)
      .rejects(new LifecyclePolicyNotFoundException({ message: 'none', $metadata: {} }))
    expect(await retention().lifecyclePolicy(repository)).toBeUndefined()
  })

  it('polls the preview until COMPLETE and reads every page of results, transitions too', async () => {
    ecrMock.on(StartLifecyclePolicyPreviewCommand).resolves({ status: 'IN_PROGRESS' })
    ecrMock
      .on(GetLifecyclePolicyPreviewCommand)
      .resolvesOnce({ status: 'IN_PROGRESS' })
      .resolvesOnce({
        status: 'COMPLETE',
        lifecyclePolicyText: '{"rules":[]}',
        previewResults: [
          {
            imageDigest: 'sha256:a',
            imageTags: ['ci-1'],
            action: { type: 'EXPIRE' },
            appliedRulePriority: 2
          }
        ],
        nextToken: 'page-2'
      })
      .resolvesOnce({
        status: 'COMPLETE',
        previewResults: [
          {
            imageDigest: 'sha256:b',
            action: { type: 'TRANSITION', targetStorageClass: 'ARCHIVE' },
            appliedRulePriority: 3,
            storageClass: 'STANDARD'
          }
        ]
      })
    const preview = await retention().previewLifecycle(repository, 30_000)
    expect(preview).toEqual({
      policyText: '{"rules":[]}',
      expiring: [
        { digest: 'sha256:a', tags: ['ci-1'], rulePriority: 2, action: 'expire' },
        { digest: 'sha256:b', tags: [], rulePriority: 3, action: 'transition' }
      ]
    })
    expect(ecrMock.commandCalls(GetLifecyclePolicyPreviewCommand)[2]!.args[0].input.nextToken).toBe(
      'page-2'
    )
  })

  it('waits for a preview another run started, and gives up after the wait', async () => {
    ecrMock
      .on(StartLifecyclePolicyPreviewCommand)
      .rejects(new LifecyclePolicyPreviewInProgressException({ message: 'busy', $metadata: {} }))
    ecrMock.on(GetLifecyclePolicyPreviewCommand).resolves({ status: 'IN_PROGRESS' })
    expect(await retention().previewLifecycle(repository, 0)).toBeUndefined()
  })

  it('ends a poll that hangs at the limit, with the abort signal handed to the SDK call', async () => {
    ecrMock.on(StartLifecyclePolicyPreviewCommand).resolves({ status: 'IN_PROGRESS' })
    // A GetLifecyclePolicyPreview whose answer never comes (a connection that hangs).
    ecrMock.on(GetLifecyclePolicyPreviewCommand).callsFake(() => new Promise(() => {}))
    const started = Date.now()
    expect(await retention().previewLifecycle(repository, 300)).toBeUndefined()
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(2_000)
    const [poll] = ecrMock.commandCalls(GetLifecyclePolicyPreviewCommand)
    // The SDK's send(command, options): the stub records both.
    const options = (poll?.args as unknown[] | undefined)?.[1] as
      { abortSignal?: AbortSignal } | undefined
    expect(options?.abortSignal?.aborted).toBe(true)
  })

  it('ends a start call that hangs at the limit too', async () => {
    ecrMock.on(StartLifecyclePolicyPreviewCommand).callsFake(() => new Promise(() => {}))
    const started = Date.now()
    expect(await retention().previewLifecycle(repository, 200)).toBeUndefined()
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(ecrMock.commandCalls(GetLifecyclePolicyPreviewCommand)).toHaveLength(0)
  })

  it('lists every image with its storage status, archived ones too, across pages', async () => {
    const pushedAt = new Date(Date.UTC(2026, 10, 1))
    const archivedAt = new Date(Date.UTC(2026, 11, 1))
    ecrMock
      .on(DescribeImagesCommand)
      .resolvesOnce({
        imageDetails: [{ imageDigest: 'sha256:a', imageTags: ['v1'], imagePushedAt: pushedAt }],
        nextToken: 'next'
      })
      .resolvesOnce({
        imageDetails: [
          {
            imageDigest: 'sha256:b',
            imageStatus: 'ARCHIVED',
            imagePushedAt: pushedAt,
            lastArchivedAt: archivedAt
          }
        ]
      })
    const images = await retention().images(repository)
    expect(images).toEqual([
      {
        digest: 'sha256:a',
        tags: ['v1'],
        status: 'ACTIVE',
        pushedAt: pushedAt.getTime(),
        lastPulledAt: undefined,
        archivedAt: undefined
      },
      {
        digest: 'sha256:b',
        tags: [],
        status: 'ARCHIVED',
        pushedAt: pushedAt.getTime(),
        lastPulledAt: undefined,
        archivedAt: archivedAt.getTime()
      }
    ])
    const calls = ecrMock.commandCalls(DescribeImagesCommand).map(call => call.args[0].input)
    // Without the filter, DescribeImages returns ACTIVE images only (DescribeImagesFilter).
    expect(calls.map(input => input.filter)).toEqual([
      { imageStatus: 'ANY' },
      { imageStatus: 'ANY' }
    ])
    expect(calls[1]?.nextToken).toBe('next')
  })
})

describe('version reader', () => {
  it('lists published versions (not $LATEST) across pages, with the aliases that point at each', async () => {
    lambdaMock
      .on(ListVersionsByFunctionCommand)
      .resolvesOnce({
        Versions: [
          { Version: '$LATEST', CodeSha256: 'aa' },
          { Version: '1', CodeSha256: 'bb' }
        ],
        NextMarker: 'm'
      })
      .resolvesOnce({ Versions: [{ Version: '2', CodeSha256: 'cc' }] })
    lambdaMock.on(ListAliasesCommand).resolves({
      Aliases: [
        {
          Name: 'live',
          FunctionVersion: '1',
          RoutingConfig: { AdditionalVersionWeights: { '2': 0.1 } }
        },
        { Name: 'beta', FunctionVersion: '2' }
      ]
    })
    const versions = await createVersionReader(
      new LambdaClient({ region: 'us-east-1' })
    ).publishedVersions('fn')
    expect(versions).toEqual([
      { version: '1', codeSha256: 'bb', aliases: ['live'] },
      { version: '2', codeSha256: 'cc', aliases: ['live', 'beta'] }
    ])
  })
})
