import { execFileSync, spawn } from 'node:child_process'
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net, { type AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import topology from './topology.json' with { type: 'json' }

/**
 * A second door to the stack's public.ecr.aws registry that, like the real public.ecr.aws, wants
 * the anonymous Bearer token flow: a read-only Debian docker-registry on the same storage as the
 * one stack/setup.sh runs on public.ecr.aws:443 (so the same tags and digests), configured with
 * `auth: token`, and the token service it names as realm, which hands anyone a pull token (a JWT
 * signed by a key made here, whose certificate is the registry's rootcertbundle).
 * Both listen on public.ecr.aws's loopback address on free ports, with the stack's TLS
 * certificate; the 443 registry (no auth, which base-images.sh pushes to) is left alone.
 */

export interface TokenAuthRegistry {
  /** `public.ecr.aws:PORT`, to put in front of a repository name. */
  readonly host: string
  /** Token requests the token service has answered. */
  tokenRequests(): number
  close(): Promise<void>
}

const SERVICE = 'public.ecr.aws'
const ISSUER = 'lambda-image-deploy-stack-public-token'

export async function startTokenAuthPublicRegistry(): Promise<TokenAuthRegistry> {
  const state = process.env.LAMBDA_STACK_STATE_DIR ?? topology.stateDir
  const { host: name, ip } = topology.publicRegistry
  const work = mkdtempSync(path.join(os.tmpdir(), 'public-token-registry-'))
  const signerKey = path.join(work, 'signer.key')
  const signerCert = path.join(work, 'signer.crt')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=stand-in public token signer',
      '-keyout',
      signerKey,
      '-out',
      signerCert
    ],
    { stdio: 'ignore' }
  )
  const key = createPrivateKey(readFileSync(signerKey))
  const certDer = new X509Certificate(readFileSync(signerCert)).raw.toString('base64')

  let answered = 0
  const tokens = https.createServer(
    {
      key: readFileSync(path.join(state, 'registry.key')),
      cert: readFileSync(path.join(state, 'registry.crt'))
    },
    (req, res) => {
      const url = new URL(req.url ?? '/', `https://${name}`)
      if (url.pathname !== '/token/') {
        res.writeHead(404).end()
        return
      }
      answered += 1
      const access = url.searchParams
        .getAll('scope')
        .map(scope => /^repository:([^:]+):(.+)$/.exec(scope))
        .filter((match): match is RegExpExecArray => match !== null)
        // Anonymous callers may pull, nothing else (as on the real public.ecr.aws).
        .map(([, repository]) => ({ type: 'repository', name: repository, actions: ['pull'] }))
      const now = Math.floor(Date.now() / 1000)
      const token = jwt(key, certDer, {
        iss: ISSUER,
        sub: '',
        aud: url.searchParams.get('service') ?? SERVICE,
        iat: now,
        nbf: now - 60,
        exp: now + 300,
        jti: randomUUID(),
        access
      })
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ token }))
    }
  )
  await new Promise<void>(resolve => tokens.listen(0, ip, resolve))
  const tokenPort = (tokens.address() as AddressInfo).port

  const registryPort = await freePort(ip)
  const config = path.join(work, 'config.yml')
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log: { level: warn }',
      'storage:',
      `  filesystem: { rootdirectory: ${path.join(state, 'registries', name, 'data')} }`,
      '  maintenance: { readonly: { enabled: true } }',
      'http:',
      `  addr: ${ip}:${registryPort}`,
      `  tls: { certificate: ${path.join(state, 'registry.crt')}, key: ${path.join(state, 'registry.key')} }`,
      'auth:',
      '  token:',
      `    realm: https://${name}:${tokenPort}/token/`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${signerCert}`,
      ''
    ].join('\n')
  )
  const registry = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: 'ignore' })
  const host = `${name}:${registryPort}`
  const close = async () => {
    registry.kill()
    await new Promise<void>(resolve => tokens.close(() => resolve()))
    rmSync(work, { recursive: true, force: true })
  }
  for (let attempt = 0; ; attempt += 1) {
    const status = await fetch(`https://${host}/v2/`).then(
      response => response.status,
      () => 0
    )
    if (status === 401) break
    if (attempt > 50) {
      await close()
      throw new Error(`The token-auth registry on ${host} did not come up (last status ${status}).`)
    }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { host, tokenRequests: () => answered, close }
}

function jwt(key: ReturnType<typeof createPrivateKey>, certDer: string, claims: object): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const signingInput = `${encode({ alg: 'ES256', typ: 'JWT', x5c: [certDer] })}.${encode(claims)}`
  // JWS ES256 wants the raw r||s signature, not DER (RFC 7518 section 3.4).
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' })
  return `${signingInput}.${signature.toString('base64url')}`
}

async function freePort(ip: string): Promise<number> {
  const server = net.createServer()
  await new Promise<void>(resolve => server.listen(0, ip, resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}
