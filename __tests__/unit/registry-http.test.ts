import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  RegistryHttp,
  parseChallenge,
  retryAfterMs,
  type RegistryHttpOptions
} from '../../src/adapters/registry-http.js'
import {
  DOCKER_MANIFEST_V2 as DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_IMAGE_INDEX as OCI_INDEX,
  OCI_IMAGE_MANIFEST as OCI_MANIFEST
} from '../../src/domain/lambda-limits.js'
import { ActionError } from '../../src/domain/errors.js'
import {
  formatImageReference,
  parseRegistryImageReference
} from '../../src/domain/registry-reference.js'

/**
 * The registry client against a local HTTP server that plays a registry (manifests, 401
 * challenges) and its token service. The client always speaks https to a registry host; the fetch
 * given to it sends those requests to this server instead, as a proxy would.
 */

const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`
const AMD64 = `sha256:${'a'.repeat(64)}`
const ARM64 = `sha256:${'b'.repeat(64)}`
const ATTESTATION = `sha256:${'c'.repeat(64)}`

function index(mediaType: string, entries: { digest: string; platform: object }[]) {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: entries.map(entry => ({ mediaType: OCI_MANIFEST, size: 500, ...entry }))
  })
}

const LAMBDA_INDEX = index(OCI_INDEX, [
  { digest: AMD64, platform: { os: 'linux', architecture: 'amd64' } },
  { digest: ARM64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
  { digest: ATTESTATION, platform: { os: 'unknown', architecture: 'unknown' } }
])
const CONFIG_JSON = JSON.stringify({
  os: 'linux',
  architecture: 'arm64',
  config: { Labels: { 'org.opencontainers.image.base.name': 'public.ecr.aws/lambda/nodejs:22' } },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'a'.repeat(64)}`] }
})
const SINGLE = JSON.stringify({
  schemaVersion: 2,
  mediaType: DOCKER_MANIFEST,
  config: {
    mediaType: 'application/vnd.docker.container.image.v1+json',
    digest: digestOf(CONFIG_JSON),
    size: 10
  },
  layers: []
})

interface Stored {
  readonly body: string
  readonly type: string
  /** Send Docker-Content-Digest (registries should; some proxies drop it). */
  readonly digestHeader?: boolean
}

interface Seen {
  readonly method: string
  readonly url: string
  readonly authorization?: string
}

/** What the fake registry does: its manifests, blobs and which auth it demands. */
interface RegistryBehaviour {
  manifests: Map<string, Stored>
  blobs: Map<string, string>
  auth: 'none' | 'bearer' | 'basic'
  /** The token service's answer field, or 'refuse' to answer 401. */
  tokenField: 'token' | 'access_token' | 'refuse'
  seen: Seen[]
  /** Answers for the next requests, before anything else: a status and its Retry-After. */
  failures: { status: number; retryAfter?: string }[]
}

let server: http.Server
let base: string
let behaviour: RegistryBehaviour
const REGISTRY_HOST = 'registry.test'

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    const authorization = req.headers.authorization
    behaviour.seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      ...(authorization ? { authorization } : {})
    })
    const failure = behaviour.failures.shift()
    if (failure) {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter
      res.writeHead(failure.status, headers).end('{"errors":[{"code":"TOOMANYREQUESTS"}]}')
      return
    }
    if (url.pathname === '/token') {
      if (behaviour.tokenField === 'refuse') {
        res.writeHead(401).end('{"errors":[{"code":"DENIED"}]}')
        return
      }
      const token = `t:${url.searchParams.get('scope')}`
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ [behaviour.tokenField]: token }))
      return
    }
    const repository = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname)
    if (!repository) {
      res.writeHead(404).end()
      return
    }
    const [, name, kind, reference] = repository as unknown as [string, string, string, string]
    const allowed =
      behaviour.auth === 'none' ||
      (behaviour.auth === 'bearer' && authorization === `Bearer t:repository:${name}:pull`) ||
      (behaviour.auth === 'basic' &&
        authorization === `Basic ${Buffer.from('AWS:ecr-password').toString('base64')}`)
    if (!allowed) {
      const challenge =
        behaviour.auth === 'bearer'
          ? `Bearer realm="${base}/token",service="registry.test",scope="repository:${name}:pull"`
          : 'Basic realm="https://registry.test/",service="ecr.amazonaws.com"'
      res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' })
      res.end(req.method === 'HEAD' ? undefined : '{"errors":[{"code":"UNAUTHORIZED"}]}')
      return
    }
    if (kind === 'blobs') {
      const blob = behaviour.blobs.get(reference)
      if (blob === undefined) res.writeHead(404).end()
      else res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob)
      return
    }
    const stored = behaviour.manifests.get(`${name}:${reference}`)
    if (!stored) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end(req.method === 'HEAD' ? undefined : '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')
      return
    }
    const headers: Record<string, string | number> = {
      'content-type': stored.type,
      'content-length': Buffer.byteLength(stored.body)
    }
    if (stored.digestHeader !== false) headers['docker-content-digest'] = digestOf(stored.body)
    res.writeHead(200, headers)
    res.end(req.method === 'HEAD' ? undefined : stored.body)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>(resolve => server.close(() => resolve()))
})

beforeEach(() => {
  behaviour = {
    manifests: new Map([
      ['lambda/nodejs:22', { body: LAMBDA_INDEX, type: OCI_INDEX }],
      ['lambda/provided:al2023', { body: SINGLE, type: DOCKER_MANIFEST }]
    ]),
    blobs: new Map([[digestOf(CONFIG_JSON), CONFIG_JSON]]),
    auth: 'none',
    tokenField: 'token',
    seen: [],
    failures: []
  }
})

/** Sends https://ANY-HOST/... to the local server, recording which host was asked for. */
const hostsAsked: string[] = []
const viaLocalServer: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input.toString())
  if (url.protocol === 'https:') {
    hostsAsked.push(url.host)
    return fetch(`${base}${url.pathname}${url.search}`, init)
  }
  return fetch(url, init)
}

function client(options: Omit<RegistryHttpOptions, 'fetch'> = {}) {
  return new RegistryHttp({ fetch: viaLocalServer, ...options })
}

async function failure(promise: Promise<unknown>): Promise<ActionError> {
  try {
    await promise
  } catch (error) {
    if (error instanceof ActionError) return error
    throw error
  }
  throw new Error('expected an ActionError')
}

describe('resolvePlatformDigest', () => {
  it.each([
    ['linux/amd64', AMD64],
    ['linux/arm64', ARM64]
  ] as const)(
    'takes the %s entry of an OCI index in one request (GET)',
    async (platform, digest) => {
      const resolved = await client().resolvePlatformDigest(
        `${REGISTRY_HOST}/lambda/nodejs:22`,
        platform
      )
      expect(resolved).toEqual({
        image: 'registry.test/lambda/nodejs:22',
        platform,
        digest,
        indexDigest: digestOf(LAMBDA_INDEX),
        requests: 1,
        tokenRequests: 0
      })
      expect(behaviour.seen.map(seen => seen.method)).toEqual(['GET'])
    }
  )

  it('reads a Docker manifest list as well and accepts an arm64 entry without variant', async () => {
    const list = index(DOCKER_MANIFEST_LIST, [
      { digest: AMD64, platform: { os: 'linux', architecture: 'amd64' } },
      { digest: ARM64, platform: { os: 'linux', architecture: 'arm64' } }
    ])
    behaviour.manifests.set('lambda/nodejs:22', { body: list, type: DOCKER_MANIFEST_LIST })
    const resolved = await client().resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/arm64'
    )
    expect(resolved.digest).toBe(ARM64)
  })

  it('sends the Accept header for indexes and single manifests of both formats', async () => {
    const accepted: string[] = []
    const recording: typeof fetch = (input, init) => {
      accepted.push(new Headers(init?.headers).get('accept') ?? '')
      return viaLocalServer(input, init)
    }
    await new RegistryHttp({ fetch: recording }).resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/amd64'
    )
    for (const accept of accepted) {
      for (const type of [OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST]) {
        expect(accept).toContain(type)
      }
    }
  })

  it('answers a single manifest with its Docker-Content-Digest (one request)', async () => {
    const resolved = await client().resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/provided:al2023`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(digestOf(SINGLE))
    expect(resolved.indexDigest).toBeUndefined()
    expect(resolved.requests).toBe(1)
  })

  it('hashes a single manifest when the registry omits Docker-Content-Digest', async () => {
    behaviour.manifests.set('lambda/provided:al2023', {
      body: SINGLE,
      type: DOCKER_MANIFEST,
      digestHeader: false
    })
    const resolved = await client().resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/provided:al2023`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(digestOf(SINGLE))
    expect(behaviour.seen.map(seen => seen.method)).toEqual(['GET'])
  })

  it('does the anonymous token flow on a Bearer challenge, with the service and scope asked for', async () => {
    behaviour.auth = 'bearer'
    const resolved = await client().resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/arm64'
    )
    expect(resolved.digest).toBe(ARM64)
    expect(resolved).toMatchObject({ requests: 2, tokenRequests: 1 })
    const token = behaviour.seen.find(seen => seen.url.startsWith('/token'))
    const query = new URL(token!.url, 'http://x').searchParams
    expect(query.get('service')).toBe('registry.test')
    expect(query.get('scope')).toBe('repository:lambda/nodejs:pull')
    expect(token!.authorization).toBeUndefined()
    expect(behaviour.seen.at(-1)?.authorization).toBe('Bearer t:repository:lambda/nodejs:pull')
  })

  it('takes access_token when the token service answers with that field', async () => {
    behaviour.auth = 'bearer'
    behaviour.tokenField = 'access_token'
    const resolved = await client().resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(AMD64)
  })

  it('reuses the token for the run: a second resolve makes one request and no token request', async () => {
    behaviour.auth = 'bearer'
    const registry = client()
    await registry.resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/arm64')
    const again = await registry.resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/arm64'
    )
    expect(again).toMatchObject({ requests: 1, tokenRequests: 0 })
  })

  it('asks for a new token for another repository (another scope)', async () => {
    behaviour.auth = 'bearer'
    behaviour.manifests.set('lambda/python:3.13', { body: LAMBDA_INDEX, type: OCI_INDEX })
    const registry = client()
    await registry.resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/arm64')
    const other = await registry.resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/python:3.13`,
      'linux/arm64'
    )
    expect(other.tokenRequests).toBe(1)
  })

  it('answers a Basic challenge with the credentials the callback gives for that registry', async () => {
    behaviour.auth = 'basic'
    const asked: string[] = []
    const registry = client({
      credentials: host => {
        asked.push(host)
        return Promise.resolve({ username: 'AWS', password: 'ecr-password' })
      }
    })
    const resolved = await registry.resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/nodejs:22`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(AMD64)
    expect(asked).toEqual([REGISTRY_HOST])
    expect(resolved.requests).toBe(2)
  })

  it('sends the credentials with the first request to an ECR private registry: one request, no 401', async () => {
    behaviour.auth = 'basic'
    const ecrHost = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
    const asked: string[] = []
    const registry = client({
      credentials: host => {
        asked.push(host)
        return Promise.resolve({ username: 'AWS', password: 'ecr-password' })
      }
    })
    const resolved = await registry.resolvePlatformDigest(
      `${ecrHost}/lambda/nodejs:22`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(AMD64)
    expect(asked).toEqual([ecrHost])
    expect(resolved.requests).toBe(1)
    expect(behaviour.seen.map(request => request.authorization)).toEqual([
      `Basic ${Buffer.from('AWS:ecr-password').toString('base64')}`
    ])
  })

  it('sends nothing up front to a host that only looks like ECR', async () => {
    behaviour.auth = 'basic'
    const asked: string[] = []
    const registry = client({
      credentials: host => {
        asked.push(host)
        return Promise.resolve({ username: 'AWS', password: 'ecr-password' })
      }
    })
    const lookalike = '123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.test'
    await registry.resolvePlatformDigest(`${lookalike}/lambda/nodejs:22`, 'linux/amd64')
    expect(behaviour.seen[0]?.authorization).toBeUndefined()
    expect(behaviour.seen).toHaveLength(2)
  })

  it('still names the refusal when the up-front ECR credentials are wrong (no second try with the same)', async () => {
    behaviour.auth = 'basic'
    const registry = client({
      credentials: () => Promise.resolve({ username: 'AWS', password: 'expired' })
    })
    const error = await failure(
      registry.resolvePlatformDigest(
        '123456789012.dkr.ecr.eu-west-1.amazonaws.com/lambda/nodejs:22',
        'linux/amd64'
      )
    )
    expect(error.id).toBe('registry-auth-refused')
    expect(behaviour.seen).toHaveLength(1)
  })

  it('refuses with registry-auth-refused when a Basic challenge comes and there are no credentials', async () => {
    behaviour.auth = 'basic'
    const error = await failure(
      client().resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/amd64')
    )
    expect(error.id).toBe('registry-auth-refused')
  })

  it('refuses with registry-auth-refused when the credentials are wrong', async () => {
    behaviour.auth = 'basic'
    const registry = client({
      credentials: () => Promise.resolve({ username: 'AWS', password: 'expired' })
    })
    const error = await failure(
      registry.resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/amd64')
    )
    expect(error.id).toBe('registry-auth-refused')
    expect(error.fix).toMatch(/public|credentials/)
  })

  it('refuses with registry-auth-refused when the token service gives no token', async () => {
    behaviour.auth = 'bearer'
    behaviour.tokenField = 'refuse'
    const error = await failure(
      client().resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/amd64')
    )
    expect(error.id).toBe('registry-auth-refused')
    expect(error.reason).toContain('repository:lambda/nodejs:pull')
  })

  it('reports an unknown tag as base-image-not-found, naming the image', async () => {
    const error = await failure(
      client().resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:99`, 'linux/amd64')
    )
    expect(error.id).toBe('base-image-not-found')
    expect(error.reason).toContain('registry.test/lambda/nodejs:99')
  })

  it('reports a platform missing from the index, listing the platforms it has', async () => {
    behaviour.manifests.set('lambda/nodejs:22', {
      body: index(OCI_INDEX, [{ digest: AMD64, platform: { os: 'linux', architecture: 'amd64' } }]),
      type: OCI_INDEX
    })
    const error = await failure(
      client().resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/arm64')
    )
    expect(error.id).toBe('base-image-platform-missing')
    expect(error.reason).toContain('linux/amd64')
  })

  it('does not take an arm/v7 entry for linux/arm64', async () => {
    behaviour.manifests.set('lambda/nodejs:22', {
      body: index(OCI_INDEX, [
        { digest: ARM64, platform: { os: 'linux', architecture: 'arm64', variant: 'v7' } }
      ]),
      type: OCI_INDEX
    })
    const error = await failure(
      client().resolvePlatformDigest(`${REGISTRY_HOST}/lambda/nodejs:22`, 'linux/arm64')
    )
    expect(error.id).toBe('base-image-platform-missing')
  })

  it('reports a registry it cannot connect to as registry-unreachable with the cause', async () => {
    const closed = http.createServer()
    await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise<void>(resolve => closed.close(() => resolve()))
    const registry = new RegistryHttp({ retry: { attempts: 2, backoffMs: 0 } })
    const error = await failure(
      registry.resolvePlatformDigest(`127.0.0.1:${port}/lambda/nodejs:22`, 'linux/amd64')
    )
    expect(error.id).toBe('registry-unreachable')
    expect(error.reason).toContain('ECONNREFUSED')
  })

  it('goes to registry-1.docker.io under library/ for a Docker Hub official image', async () => {
    behaviour.manifests.set('library/node:22', { body: LAMBDA_INDEX, type: OCI_INDEX })
    hostsAsked.length = 0
    const resolved = await client().resolvePlatformDigest('node:22', 'linux/amd64')
    expect(resolved.image).toBe('docker.io/library/node:22')
    expect(hostsAsked).toEqual(['registry-1.docker.io'])
    expect(behaviour.seen[0]?.url).toBe('/v2/library/node/manifests/22')
  })
})

describe('readImageConfig', () => {
  it("returns a single-platform image's labels, OS and architecture", async () => {
    behaviour.auth = 'basic'
    const registry = client({
      credentials: () => Promise.resolve({ username: 'AWS', password: 'ecr-password' })
    })
    const config = await registry.readImageConfig(`${REGISTRY_HOST}/lambda/provided:al2023`)
    expect(config).toEqual({
      digest: digestOf(SINGLE),
      configDigest: digestOf(CONFIG_JSON),
      labels: { 'org.opencontainers.image.base.name': 'public.ecr.aws/lambda/nodejs:22' },
      os: 'linux',
      architecture: 'arm64',
      diffIds: [`sha256:${'a'.repeat(64)}`],
      requests: 3
    })
  })
})

describe('parseRegistryImageReference', () => {
  it.each([
    ['alpine', 'registry-1.docker.io', 'library/alpine', 'latest'],
    ['docker.io/library/node:22', 'registry-1.docker.io', 'library/node', '22'],
    ['index.docker.io/node:22', 'registry-1.docker.io', 'library/node', '22'],
    ['amazon/aws-lambda-nodejs:22', 'registry-1.docker.io', 'amazon/aws-lambda-nodejs', '22'],
    ['public.ecr.aws/lambda/nodejs:22', 'public.ecr.aws', 'lambda/nodejs', '22'],
    ['localhost:5000/base', 'localhost:5000', 'base', 'latest'],
    ['localhost/base:1', 'localhost', 'base', '1'],
    [
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/base:v1',
      '123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      'team/base',
      'v1'
    ]
  ])('%s is %s / %s : %s', (given, registry, repository, tag) => {
    expect(parseRegistryImageReference(given)).toEqual({ registry, repository, tag })
  })

  it('keeps a digest and adds no tag when the reference is pinned by digest only', () => {
    const digest = `sha256:${'e'.repeat(64)}`
    expect(parseRegistryImageReference(`public.ecr.aws/lambda/nodejs@${digest}`)).toEqual({
      registry: 'public.ecr.aws',
      repository: 'lambda/nodejs',
      digest
    })
  })

  it('formats Docker Hub images under docker.io', () => {
    expect(formatImageReference(parseRegistryImageReference('node:22'))).toBe(
      'docker.io/library/node:22'
    )
  })

  it.each(['public.ecr.aws/Lambda/nodejs:22', 'node:-bad', 'node@sha256:short', ''])(
    'refuses %j as invalid-base-image-reference',
    given => {
      expect(() => parseRegistryImageReference(given)).toThrow(
        expect.objectContaining({ id: 'invalid-base-image-reference' })
      )
    }
  )
})

describe('parseChallenge', () => {
  it('reads the scheme and quoted parameters of a Bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://public.ecr.aws/token/",service="public.ecr.aws",scope="aws"'
      )
    ).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://public.ecr.aws/token/', service: 'public.ecr.aws', scope: 'aws' }
    })
  })

  it('reads a scope with commas inside quotes as one value', () => {
    expect(parseChallenge('Bearer realm="r",scope="repository:a:pull,push"')?.params.scope).toBe(
      'repository:a:pull,push'
    )
  })

  it('returns undefined for no header', () => {
    expect(parseChallenge(null)).toBeUndefined()
  })
})

describe('retries', () => {
  const fast = { attempts: 4, backoffMs: 10 }

  it.each([429, 500, 502, 503, 504])('sends a request again after HTTP %i', async status => {
    behaviour.failures = [{ status }, { status }]
    const resolved = await client({ retry: fast }).resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/provided:al2023`,
      'linux/amd64'
    )
    expect(resolved.digest).toBe(digestOf(SINGLE))
    expect(resolved.requests).toBe(3)
  })

  it('waits as long as Retry-After says', async () => {
    behaviour.failures = [{ status: 429, retryAfter: '1' }]
    const started = performance.now()
    await client({ retry: fast }).resolvePlatformDigest(
      `${REGISTRY_HOST}/lambda/provided:al2023`,
      'linux/amd64'
    )
    expect(performance.now() - started).toBeGreaterThanOrEqual(950)
  })

  it('gives up after the bounded attempts with registry-unavailable', async () => {
    behaviour.failures = Array.from({ length: 4 }, () => ({ status: 503 }))
    const error = await failure(
      client({ retry: fast }).resolvePlatformDigest(
        `${REGISTRY_HOST}/lambda/provided:al2023`,
        'linux/amd64'
      )
    )
    expect(error.id).toBe('registry-unavailable')
    expect(error.reason).toContain('HTTP 503')
    expect(behaviour.seen).toHaveLength(4)
  })

  it('does not repeat a request the registry refused for good (404)', async () => {
    const error = await failure(
      client({ retry: fast }).resolvePlatformDigest(`${REGISTRY_HOST}/lambda/none:1`, 'linux/amd64')
    )
    expect(error.id).toBe('base-image-not-found')
    expect(behaviour.seen).toHaveLength(1)
  })

  it.each([
    ['7', 7000],
    ['0', 0],
    ['3600', 30_000],
    ['Wed, 21 Oct 2015 07:28:05 GMT', 5000],
    ['soon', undefined],
    [null, undefined]
  ] as const)('reads Retry-After %p as %p ms', (header, ms) => {
    expect(retryAfterMs(header, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(ms)
  })
})
