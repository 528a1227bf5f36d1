import { randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  MAX_SYNC_PAYLOAD_BYTES,
  RESPONSE_TOO_LARGE_ERROR_TYPE,
  RUNTIME_API_PREFIX,
  RUNTIME_HEADERS
} from '../domain/lambda-runtime.js'

/**
 * The Lambda Runtime API (version 2018-06-01), served by the action so that a function's image can
 * be run locally the way Lambda runs it: the runtime in the container long-polls
 * `GET /runtime/invocation/next` for an event and posts the result to
 * `/runtime/invocation/{id}/response` or `/error`, or `/runtime/init/error` if it cannot start.
 * Status codes follow AWS's OpenAPI description of the API: 202 accepted, 400 for a request id
 * that is not an invocation, 403 for a post the invocation's state does not allow (a second
 * answer, an answer after the deadline, an init error after init), 413 for a response over the
 * payload quota; 404/405 for anything that is not part of the API.
 */
export interface RuntimeApi {
  /** `host:port`, the value of AWS_LAMBDA_RUNTIME_API. */
  readonly address: string
  /** Resolves at the runtime's first `GET /next`: the end of its init phase. */
  readonly initialized: Promise<void>
  /** Resolves when the runtime posts `/init/error` during init; never rejects. */
  readonly initError: Promise<RuntimeError>
  /**
   * Queues an event for the runtime's next `GET /next`. Resolves with the runtime's answer, or
   * with `timeout` when none came within `timeoutMs` of the call (Lambda's deadline).
   */
  invoke(invocation: Invocation): Promise<InvocationResult>
  /** Stops serving: held `/next` requests are dropped, pending deadlines cancelled. */
  close(): Promise<void>
}

export interface Invocation {
  /** The event, as the body of `/next` (JSON). */
  readonly payload: string
  readonly timeoutMs: number
  readonly invokedFunctionArn: string
  readonly clientContext?: string
  readonly cognitoIdentity?: string
}

export interface RuntimeError {
  readonly errorType: string
  readonly errorMessage: string
  /** The body as posted (UTF-8), which may hold a stack trace. */
  readonly body: string
}

export type InvocationResult =
  | { readonly kind: 'response'; readonly requestId: string; readonly body: string }
  | ({ readonly kind: 'error'; readonly requestId: string } & RuntimeError)
  | { readonly kind: 'timeout'; readonly requestId: string; readonly delivered: boolean }

/** Listens on `host` (any free port unless one is given). */
export async function startRuntimeApi(host: string, port = 0): Promise<RuntimeApi> {
  const api = new RuntimeApiServer()
  await api.listen(host, port)
  return api
}

interface PendingInvocation {
  readonly requestId: string
  readonly invocation: Invocation
  readonly deadlineMs: number
  readonly traceId: string
  readonly settle: (result: InvocationResult) => void
  readonly timer: NodeJS.Timeout
  delivered: boolean
  settled: boolean
}

const OK_BODY = JSON.stringify({ status: 'OK' })

class RuntimeApiServer implements RuntimeApi {
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch(error => {
      if (!response.headersSent) {
        reply(response, 500, { errorType: 'ServerError', errorMessage: String(error) })
      }
    })
  })
  private readonly queue: PendingInvocation[] = []
  private readonly invocations = new Map<string, PendingInvocation>()
  private readonly waiting = new Set<ServerResponse>()
  private initDone = false
  private markInitialized: () => void = () => undefined
  private reportInitError: (error: RuntimeError) => void = () => undefined
  private host = ''

  readonly initialized = new Promise<void>(resolve => (this.markInitialized = resolve))
  readonly initError = new Promise<RuntimeError>(resolve => (this.reportInitError = resolve))

  get address(): string {
    const { port } = this.server.address() as AddressInfo
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${port}`
  }

  async listen(host: string, port: number): Promise<void> {
    this.host = host
    // The runtime holds /next open between invocations; never time that connection out.
    this.server.requestTimeout = 0
    this.server.keepAliveTimeout = 0
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve()
      })
    })
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return new Promise(resolve => {
      const requestId = randomUUID()
      const pending: PendingInvocation = {
        requestId,
        invocation,
        deadlineMs: Date.now() + invocation.timeoutMs,
        traceId: traceHeader(),
        delivered: false,
        settled: false,
        settle: result => {
          if (pending.settled) return
          pending.settled = true
          clearTimeout(pending.timer)
          const queued = this.queue.indexOf(pending)
          if (queued >= 0) this.queue.splice(queued, 1)
          resolve(result)
        },
        timer: setTimeout(
          () => pending.settle({ kind: 'timeout', requestId, delivered: pending.delivered }),
          invocation.timeoutMs
        )
      }
      this.invocations.set(requestId, pending)
      this.queue.push(pending)
      this.deliver()
    })
  }

  async close(): Promise<void> {
    for (const pending of this.invocations.values()) clearTimeout(pending.timer)
    for (const response of this.waiting) response.destroy()
    this.waiting.clear()
    await new Promise<void>(resolve => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '').split('?')[0] ?? ''
    if (!path.startsWith(`${RUNTIME_API_PREFIX}/`)) return notFound(response, path)
    const route = path.slice(RUNTIME_API_PREFIX.length)

    if (route === '/invocation/next') {
      if (request.method !== 'GET') return methodNotAllowed(response, 'GET')
      request.resume()
      return this.next(response)
    }
    if (route === '/init/error') {
      if (request.method !== 'POST') return methodNotAllowed(response, 'POST')
      const body = await readBody(request)
      if (this.initDone) {
        return reply(response, 403, {
          errorType: 'InvalidStateTransition',
          errorMessage: 'init/error can only be posted before the first invocation/next.'
        })
      }
      reply(response, 202, undefined)
      this.reportInitError(runtimeError(request, body.text))
      return
    }
    const answer = /^\/invocation\/([^/]+)\/(response|error)$/.exec(route)
    if (answer) {
      if (request.method !== 'POST') return methodNotAllowed(response, 'POST')
      const requestId = decodeURIComponent(answer[1] ?? '')
      const body = await readBody(request)
      const pending = this.invocations.get(requestId)
      if (!pending?.delivered) {
        return reply(response, 400, {
          errorType: 'InvalidRequestID',
          errorMessage: `${requestId} is not an invocation this runtime received.`
        })
      }
      if (pending.settled) {
        return reply(response, 403, {
          errorType: 'InvalidStateTransition',
          errorMessage: `Invocation ${requestId} already has a result (an answer, or its deadline passed).`
        })
      }
      if (answer[2] === 'response') {
        if (body.tooLarge) {
          reply(response, 413, {
            errorType: 'RequestEntityTooLarge',
            errorMessage: `The response is over ${MAX_SYNC_PAYLOAD_BYTES} bytes.`
          })
          pending.settle({
            kind: 'error',
            requestId,
            errorType: RESPONSE_TOO_LARGE_ERROR_TYPE,
            errorMessage: `Response payload size (${body.size} bytes) exceeded maximum allowed payload size (${MAX_SYNC_PAYLOAD_BYTES} bytes).`,
            body: ''
          })
          return
        }
        reply(response, 202, undefined)
        pending.settle({ kind: 'response', requestId, body: body.text })
        return
      }
      reply(response, 202, undefined)
      pending.settle({ kind: 'error', requestId, ...runtimeError(request, body.text) })
      return
    }
    request.resume()
    return notFound(response, path)
  }

  private next(response: ServerResponse): void {
    if (!this.initDone) {
      this.initDone = true
      this.markInitialized()
    }
    this.waiting.add(response)
    response.on('close', () => this.waiting.delete(response))
    this.deliver()
  }

  /** Hands queued events to held `/next` requests, oldest first. */
  private deliver(): void {
    for (const response of this.waiting) {
      const pending = this.queue.shift()
      if (!pending) return
      this.waiting.delete(response)
      pending.delivered = true
      const { invocation } = pending
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        [RUNTIME_HEADERS.requestId]: pending.requestId,
        [RUNTIME_HEADERS.deadlineMs]: String(pending.deadlineMs),
        [RUNTIME_HEADERS.invokedFunctionArn]: invocation.invokedFunctionArn,
        [RUNTIME_HEADERS.traceId]: pending.traceId
      }
      if (invocation.clientContext !== undefined) {
        headers[RUNTIME_HEADERS.clientContext] = invocation.clientContext
      }
      if (invocation.cognitoIdentity !== undefined) {
        headers[RUNTIME_HEADERS.cognitoIdentity] = invocation.cognitoIdentity
      }
      response.writeHead(200, headers).end(invocation.payload)
    }
  }
}

interface Body {
  readonly text: string
  readonly size: number
  readonly tooLarge: boolean
}

/** Reads a request body, keeping at most the payload quota in memory. */
async function readBody(request: IncomingMessage): Promise<Body> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_SYNC_PAYLOAD_BYTES) chunks.push(chunk)
  }
  const tooLarge = size > MAX_SYNC_PAYLOAD_BYTES
  return { text: tooLarge ? '' : Buffer.concat(chunks).toString('utf8'), size, tooLarge }
}

/**
 * Runtimes post `{"errorMessage", "errorType", "stackTrace"}`; the API falls back on the
 * Lambda-Runtime-Function-Error-Type header when the body has no error type.
 */
function runtimeError(request: IncomingMessage, body: string): RuntimeError {
  let parsed: { errorType?: unknown; errorMessage?: unknown } = {}
  try {
    const value = JSON.parse(body) as unknown
    if (value !== null && typeof value === 'object') parsed = value
  } catch {
    // Not JSON: the body is the message.
  }
  const header = request.headers[RUNTIME_HEADERS.functionErrorType.toLowerCase()]
  const headerType = Array.isArray(header) ? header[0] : header
  return {
    errorType:
      typeof parsed.errorType === 'string' && parsed.errorType !== ''
        ? parsed.errorType
        : headerType || 'Unknown',
    errorMessage:
      typeof parsed.errorMessage === 'string' ? parsed.errorMessage : body.slice(0, 2000),
    body
  }
}

function reply(
  response: ServerResponse,
  status: number,
  error: { errorType: string; errorMessage: string } | undefined
): void {
  response
    .writeHead(status, { 'Content-Type': 'application/json' })
    .end(error ? JSON.stringify(error) : OK_BODY)
}

function notFound(response: ServerResponse, path: string): void {
  reply(response, 404, {
    errorType: 'NotFound',
    errorMessage: `${path} is not a path of the Lambda Runtime API ${RUNTIME_API_PREFIX}.`
  })
}

function methodNotAllowed(response: ServerResponse, allowed: string): void {
  response.setHeader('Allow', allowed)
  reply(response, 405, {
    errorType: 'MethodNotAllowed',
    errorMessage: `Use ${allowed} on this path.`
  })
}

/** An X-Ray trace header like Lambda's: Root=1-{epoch hex}-{96-bit id};Parent=...;Sampled=0. */
function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16)
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`
}
