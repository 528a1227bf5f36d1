import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import {
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  PutLifecyclePolicyCommand,
  StartLifecyclePolicyPreviewCommand,
  type ECRClient
} from '@aws-sdk/client-ecr'
import { PREVIEW_DURATION_MS } from '../../stack/stand-in/ecr-lifecycle.js'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** The stand-in's lifecycle policy operations through the real SDK (ECR API reference pages of
 * GetLifecyclePolicy, PutLifecyclePolicy, StartLifecyclePolicyPreview, GetLifecyclePolicyPreview). */

const ACCOUNT = '111111111111'
const REGION = 'us-east-1'
const HOST = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let ecr: ECRClient
let unique = 0
let name = ''

const keepOne = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'keep one',
      selection: {
        tagStatus: 'tagged',
        tagPatternList: ['v*'],
        countType: 'imageCountMoreThan',
        countNumber: 1
      },
      action: { type: 'expire' }
    }
  ]
})

beforeAll(async () => {
  registry = new MemoryRegistry('the-registry-password')
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  ecr = clientsFor(standIn.url, ACCOUNT).ecr
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  unique += 1
  name = `lifecycle-${unique}`
  await control.createRepository({ account: ACCOUNT, region: REGION, name })
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

describe('lifecycle policies in the stand-in', () => {
  it('answers LifecyclePolicyNotFoundException for a repository without one, then stores one', async () => {
    const error = await caught(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name })))
    expect(error.name).toBe('LifecyclePolicyNotFoundException')
    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: keepOne })
    )
    const answer = await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name }))
    expect(answer.lifecyclePolicyText).toBe(keepOne)
  })

  it('refuses a policy ECR would refuse with InvalidParameterException', async () => {
    const bad = keepOne.replace('"tagged"', '"sometimes"')
    const error = await caught(
      ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: bad }))
    )
    expect(error.name).toBe('InvalidParameterException')
    expect(error.message).toContain('tagStatus')
  })

  it('previews asynchronously: IN_PROGRESS, then COMPLETE with the older image expired by its rule', async () => {
    const older = registry.pushImage(HOST, name, { tag: 'v1', label: 'one' })
    await ecr.send(
      new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: keepOne })
    )
    // The first preview sees v1 alone (and records when it was first seen).
    await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    await sleep(PREVIEW_DURATION_MS + 50)
    registry.pushImage(HOST, name, { tag: 'v2', label: 'two' })
    const started = await ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    expect(started.status).toBe('IN_PROGRESS')
    const busy = await caught(
      ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    )
    expect(busy.name).toBe('LifecyclePolicyPreviewInProgressException')
    const running = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: name }))
    expect(running.status).toBe('IN_PROGRESS')
    expect(running.previewResults).toEqual([])
    await sleep(PREVIEW_DURATION_MS + 50)
    const done = await ecr.send(new GetLifecyclePolicyPreviewCommand({ repositoryName: name }))
    expect(done.status).toBe('COMPLETE')
    expect(done.previewResults).toEqual([
      expect.objectContaining({
        imageDigest: older,
        imageTags: ['v1'],
        action: { type: 'EXPIRE' },
        appliedRulePriority: 1
      })
    ])
    expect(done.summary?.expiringImageTotalCount).toBe(1)
  })

  it('answers LifecyclePolicyNotFoundException when there is no policy to preview', async () => {
    const error = await caught(
      ecr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: name }))
    )
    expect(error.name).toBe('LifecyclePolicyNotFoundException')
  })
})
