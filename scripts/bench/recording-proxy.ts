import http, { type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A pass-through HTTP proxy in front of the AWS stand-in that notes when each AWS request
 * arrives (epoch ms), so the bench can time the first call and the waiter's polls without any
 * change to the action or the stand-in. Headers go through untouched: the SigV4 signature
 * (which covers the host header) stays valid.
 */

export interface ObservedRequest {
  /** Date.now() when the request reached the proxy. */
  readonly at: number
  /** ECR: the X-Amz-Target operation; Lambda: the operation read from method and path. */
  readonly operation: string
  /** Date.now() when the answer had been sent back; unset while the request is open. */
  doneAt?: number
}

export interface RecordingProxy {
  readonly url: string
  readonly requests: ObservedRequest[]
  /** Requests that arrived at or after `since`. */
  since(since: number): ObservedRequest[]
  /**
   * Holds every request this long before passing it on: the round trip of an AWS API call from a
   * runner (0, the default, is loopback).
   */
  setRoundTrip(ms: number): void
  close(): Promise<void>
}

export async function startRecordingProxy(upstreamUrl: string): Promise<RecordingProxy> {
  const upstream = new URL(upstreamUrl)
  const requests: ObservedRequest[] = []
  let roundTripMs = 0
  const server = http.createServer((request, response) => {
    const observed: ObservedRequest = { at: Date.now(), operation: operationOf(request) }
    requests.push(observed)
    response.on('close', () => (observed.doneAt = Date.now()))
    if (roundTripMs > 0) {
      request.pause()
      setTimeout(() => forward(request, response), roundTripMs)
    } else {
      forward(request, response)
    }
  })
  const forward = (request: IncomingMessage, response: http.ServerResponse): void => {
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers
      },
      answer => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      }
    )
    forwarded.on('error', error => {
      if (!response.headersSent) response.writeHead(502)
      response.end(String(error))
    })
    request.pipe(forwarded)
    request.resume()
  }
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    since: since => requests.filter(request => request.at >= since),
    setRoundTrip: ms => (roundTripMs = ms),
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

const LAMBDA_ROUTES: [RegExp, string][] = [
  [/^PUT \/[^/]+\/functions\/[^/]+\/code$/, 'UpdateFunctionCode'],
  [/^GET \/[^/]+\/functions\/[^/]+\/configuration$/, 'GetFunctionConfiguration'],
  [/^GET \/[^/]+\/functions\/[^/]+$/, 'GetFunction']
]

function operationOf(request: IncomingMessage): string {
  const target = request.headers['x-amz-target']
  if (typeof target === 'string') return target.split('.').pop() ?? target
  const line = `${request.method ?? 'GET'} ${(request.url ?? '/').split('?')[0]}`
  for (const [pattern, operation] of LAMBDA_ROUTES) if (pattern.test(line)) return operation
  return line
}

/**
 * How many of these requests had to wait for one another: the most that can be picked with no
 * two open at the same time (earliest answer first). Requests sent side by side count once, so
 * this is the number of AWS round trips a run spends in sequence.
 */
export function sequentialRoundTrips(requests: readonly ObservedRequest[]): number {
  let count = 0
  let freeAt = -Infinity
  const byAnswer = [...requests].sort((a, b) => (a.doneAt ?? a.at) - (b.doneAt ?? b.at))
  for (const request of byAnswer) {
    if (request.at < freeAt) continue
    count += 1
    freeAt = request.doneAt ?? request.at
  }
  return count
}
