import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { InvokeCommand, UpdateFunctionCodeCommand, type LambdaClient } from '@aws-sdk/client-lambda'
import { StandInControl } from '../../stack/stand-in/control-client.js'
import { logTail } from '../../stack/stand-in/lambda-invoke.js'
import { matchLambdaRoute } from '../../stack/stand-in/lambda-routes.js'
import { MemoryRegistry } from '../../stack/stand-in/memory-registry.js'
import { clientsFor } from '../../stack/stand-in/sdk-clients.js'
import { startStandIn, type StandIn } from '../../stack/stand-in/server.js'

/** The stand-in's Invoke up to the point where it would run the image (the e2e suite
 * verify-invoke runs images): route, IAM action, and the refusals that come before a run. */

const TOOLING = '111111111111'
const REGION = 'us-east-1'
const HOST = `${TOOLING}.dkr.ecr.${REGION}.amazonaws.com`
const DEPLOYER = `arn:aws:iam::${TOOLING}:user/stand-in`

let standIn: StandIn
let control: StandInControl
let registry: MemoryRegistry
let lambda: LambdaClient
let unique = 0

beforeAll(async () => {
  registry = new MemoryRegistry()
  standIn = await startStandIn({ port: 0, registry })
  control = new StandInControl(standIn.url)
  lambda = clientsFor(standIn.url, TOOLING).lambda
})

afterAll(async () => {
  await standIn.close()
})

beforeEach(async () => {
  await control.reset()
})

async function seed(): Promise<string> {
  unique += 1
  const name = `invoke-${unique}`
  await control.createFunction({ account: TOOLING, region: REGION, name, packageType: 'Image' })
  return name
}

async function caught(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the call to fail')
}

const invoke = (name: string, payload = '{}') =>
  lambda.send(
    new InvokeCommand({ FunctionName: name, LogType: 'Tail', Payload: Buffer.from(payload) })
  )

describe('Invoke in the stand-in', () => {
  it('is routed at POST .../invocations', () => {
    expect(matchLambdaRoute('POST', '/2015-03-31/functions/orders/invocations')).toEqual({
      operation: 'Invoke',
      functionName: 'orders',
      aliasName: undefined
    })
  })

  it('refuses a Pending function with ResourceConflictException, as Lambda does', async () => {
    const name = await seed()
    await control.setFunctionState({
      account: TOOLING,
      region: REGION,
      name,
      state: 'Pending',
      pendingMs: 60_000
    })
    const error = await caught(invoke(name))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toContain('currently in the following state: Pending')
  })

  it('refuses an Inactive function (Lambda fails the call and starts restoring it)', async () => {
    const name = await seed()
    await control.setFunctionState({ account: TOOLING, region: REGION, name, state: 'Inactive' })
    const error = await caught(invoke(name))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toContain('Inactive')
  })

  it('refuses while an update is in progress (stricter than Lambda, which runs the old code)', async () => {
    const name = await seed()
    await control.createRepository({
      account: TOOLING,
      region: REGION,
      name,
      // Lambda's pull grant in its own account (Knowledge Center "lambda-ecr-image").
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
    const digest = registry.pushImage(HOST, name, { tag: 'v1', label: name })
    await control.setUpdateDelay(60_000)
    await lambda.send(
      new UpdateFunctionCodeCommand({ FunctionName: name, ImageUri: `${HOST}/${name}@${digest}` })
    )
    const error = await caught(invoke(name))
    expect(error.name).toBe('ResourceConflictException')
    expect(error.message).toContain('An update is in progress')
  })

  it('refuses an event that is not JSON with InvalidRequestContentException', async () => {
    const name = await seed()
    const error = await caught(invoke(name, '{not json'))
    expect(error.name).toBe('InvalidRequestContentException')
  })

  it('needs lambda:InvokeFunction, not lambda:Invoke', async () => {
    const name = await seed()
    await control.setIdentityPolicies(DEPLOYER, {
      others: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'lambda:GetFunction', Resource: '*' }]
      }
    })
    const error = await caught(invoke(name))
    expect(error.name).toBe('AccessDeniedException')
    expect(error.message).toContain('lambda:InvokeFunction')
  })
})

describe('logTail', () => {
  it('is the base64 of the log, whole when it is short', () => {
    expect(Buffer.from(logTail(['START', 'END']), 'base64').toString()).toBe('START\nEND\n')
  })

  it('keeps the last 4 KB of a longer log, as Lambda does', () => {
    const lines = Array.from({ length: 1000 }, (_, index) => `line ${index}`)
    const tail = Buffer.from(logTail(lines), 'base64')
    expect(tail.length).toBe(4096)
    expect(tail.toString().endsWith('line 999\n')).toBe(true)
  })
})
