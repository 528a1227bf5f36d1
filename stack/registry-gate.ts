import { readFileSync } from 'node:fs'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import { GATE_HEADER, REGISTRY_TOKEN_PREFIX, issuerPort } from './stand-in/registry-tokens.js'
import { REGISTRY_TOKEN_EXPIRED, REGISTRY_UNAUTHORIZED_CODE } from './stand-in/iam-wording.js'
import type { RegistryVerdict } from './stand-in/registry-authorization.js'
import topology from './topology.json' with { type: 'json' }

/**
 * The registry gate: an HTTPS reverse proxy on an ECR registry's own name and address, in front
 * of the Debian docker-registry that stores the images (stack/setup.sh runs one gate for every
 * ECR registry of topology.json, and moves the registries to a back-end port).
 *
 * ECR authorizes each docker request as the IAM principal whose GetAuthorizationToken password it
 * carries (blob GET as ecr:GetDownloadUrlForLayer, manifest GET/HEAD as ecr:BatchGetImage, the
 * upload requests as the upload actions). The registry itself knows one htpasswd user, so the
 * gate asks the stand-in that issued the token (its port is in the token) and, when allowed,
 * forwards the request with the registry's own password; a refusal is answered in the
 * registry's error format (`denied: User: ... is not authorized to perform: ...`).
 *
 * Requests with the registry's own password (the stand-in's internal reads, tests that seed
 * images, stand-ins that hand that password out) and requests without credentials (docker's
 * first `GET /v2/`, answered with the registry's Basic challenge) pass unchanged.
 */

export interface GateOptions {
  readonly listen: { readonly ip: string; readonly port: number }
  /** The registry behind the gate: its name (for TLS) and where it listens. */
  readonly upstream: { readonly host: string; readonly ip: string; readonly port: number }
  readonly stateDir?: string
  /** Where the stand-ins listen; default topology.json's standIn.host. */
  readonly standInHost?: string
  /** The gate's own certificate; default the registries' (which names every ECR host). */
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer }
}

export interface RegistryGate {
  /** Requests the gate decided (allowed or refused) by asking a stand-in. */
  decisions(): number
  close(): Promise<void>
}

export { GATE_HEADER }
const ASK_TIMEOUT_MS = 5000

export async function startRegistryGate(options: GateOptions): Promise<RegistryGate> {
  const stateDir = options.stateDir ?? topology.stateDir
  const standInHost = options.standInHost ?? topology.standIn.host
  const key = options.tls?.key ?? readFileSync(path.join(stateDir, 'registry.key'))
  const cert = options.tls?.cert ?? readFileSync(path.join(stateDir, 'registry.crt'))
  const ca = readFileSync(path.join(stateDir, 'ca.crt'))
  let decided = 0

  const registryAuthorization = () => {
    const password = readFileSync(path.join(stateDir, 'registry-password'), 'utf8').trim()
    return `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`
  }

  const forward = (
    request: IncomingMessage,
    response: ServerResponse,
    authorization?: string
  ): void => {
    const headers = { ...request.headers }
    if (authorization) headers.authorization = authorization
    const upstream = https.request(
      {
        host: options.upstream.ip,
        port: options.upstream.port,
        servername: options.upstream.host,
        ca,
        method: request.method,
        path: request.url,
        headers
      },
      answer => {
        response.writeHead(answer.statusCode ?? 502, { ...answer.headers, [GATE_HEADER]: '1' })
        answer.pipe(response)
      }
    )
    upstream.on('error', error => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' })
      response.end(`registry gate: the registry failed: ${error.message}`)
    })
    // A client that gives up (or close() ending its connection) must not leave the upstream
    // request waiting for a body that never comes: the registry would keep it, and with it this
    // process, open.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy()
    })
    request.pipe(upstream)
  }

  const ask = async (token: string, request: IncomingMessage): Promise<RegistryVerdict> => {
    const port = issuerPort(token)
    const unauthorized: RegistryVerdict = {
      allowed: false,
      status: 401,
      code: REGISTRY_UNAUTHORIZED_CODE,
      message: REGISTRY_TOKEN_EXPIRED
    }
    if (port === undefined) return unauthorized
    try {
      const answer = await fetch(`http://${standInHost}:${port}/_stand-in/registry-authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token,
          host: request.headers.host ?? '',
          method: request.method ?? 'GET',
          path: request.url ?? '/'
        }),
        signal: AbortSignal.timeout(ASK_TIMEOUT_MS)
      })
      if (!answer.ok) return unauthorized
      return (await answer.json()) as RegistryVerdict
    } catch {
      // The stand-in that issued the token is gone: its tokens are no longer valid.
      return unauthorized
    }
  }

  const server = https.createServer({ key, cert }, (request, response) => {
    const token = tokenOf(request.headers.authorization)
    if (token === undefined) return forward(request, response)
    decided += 1
    ask(token, request).then(
      verdict => {
        if (verdict.allowed) return forward(request, response, registryAuthorization())
        refuse(request, response, verdict.status, verdict.code, verdict.message, options)
      },
      (error: unknown) =>
        refuse(request, response, 500, 'UNKNOWN', `registry gate: ${String(error)}`, options)
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.listen.port, options.listen.ip, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    decisions: () => decided,
    close: () =>
      new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** The stand-in token in a Basic `AWS:TOKEN` header; undefined for anything else. */
export function tokenOf(authorization: string | undefined): string | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(authorization ?? '')
  if (!match) return undefined
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8')
  const token = decoded.startsWith('AWS:') ? decoded.slice('AWS:'.length) : ''
  return token.startsWith(REGISTRY_TOKEN_PREFIX) ? token : undefined
}

/** A refusal as the registry API answers one (Docker Registry HTTP API V2, "Errors"). */
function refuse(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  options: GateOptions
): void {
  request.resume()
  const body = JSON.stringify({ errors: [{ code, message, detail: null }] })
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'docker-distribution-api-version': 'registry/2.0',
    [GATE_HEADER]: '1',
    ...(status === 401
      ? {
          'www-authenticate': `Basic realm="https://${options.upstream.host}/",service="ecr.amazonaws.com"`
        }
      : {})
  })
  response.end(body)
}
