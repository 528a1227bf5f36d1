import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import {
  startRuntimeApi,
  type Invocation,
  type RuntimeApi
} from '../../src/adapters/runtime-api-server.js'
import { MAX_SYNC_PAYLOAD_BYTES } from '../../src/domain/lambda-runtime.js'

/**
 * The server on loopback, with this test as the runtime: fetch() plays what aws-lambda-ric or a
 * custom bootstrap does in the container.
 */
let api: RuntimeApi
const base = () => `http://${api.address}/2018-06-01/runtime`
const invocation: Invocation = {
  payload: '{"name":"test"}',
  timeoutMs: 5000,
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:111111111111:function:fn'
}

beforeEach(async () => {
  api = await startRuntimeApi('127.0.0.1')
})

afterEach(async () => {
  await api.close()
})

/** Long-polls /next, as a runtime does, and returns the event with its request id. */
async function next(): Promise<{ id: string; headers: Headers; body: string }> {
  const response = await fetch(`${base()}/invocation/next`)
  expect(response.status).toBe(200)
  return {
    id: response.headers.get('lambda-runtime-aws-request-id') ?? '',
    headers: response.headers,
    body: await response.text()
  }
}

function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}) {
  return fetch(`${base()}${path}`, { method: 'POST', body, headers })
}

describe('the Runtime API server', () => {
  it('gives its address as host:port for AWS_LAMBDA_RUNTIME_API', () => {
    expect(api.address).toMatch(/^127\.0\.0\.1:\d+$/)
  })

  it('holds /next open until an event is queued, then delivers it with Lambda headers', async () => {
    const before = Date.now()
    const polled = next()
    let answered = false
    void polled.then(() => (answered = true))
    await new Promise(resolve => setTimeout(resolve, 100))
    expect(answered).toBe(false)

    const result = api.invoke(invocation)
    const event = await polled
    expect(event.body).toBe('{"name":"test"}')
    expect(event.headers.get('content-type')).toBe('application/json')
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(event.headers.get('lambda-runtime-invoked-function-arn')).toBe(
      invocation.invokedFunctionArn
    )
    const deadline = Number(event.headers.get('lambda-runtime-deadline-ms'))
    expect(deadline).toBeGreaterThanOrEqual(before + 5000)
    expect(deadline).toBeLessThanOrEqual(Date.now() + 5000)
    expect(event.headers.get('lambda-runtime-trace-id')).toMatch(
      /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/
    )
    expect(event.headers.has('lambda-runtime-client-context')).toBe(false)
    expect(event.headers.has('lambda-runtime-cognito-identity')).toBe(false)

    await post(`/invocation/${event.id}/response`, '{}')
    await expect(result).resolves.toMatchObject({ kind: 'response' })
  })

  it('sends client context and Cognito identity headers only when the invocation has them', async () => {
    void api.invoke({ ...invocation, clientContext: '{"client":{}}', cognitoIdentity: '{"id":1}' })
    const event = await next()
    expect(event.headers.get('lambda-runtime-client-context')).toBe('{"client":{}}')
    expect(event.headers.get('lambda-runtime-cognito-identity')).toBe('{"id":1}')
  })

  it('resolves `initialized` at the first /next: the end of the init phase', async () => {
    let initialized = false
    void api.initialized.then(() => (initialized = true))
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(initialized).toBe(false)
    const polled = next()
    await api.initialized
    void api.invoke(invocation)
    await polled
  })

  it('accepts a response with 202 and resolves the invocation with its body', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    const answer = await post(`/invocation/${id}/response`, '{"statusCode":200}')
    expect(answer.status).toBe(202)
    expect(await answer.json()).toEqual({ status: 'OK' })
    await expect(result).resolves.toEqual({
      kind: 'response',
      requestId: id,
      body: '{"statusCode":200}'
    })
  })

  it('delivers queued events one per /next, in order', async () => {
    const first = api.invoke({ ...invocation, payload: '1' })
    const second = api.invoke({ ...invocation, payload: '2' })
    const a = await next()
    await post(`/invocation/${a.id}/response`, 'one')
    const b = await next()
    await post(`/invocation/${b.id}/response`, 'two')
    expect([a.body, b.body]).toEqual(['1', '2'])
    await expect(first).resolves.toMatchObject({ body: 'one' })
    await expect(second).resolves.toMatchObject({ body: 'two' })
  })

  it('reads errorType and errorMessage from an error post', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    const body = JSON.stringify({
      errorType: 'OrderNotFound',
      errorMessage: 'order 42 does not exist',
      stackTrace: ['at handler']
    })
    const answer = await post(`/invocation/${id}/error`, body, {
      'Content-Type': 'application/vnd.aws.lambda.error+json'
    })
    expect(answer.status).toBe(202)
    await expect(result).resolves.toEqual({
      kind: 'error',
      requestId: id,
      errorType: 'OrderNotFound',
      errorMessage: 'order 42 does not exist',
      body
    })
  })

  it('takes the error type from Lambda-Runtime-Function-Error-Type when the body has none', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    await post(`/invocation/${id}/error`, 'segfault in handler', {
      'Lambda-Runtime-Function-Error-Type': 'Runtime.ExitError'
    })
    await expect(result).resolves.toMatchObject({
      kind: 'error',
      errorType: 'Runtime.ExitError',
      errorMessage: 'segfault in handler'
    })
  })

  it('answers 400 to a response for a request id it never delivered', async () => {
    const answer = await post('/invocation/not-a-request/response', '{}')
    expect(answer.status).toBe(400)
    expect(await answer.json()).toMatchObject({ errorType: 'InvalidRequestID' })
  })

  it('answers 403 to a second answer for the same invocation, keeping the first', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    expect((await post(`/invocation/${id}/response`, 'first')).status).toBe(202)
    const again = await post(`/invocation/${id}/error`, '{}')
    expect(again.status).toBe(403)
    expect(await again.json()).toMatchObject({ errorType: 'InvalidStateTransition' })
    await expect(result).resolves.toMatchObject({ kind: 'response', body: 'first' })
  })

  it('answers 413 to a response over 6 MB and reports Function.ResponseSizeTooLarge', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    const answer = await post(
      `/invocation/${id}/response`,
      new Uint8Array(MAX_SYNC_PAYLOAD_BYTES + 1).fill(0x20)
    )
    expect(answer.status).toBe(413)
    await expect(result).resolves.toMatchObject({
      kind: 'error',
      errorType: 'Function.ResponseSizeTooLarge'
    })
  })

  it('accepts a response of exactly 6 MB', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    const answer = await post(
      `/invocation/${id}/response`,
      new Uint8Array(MAX_SYNC_PAYLOAD_BYTES).fill(0x20)
    )
    expect(answer.status).toBe(202)
    const settled = await result
    expect(settled.kind === 'response' && settled.body.length).toBe(MAX_SYNC_PAYLOAD_BYTES)
  })

  it('resolves initError with the posted error during init, with 202', async () => {
    const answer = await post(
      '/init/error',
      '{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module index"}',
      { 'Lambda-Runtime-Function-Error-Type': 'Runtime.Unknown' }
    )
    expect(answer.status).toBe(202)
    await expect(api.initError).resolves.toMatchObject({
      errorType: 'Runtime.ImportModuleError',
      errorMessage: 'Cannot find module index'
    })
  })

  it('answers 403 to an init error once init is over', async () => {
    const result = api.invoke(invocation)
    const { id } = await next()
    const answer = await post('/init/error', '{"errorType":"Late"}')
    expect(answer.status).toBe(403)
    await post(`/invocation/${id}/response`, '{}')
    await result
  })

  it('times an invocation out at its deadline, and refuses a late answer with 403', async () => {
    const result = api.invoke({ ...invocation, timeoutMs: 200 })
    const { id } = await next()
    await expect(result).resolves.toEqual({ kind: 'timeout', requestId: id, delivered: true })
    expect((await post(`/invocation/${id}/response`, '{}')).status).toBe(403)
  })

  it('times out an event no runtime asked for, saying it was never delivered', async () => {
    await expect(api.invoke({ ...invocation, timeoutMs: 100 })).resolves.toMatchObject({
      kind: 'timeout',
      delivered: false
    })
  })

  it('answers 404 outside the API and 405 to a wrong method', async () => {
    expect((await fetch(`http://${api.address}/2018-06-01/runtime/invocation`)).status).toBe(404)
    expect((await fetch(`http://${api.address}/healthz`)).status).toBe(404)
    const wrong = await post('/invocation/next', '')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET')
    expect((await fetch(`${base()}/init/error`)).status).toBe(405)
  })

  it('drops a held /next when it closes', async () => {
    const polled = fetch(`${base()}/invocation/next`)
    await new Promise(resolve => setTimeout(resolve, 50))
    await api.close()
    await expect(polled).rejects.toThrow()
    api = await startRuntimeApi('127.0.0.1')
  })
})
