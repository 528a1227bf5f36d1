import { describe, expect, it } from '@jest/globals'
import { LambdaClient } from '@aws-sdk/client-lambda'
import { createFunctionInvoker } from '../../src/adapters/lambda-invoke.js'
import type { FunctionFacts } from '../../src/adapters/lambda.js'
import type { VerifySettings } from '../../src/domain/verify-settings.js'
import type { DeployTarget } from '../../src/steps/resolve-target.js'
import { verifyBeforeTraffic } from '../../src/steps/verify-invoke.js'

/**
 * The verify invoke stops on cancel (issue 24 item 5). Its own file: the SDK's request handler
 * is what honours an abort signal, so the client here is a real one with a handler that holds
 * every request (aws-sdk-client-mock, used by verify-invoke.test.ts, replaces send and never
 * sees the signal).
 */

const fn = {
  arn: 'arn:aws:lambda:us-east-1:111111111111:function:orders',
  name: 'orders',
  // The call's own limit is this plus a minute: far beyond the test's 5 s.
  timeout: 30,
  environment: {}
} as unknown as FunctionFacts
const target = { function: fn, region: 'us-east-1' } as unknown as DeployTarget
const settings: VerifySettings = {
  label: 'verify-event (inline)',
  payload: '{}',
  expect: { kind: 'any', source: 'default' }
} as VerifySettings

/** A Lambda client whose requests never get an answer; aborting one rejects it as the SDK's
 * own handlers do (an AbortError). */
function holdingClient(): { client: LambdaClient; requests: () => number } {
  let requests = 0
  const client = new LambdaClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 1,
    requestHandler: {
      handle: (_request: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          requests += 1
          const timer = setTimeout(() => reject(new Error('answered too late')), 60_000)
          timer.unref()
          options?.abortSignal?.addEventListener('abort', () => {
            clearTimeout(timer)
            reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }))
          })
        })
    }
  })
  return { client, requests: () => requests }
}

describe('a verify invoke and the job being cancelled', () => {
  it('abandons the call at once when the job is cancelled, instead of waiting for the answer', async () => {
    const { client, requests } = holdingClient()
    const controller = new AbortController()
    const check = verifyBeforeTraffic(target, settings, createFunctionInvoker(client), [], () => {})
    const started = Date.now()
    const pending = check({ version: '4', signal: controller.signal })
    setTimeout(() => controller.abort(new Error('the job was cancelled (SIGTERM)')), 100)
    const verdict = await pending
    expect(requests()).toBe(1)
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(verdict.ok).toBe(false)
    expect(verdict.reason).toContain('[verify-invoke-cancelled]')
    client.destroy()
  })

  it('is not abandoned by a signal that does not abort', async () => {
    const { client } = holdingClient()
    const invoker = createFunctionInvoker(client)
    const outcome = await Promise.race([
      invoker
        .invoke({
          functionName: fn.arn,
          qualifier: '4',
          payload: '{}',
          timeoutMs: 60_000,
          signal: new AbortController().signal
        })
        .then(
          () => 'answered',
          () => 'abandoned'
        ),
      new Promise(resolve => setTimeout(() => resolve('still waiting'), 300))
    ])
    expect(outcome).toBe('still waiting')
    client.destroy()
  })
})
