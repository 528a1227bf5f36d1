import { createHash } from 'node:crypto'
import {
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST_V2,
  OCI_IMAGE_INDEX,
  OCI_IMAGE_MANIFEST,
  type LambdaPlatform
} from '../domain/lambda-limits.js'
import { parseEcrRegistryHost } from '../domain/aws-names.js'
import { ActionError, isActionError } from '../domain/errors.js'
import { accessDeniedHint, ecrRegistryAction, registryErrorMessage } from './aws-errors.js'
import {
  formatImageReference,
  manifestReference,
  parseRegistryImageReference,
  type RegistryImageReference
} from '../domain/registry-reference.js'

/**
 * A registry HTTP API v2 client (OCI distribution spec) on Node's fetch, for what the action
 * reads without the Docker engine: the digest a base image's tag points at for one platform, and
 * an image's config (labels). Node's fetch trusts extra CAs only through NODE_EXTRA_CA_CERTS,
 * read when the process starts.
 */

const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_IMAGE_INDEX, DOCKER_MANIFEST_LIST])
const MANIFEST_TYPES: ReadonlySet<string> = new Set([OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_V2])
const ACCEPT_ANY = [
  OCI_IMAGE_INDEX,
  DOCKER_MANIFEST_LIST,
  OCI_IMAGE_MANIFEST,
  DOCKER_MANIFEST_V2
].join(', ')
const ACCEPT_SINGLE = [OCI_IMAGE_MANIFEST, DOCKER_MANIFEST_V2].join(', ')
const DIGEST = /^sha256:[a-f0-9]{64}$/
const REQUEST_TIMEOUT_MS = 30_000

/**
 * How a request that the registry could not answer now (429, 5xx, no answer in time, a reset
 * connection) is tried again: the distribution spec's "Too many requests" answer may carry
 * Retry-After, which is honoured up to MAX_RETRY_AFTER_MS; otherwise the pause doubles.
 */
export interface RegistryRetry {
  readonly attempts: number
  /** Pause before the second attempt, doubled before each further one. */
  readonly backoffMs: number
}

export const REGISTRY_RETRY: RegistryRetry = { attempts: 4, backoffMs: 1_000 }
const MAX_RETRY_AFTER_MS = 30_000
const RETRIED_STATUS = new Set([429, 500, 502, 503, 504])

export interface RegistryCredentials {
  readonly username: string
  readonly password: string
}

/**
 * Credentials for a registry that asks for Basic auth, e.g. for ECR private registries the user
 * `AWS` and the password from ECR GetAuthorizationToken; undefined when there are none.
 */
export type RegistryCredentialsProvider = (
  registry: string
) => Promise<RegistryCredentials | undefined>

export interface RegistryHttpOptions {
  readonly credentials?: RegistryCredentialsProvider
  /** The fetch to use; Node's global one by default (a proxy-aware one can be passed). */
  readonly fetch?: typeof fetch
  readonly retry?: RegistryRetry
}

export interface PlatformDigest {
  /** The reference as resolved, e.g. `public.ecr.aws/lambda/nodejs:22`. */
  readonly image: string
  readonly platform: LambdaPlatform
  /** The single-platform manifest digest for `platform`. */
  readonly digest: string
  /** The digest of the index the tag points at, when it points at one. */
  readonly indexDigest?: string
  /** HTTP requests sent to the registry itself, authentication challenges included. */
  readonly requests: number
  /** Requests sent to token services (the realm of a Bearer challenge). */
  readonly tokenRequests: number
}

export interface ImageConfigFacts {
  readonly digest: string
  readonly configDigest: string
  readonly labels: Readonly<Record<string, string>>
  readonly os?: string
  readonly architecture?: string
  /** The uncompressed layer digests, base first (rootfs.diff_ids). */
  readonly diffIds: readonly string[]
  readonly requests: number
}

interface Challenge {
  readonly scheme: string
  readonly params: Readonly<Record<string, string>>
}

interface ManifestDescriptor {
  readonly mediaType?: string
  readonly digest?: string
  readonly platform?: {
    readonly os?: string
    readonly architecture?: string
    readonly variant?: string
  }
}

export class RegistryHttp {
  private readonly fetch: typeof fetch
  private readonly credentials: RegistryCredentialsProvider
  private readonly retry: RegistryRetry
  /** Bearer tokens for the run, per realm, service and scope. */
  private readonly tokens = new Map<string, string>()
  /** The Authorization header that worked last for a registry/repository. */
  private readonly authorizations = new Map<string, string>()
  private requestCount = 0
  private tokenRequestCount = 0

  constructor(options: RegistryHttpOptions = {}) {
    this.fetch = options.fetch ?? globalThis.fetch
    this.credentials = options.credentials ?? (() => Promise.resolve(undefined))
    this.retry = options.retry ?? REGISTRY_RETRY
  }

  /**
   * The digest of the single-platform manifest that `reference` now names for `platform`: GET the
   * manifest; for an index, take the platform's entry (no further request); for a single
   * manifest, its Docker-Content-Digest (the body's sha256 when the registry omits it).
   */
  async resolvePlatformDigest(
    reference: string,
    platform: LambdaPlatform
  ): Promise<PlatformDigest> {
    const image = parseRegistryImageReference(reference)
    const startRequests = this.requestCount
    const startTokens = this.tokenRequestCount
    const counts = () => ({
      requests: this.requestCount - startRequests,
      tokenRequests: this.tokenRequestCount - startTokens
    })
    const name = formatImageReference(image)
    const path = `/v2/${image.repository}/manifests/${manifestReference(image)}`

    // One GET, not HEAD then GET: AWS base images are indexes, whose body is needed anyway to
    // pick the platform, and every request is a round trip on a runner far from the registry.
    const response = await this.send(image, 'GET', path, ACCEPT_ANY)
    const body = Buffer.from(await response.arrayBuffer())
    const manifest = parseJson(body, name)
    const mediaType = manifest.mediaType ?? mediaTypeOf(response)
    const bodyDigest = sha256(body)
    if (mediaType !== undefined && INDEX_TYPES.has(mediaType)) {
      const entry = platformEntry(manifest.manifests ?? [], platform)
      if (!entry?.digest || !DIGEST.test(entry.digest)) {
        const offered = (manifest.manifests ?? [])
          .map(describePlatform)
          .filter(text => text !== 'unknown/unknown')
        throw new ActionError(
          'base-image-platform-missing',
          `The base image ${name} has no ${platform} image (its index offers ${offered.join(', ') || 'no platforms'}).`,
          `Use a base image published for ${platform}, or set architecture to one the image offers.`
        )
      }
      return {
        image: name,
        platform,
        digest: entry.digest,
        indexDigest: validDigest(response.headers.get('docker-content-digest')) ?? bodyDigest,
        ...counts()
      }
    }
    if (mediaType !== undefined && MANIFEST_TYPES.has(mediaType)) {
      const digest = validDigest(response.headers.get('docker-content-digest')) ?? bodyDigest
      return { image: name, platform, digest, ...counts() }
    }
    throw new ActionError(
      'base-image-unsupported-manifest',
      `The registry answered for ${name} with a manifest of type ${mediaType ?? '(none)'}, neither an OCI/Docker index nor an OCI/Docker v2 image manifest.`,
      'Use a base image pushed with a current Docker or OCI tool (schema 1 manifests are not supported).'
    )
  }

  /**
   * The config of the single-platform image `reference` (pinned by digest), e.g. a deployed
   * image in ECR: its labels, OS and architecture. Two requests plus any auth challenge.
   */
  async readImageConfig(reference: string): Promise<ImageConfigFacts> {
    const image = parseRegistryImageReference(reference)
    const name = formatImageReference(image)
    const start = this.requestCount
    const manifestPath = `/v2/${image.repository}/manifests/${manifestReference(image)}`
    const response = await this.send(image, 'GET', manifestPath, ACCEPT_SINGLE)
    const body = Buffer.from(await response.arrayBuffer())
    const manifest = parseJson(body, name)
    const configDigest = manifest.config?.digest
    if (typeof configDigest !== 'string' || !DIGEST.test(configDigest)) {
      throw new ActionError(
        'image-config-unreadable',
        `The manifest of ${name} names no image config (media type ${manifest.mediaType ?? mediaTypeOf(response) ?? 'unknown'}).`,
        'Point at a single-platform image manifest (Lambda deploys only those).'
      )
    }
    const config = await this.readConfigBlob(image, configDigest)
    return {
      ...config,
      digest: validDigest(response.headers.get('docker-content-digest')) ?? sha256(body),
      requests: this.requestCount - start
    }
  }

  /**
   * The config blob of an image whose manifest is already in hand (e.g. from ECR's
   * BatchGetImage): one request instead of two.
   */
  async readImageConfigBlob(
    reference: string,
    configDigest: string
  ): Promise<Omit<ImageConfigFacts, 'digest'>> {
    const start = this.requestCount
    const config = await this.readConfigBlob(parseRegistryImageReference(reference), configDigest)
    return { ...config, requests: this.requestCount - start }
  }

  private async readConfigBlob(
    image: RegistryImageReference,
    configDigest: string
  ): Promise<Omit<ImageConfigFacts, 'digest' | 'requests'>> {
    const blob = await this.send(
      image,
      'GET',
      `/v2/${image.repository}/blobs/${configDigest}`,
      '*/*'
    )
    const config = parseJson(
      Buffer.from(await blob.arrayBuffer()),
      formatImageReference(image)
    ) as ImageConfigJson
    const labels: Record<string, string> = {}
    for (const [key, value] of Object.entries(config.config?.Labels ?? {})) {
      if (typeof value === 'string') labels[key] = value
    }
    return {
      configDigest,
      labels,
      ...(config.os === undefined ? {} : { os: config.os }),
      ...(config.architecture === undefined ? {} : { architecture: config.architecture }),
      diffIds: (config.rootfs?.diff_ids ?? []).filter((id): id is string => typeof id === 'string')
    }
  }

  /** One request, answering an auth challenge once; anything but a 2xx becomes an ActionError. */
  private async send(
    image: RegistryImageReference,
    method: 'HEAD' | 'GET',
    path: string,
    accept: string
  ): Promise<Response> {
    const key = `${image.registry}/${image.repository}`
    const url = `https://${image.registry}${path}`
    let authorization = this.authorizations.get(key) ?? (await this.ecrBasicUpFront(image))
    let response = await this.registryRequest(url, method, accept, authorization)
    if (response.status === 401) {
      await response.body?.cancel()
      const challenge = parseChallenge(response.headers.get('www-authenticate'))
      const retried = await this.authorize(image, challenge, authorization)
      if (retried !== undefined) {
        authorization = retried
        response = await this.registryRequest(url, method, accept, authorization)
      }
    }
    if (response.ok) {
      if (authorization !== undefined) this.authorizations.set(key, authorization)
      return response
    }
    const name = formatImageReference(image)
    if (response.status === 401 || response.status === 403) {
      // ECR says in the error body which IAM action was refused and by which policy.
      const said = registryErrorMessage(await response.text().catch(() => ''))
      throw new ActionError(
        'registry-auth-refused',
        `${image.registry} refused access to ${image.repository} (HTTP ${response.status} on ${method} ${path})${said ? `: ${said}` : '.'}`,
        image.registry.includes('.dkr.ecr.')
          ? accessDeniedHint(
              said,
              ecrRegistryAction(method, path),
              `repository ${image.repository}`
            ).fix
          : 'Check that the image is public, or that the registry accepts the credentials given.'
      )
    }
    await response.body?.cancel()
    if (response.status === 404) {
      throw new ActionError(
        'base-image-not-found',
        `${name} does not exist: ${image.registry} answered 404 for ${path}.`,
        'Check the repository name and tag (a tag that was removed or never published gives this).'
      )
    }
    if (RETRIED_STATUS.has(response.status)) {
      throw new ActionError(
        'registry-unavailable',
        `${image.registry} answered HTTP ${response.status} to ${method} ${path}, still after ${this.retry.attempts} attempts.`,
        'The registry is overloaded or down: run again later; if it persists, check the registry status page.'
      )
    }
    throw new ActionError(
      'registry-unexpected-response',
      `${image.registry} answered HTTP ${response.status} to ${method} ${path}.`,
      'Retry later; if it persists, check the registry status page.'
    )
  }

  /**
   * An ECR private registry always answers Basic (with GetAuthorizationToken's credentials), so
   * they go with the first request, as the Docker client sends them: one round trip instead of a
   * 401 and a second try. Other registries are asked first and answered as they challenge.
   */
  private async ecrBasicUpFront(image: RegistryImageReference): Promise<string | undefined> {
    if (parseEcrRegistryHost(image.registry) === undefined) return undefined
    const credentials = await this.credentials(image.registry)
    return credentials && basicAuthorization(credentials)
  }

  /** The Authorization header to retry with, or undefined when the challenge can't be met. */
  private async authorize(
    image: RegistryImageReference,
    challenge: Challenge | undefined,
    sent: string | undefined
  ): Promise<string | undefined> {
    if (challenge?.scheme === 'bearer') {
      const realm = challenge.params.realm
      if (!realm) return undefined
      const service = challenge.params.service
      // Like the Docker client: ask for pull on the repository, whatever scope the challenge
      // names (public.ecr.aws names scope="aws"; Docker Hub names the repository's pull scope).
      const scope = `repository:${image.repository}:pull`
      const cacheKey = `${realm}\n${service ?? ''}\n${scope}`
      const cached = this.tokens.get(cacheKey)
      if (cached !== undefined && `Bearer ${cached}` !== sent) return `Bearer ${cached}`
      const token = await this.fetchToken(image, realm, service, scope)
      this.tokens.set(cacheKey, token)
      return `Bearer ${token}`
    }
    if (challenge?.scheme === 'basic') {
      const credentials = await this.credentials(image.registry)
      if (!credentials) return undefined
      const header = basicAuthorization(credentials)
      return header === sent ? undefined : header
    }
    return undefined
  }

  // https://distribution.github.io/distribution/spec/auth/token/ (anonymous: no credentials)
  private async fetchToken(
    image: RegistryImageReference,
    realm: string,
    service: string | undefined,
    scope: string
  ): Promise<string> {
    let url: URL
    try {
      url = new URL(realm)
    } catch {
      throw new ActionError(
        'registry-auth-refused',
        `${image.registry} asked for a token from "${realm}", which is not a URL.`,
        'The registry is misconfigured; use another mirror of the base image.'
      )
    }
    if (service !== undefined) url.searchParams.set('service', service)
    url.searchParams.set('scope', scope)
    const response = await this.fetchOrExplain(
      url.toString(),
      { method: 'GET' },
      image.registry,
      () => {
        this.tokenRequestCount += 1
      }
    )
    let body: { token?: unknown; access_token?: unknown } = {}
    if (response.ok) {
      try {
        body = (await response.json()) as typeof body
      } catch {
        body = {}
      }
    }
    const token = typeof body.token === 'string' ? body.token : body.access_token
    if (!response.ok || typeof token !== 'string' || token === '') {
      throw new ActionError(
        'registry-auth-refused',
        `The token service ${url.origin}${url.pathname} gave no anonymous token for ${scope} (HTTP ${response.status}).`,
        'Check that the base image is public; private base images need registry credentials.'
      )
    }
    return token
  }

  private async registryRequest(
    url: string,
    method: string,
    accept: string,
    authorization: string | undefined
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept }
    if (authorization !== undefined) headers.Authorization = authorization
    return this.fetchOrExplain(url, { method, headers }, new URL(url).host, () => {
      this.requestCount += 1
    })
  }

  /** One request, sent again on 429, 5xx or a network failure, within the retry bounds. */
  private async fetchOrExplain(
    url: string,
    init: RequestInit,
    registry: string,
    /** Counts each request sent, retries included. */
    counted: () => void
  ): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      counted()
      const last = attempt >= this.retry.attempts
      let response: Response
      try {
        response = await this.fetchOnce(url, init, registry)
      } catch (error) {
        if (last || !isActionError(error) || error.id !== 'registry-unreachable') throw error
        await pause(this.retry.backoffMs * 2 ** (attempt - 1))
        continue
      }
      if (last || !RETRIED_STATUS.has(response.status)) return response
      const wait = retryAfterMs(response.headers.get('retry-after'))
      await response.body?.cancel()
      await pause(wait ?? this.retry.backoffMs * 2 ** (attempt - 1))
    }
  }

  private async fetchOnce(url: string, init: RequestInit, registry: string): Promise<Response> {
    try {
      return await this.fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
    } catch (error) {
      const cause = describeNetworkError(error)
      throw new ActionError(
        'registry-unreachable',
        `Could not reach ${registry} (${init.method ?? 'GET'} ${url}): ${cause}.`,
        /certificate|self.signed|CERT_/i.test(cause)
          ? 'The registry presents a certificate Node does not trust: point NODE_EXTRA_CA_CERTS at its CA.'
          : 'Check the runner’s network access to the registry (proxy, DNS, firewall) and retry.'
      )
    }
  }
}

interface ManifestJson {
  readonly mediaType?: string
  readonly manifests?: readonly ManifestDescriptor[]
  readonly config?: { readonly digest?: unknown }
}

interface ImageConfigJson {
  readonly os?: string
  readonly architecture?: string
  readonly rootfs?: { readonly diff_ids?: readonly unknown[] }
  readonly config?: { readonly Labels?: Readonly<Record<string, unknown>> | null }
}

/** The index entry for `platform`; arm64 entries may carry variant v8 (or none). */
export function platformEntry(
  manifests: readonly ManifestDescriptor[],
  platform: LambdaPlatform
): ManifestDescriptor | undefined {
  const architecture = platform === 'linux/arm64' ? 'arm64' : 'amd64'
  const acceptedVariants = platform === 'linux/arm64' ? [undefined, 'v8'] : [undefined]
  return manifests.find(
    entry =>
      entry.platform?.os === 'linux' &&
      entry.platform.architecture === architecture &&
      acceptedVariants.includes(entry.platform.variant)
  )
}

function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
}

/** `Bearer realm="...",service="...",scope="..."` → scheme and parameters. */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header)
  if (!match) return undefined
  const params: Record<string, string> = {}
  const pattern = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g
  for (const [, key, quoted, bare] of match[2]!.matchAll(pattern)) {
    params[key!.toLowerCase()] =
      quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : (bare ?? '')
  }
  return { scheme: match[1]!.toLowerCase(), params }
}

/** Retry-After in ms (delta-seconds or an HTTP date), capped; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - now
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(Math.max(seconds, 0), MAX_RETRY_AFTER_MS)
}

function pause(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

function describePlatform(entry: ManifestDescriptor): string {
  const p = entry.platform
  return `${p?.os ?? 'unknown'}/${p?.architecture ?? 'unknown'}${p?.variant ? `/${p.variant}` : ''}`
}

function mediaTypeOf(response: Response): string | undefined {
  return response.headers.get('content-type')?.split(';')[0]?.trim() || undefined
}

function validDigest(value: string | null): string | undefined {
  return value !== null && DIGEST.test(value) ? value : undefined
}

function sha256(body: Buffer): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`
}

function parseJson(body: Buffer, name: string): ManifestJson {
  try {
    return JSON.parse(body.toString('utf8')) as ManifestJson
  } catch {
    throw new ActionError(
      'registry-unexpected-response',
      `The registry sent something other than JSON for ${name}.`,
      'Check that the registry address is a container registry, not a proxy or login page.'
    )
  }
}

// Duck-typed: errors from fetch may come from another realm (instanceof Error fails there).
interface ErrorLike {
  readonly name?: unknown
  readonly message?: unknown
  readonly code?: unknown
  readonly cause?: unknown
}

function describeNetworkError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error)
  const { name, message, cause } = error as ErrorLike
  if (typeof cause === 'object' && cause !== null) {
    const inner = cause as ErrorLike
    const text = typeof inner.message === 'string' ? inner.message : 'unknown cause'
    return typeof inner.code === 'string' && !text.includes(inner.code)
      ? `${inner.code}: ${text}`
      : text
  }
  if (name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`
  return typeof message === 'string' ? message : 'unknown error'
}
