import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import path from 'node:path'
import { Server as TlsServer } from 'node:tls'
import topology from './topology.json' with { type: 'json' }

/**
 * A fault-injecting HTTPS proxy in front of one of the stack's real registries, for the
 * fault-injection e2e suite (registry 5xx and connection resets during `docker push`).
 *
 * The registries are shared by everything running on the machine, so the proxy does not sit on a
 * registry's own name: it answers for an alias, the same ECR hostname with the `.amazonaws.com.cn`
 * suffix (ACCOUNT.dkr.ecr.REGION.amazonaws.com.cn). The action and the stand-in read that name as
 * the same account and region, so a push through the alias lands in the same registry storage that
 * the stand-in's ECR and Lambda read. Only a test that names the alias in `repository` goes through
 * the proxy; every other push is untouched.
 *
 * Set-up (idempotent, needs root like stack/setup.sh): a hosts entry for the alias outside the
 * stack's block, a certificate for it signed by the stack's CA, and the CA in
 * /etc/docker/certs.d/ALIAS/ (the engine reads that directory per connection; no restart).
 *
 * Faults are rules: the first `times` requests whose method and path match either get an HTTP
 * status (5xx or 429, with a registry-style JSON error body), have their connection reset, or are
 * never answered (a stalled registry). Everything else is forwarded unchanged, Host header
 * included, so the registry's upload URLs point back at the alias. Deterministic: a rule fires on the matching requests in order, never at random.
 */

export interface RegistryFault {
  readonly method: string
  /** Tested against the request path (with query). */
  readonly path: RegExp
  /** status: answer with an error; reset: drop the connection; stall: never answer. */
  readonly kind: 'status' | 'reset' | 'stall'
  /** kind status: the HTTP status to answer with (default 500). */
  readonly status?: number
  readonly times: number
}

export interface RegistryFaultProxy {
  /** The alias hostname to push to: REGISTRY_HOST.cn. */
  readonly host: string
  inject(fault: RegistryFault): void
  /** How many times the fault has fired so far. */
  fired(fault: RegistryFault): number
  close(): Promise<void>
}

export interface ProxyOptions {
  /** The real registry, as in stack/topology.json's ecrRegistries. */
  readonly upstream: { readonly host: string; readonly ip: string }
  /** A free loopback address for the alias (the stack uses 127.0.0.11-20). */
  readonly listenIp: string
  readonly stateDir?: string
}

interface ArmedFault {
  readonly fault: RegistryFault
  fired: number
}

export async function startRegistryFaultProxy(options: ProxyOptions): Promise<RegistryFaultProxy> {
  const stateDir = options.stateDir ?? topology.stateDir
  const host = `${options.upstream.host}.cn`
  const tls = ensureAlias(host, options.listenIp, stateDir)
  const ca = readFileSync(path.join(stateDir, 'ca.crt'))
  const armed: ArmedFault[] = []

  const take = (request: IncomingMessage): RegistryFault | undefined => {
    const found = armed.find(
      entry =>
        entry.fired < entry.fault.times &&
        entry.fault.method === request.method &&
        entry.fault.path.test(request.url ?? '')
    )
    if (!found) return undefined
    found.fired += 1
    return found.fault
  }

  const forward = (request: IncomingMessage, response: ServerResponse): void => {
    const upstream = https.request(
      {
        host: options.upstream.ip,
        port: 443,
        servername: options.upstream.host,
        ca,
        method: request.method,
        path: request.url,
        headers: request.headers
      },
      answer => {
        response.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(response)
      }
    )
    upstream.on('error', error => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' })
      response.end(`fault proxy: upstream failed: ${error.message}`)
    })
    // A client that gives up (or close() ending its connection) must not leave the upstream
    // request waiting for a body that never comes: the registry would keep it, and with it this
    // process, open.
    response.on('close', () => {
      if (!response.writableFinished) upstream.destroy()
    })
    request.pipe(upstream)
  }

  const server = https.createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
    const fault = take(request)
    if (!fault) return forward(request, response)
    if (fault.kind === 'reset') {
      // An RST needs the TCP socket under TLS; the TLS socket's own handle cannot be reset
      // ("This handle type cannot be sent"), so a plain close is the fallback.
      const socket = request.socket as typeof request.socket & {
        _parent?: { resetAndDestroy?: () => void }
      }
      try {
        socket._parent?.resetAndDestroy?.()
      } catch {
        // Already closed by the peer: the destroy below is all that is left to do.
      } finally {
        socket.destroy()
      }
      return
    }
    // Drain the request first, so the client reads the answer rather than a broken pipe.
    request.resume()
    // A registry that stops answering: the request is read and left open until the client
    // gives up (or close() ends every connection).
    if (fault.kind === 'stall') return
    request.on('end', () => {
      const body = JSON.stringify({
        errors: [{ code: 'UNKNOWN', message: 'fault proxy: injected server error', detail: null }]
      })
      response.writeHead(fault.status ?? 500, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'docker-distribution-api-version': 'registry/2.0'
      })
      response.end(body)
    })
  })
  // Every connection, by its TCP socket: close() ends them itself (see there).
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `${options.listenIp}:443 is taken: another fault suite is running on this machine (one at a time).`
            )
          : error
      )
    )
    server.listen(443, options.listenIp, () => resolve())
  })

  return {
    host,
    inject: fault => {
      armed.push({ fault, fired: 0 })
    },
    fired: fault => armed.find(entry => entry.fault === fault)?.fired ?? 0,
    close: () =>
      new Promise<void>((resolve, reject) => {
        const closed = (error?: Error) => (error ? reject(error) : resolve())
        try {
          server.close(closed)
        } catch {
          // After a reset, Node 20's https close() trips over the reset connection (its
          // closeIdleConnections reads a null socket) before it closes the listener, which then
          // stays open and keeps the test process alive: close the listener itself.
          TlsServer.prototype.close.call(server, closed)
        }
        // Not closeAllConnections(): it trips over the same connection.
        for (const socket of sockets) socket.destroy()
      })
  }
}

/** Hosts entry, certificate and engine trust for the alias; does nothing when all are there. */
export function ensureAlias(
  host: string,
  ip: string,
  stateDir: string
): { key: Buffer; cert: Buffer } {
  const dir = path.join(stateDir, 'fault-proxy', host)
  const keyFile = path.join(dir, 'proxy.key')
  const certFile = path.join(dir, 'proxy.crt')
  if (!existsSync(certFile)) {
    mkdirSync(dir, { recursive: true })
    const csr = path.join(dir, 'proxy.csr')
    const ext = path.join(dir, 'proxy.ext')
    execFileSync(
      'openssl',
      [
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        `/CN=${host}`,
        '-keyout',
        keyFile,
        '-out',
        csr
      ],
      { stdio: 'pipe' }
    )
    writeFileSync(ext, `subjectAltName=DNS:${host}\nextendedKeyUsage=serverAuth\n`)
    execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        path.join(stateDir, 'ca.crt'),
        '-CAkey',
        path.join(stateDir, 'ca.key'),
        '-CAcreateserial',
        '-days',
        '3650',
        '-extfile',
        ext,
        '-out',
        certFile
      ],
      { stdio: 'pipe' }
    )
  }
  const certsDir = path.join('/etc/docker/certs.d', host)
  if (!existsSync(path.join(certsDir, 'ca.crt'))) {
    mkdirSync(certsDir, { recursive: true })
    writeFileSync(path.join(certsDir, 'ca.crt'), readFileSync(path.join(stateDir, 'ca.crt')))
  }
  const hosts = readFileSync('/etc/hosts', 'utf8')
  const line = `${ip} ${host}`
  if (!hosts.split('\n').includes(line)) {
    // /etc/hosts may be a bind mount: append in place, outside the stack's own block.
    writeFileSync('/etc/hosts', `${hosts.endsWith('\n') ? hosts : `${hosts}\n`}${line}\n`)
  }
  return { key: readFileSync(keyFile), cert: readFileSync(certFile) }
}
